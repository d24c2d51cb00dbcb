import { describe, expect, test } from "bun:test";
import { parse } from "sdp-transform";
import { useOpusLibrary } from "./opus.ts";
import { buildOffer, negotiateAnswer, OPUS_FMTP, parseAnswer } from "./sdp.ts";

const crlf = (lines: string[]) => `${lines.join("\r\n")}\r\n`;

const BARESIP = crlf([
  "v=0",
  "o=- 1184 4116 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 10000 RTP/AVP 9 0 8 96 101",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:96 opus/48000/2",
  "a=fmtp:96 stereo=1;sprop-stereo=1",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=sendrecv",
  "a=label:1",
  "a=ssrc:1111 cname:x",
  "a=rtcp-rsize",
]);

const NET_SIP = crlf([
  "v=0",
  "o=anonymous 1700000000 1700000000 IN IP4 127.0.0.1",
  "s=session",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 2012 RTP/AVP 0 101",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-16",
  "a=ptime:20",
]);

const local = { address: "127.0.0.1", port: 20000, sessionId: 42, sessionVersion: 1 };

function withDirection(dir: string | null, base = NET_SIP): string {
  return dir ? base.replace("a=ptime:20\r\n", `a=ptime:20\r\na=${dir}\r\n`) : base;
}

/** A linphone 5 offer: Opus first, telephone-event at 48000 and 8000. */
const LINPHONE = crlf([
  "v=0",
  "o=user 3296 2349 IN IP4 127.0.0.1",
  "s=Talk",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100",
  "a=rtpmap:96 opus/48000/2",
  "a=fmtp:96 useinbandfec=1",
  "a=rtpmap:97 speex/16000",
  "a=fmtp:97 vbr=on",
  "a=rtpmap:98 speex/8000",
  "a=fmtp:98 vbr=on",
  "a=fmtp:18 annexb=yes",
  "a=rtpmap:101 telephone-event/48000",
  "a=rtpmap:99 telephone-event/16000",
  "a=rtpmap:100 telephone-event/8000",
  "a=rtcp-fb:* trr-int 1000",
  "a=rtcp-fb:* ccm tmmbr",
]);

const WITHOUT_OPUS = BARESIP.replace("RTP/AVP 9 0 8 96 101", "RTP/AVP 9 0 8 101")
  .replace("a=rtpmap:96 opus/48000/2\r\n", "")
  .replace("a=fmtp:96 stereo=1;sprop-stereo=1\r\n", "");

describe("negotiateAnswer", () => {
  test("baresip offer: Opus whenever offered, with the offer's payload type, our fmtp, telephone-event 101", () => {
    const r = negotiateAnswer(BARESIP, local);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { answer, ...rest } = r.value;
    expect(rest).toEqual({
      codec: "OPUS",
      payloadType: 96,
      clockRate: 48000,
      telephoneEventPt: 101,
      remoteAddress: "127.0.0.1",
      remotePort: 10000,
      direction: "sendrecv",
    });
    const m = parse(answer).media[0];
    expect(m?.payloads).toBe("96 101");
    expect(m?.rtp).toEqual([
      { payload: 96, codec: "opus", rate: 48000, encoding: 2 },
      { payload: 101, codec: "telephone-event", rate: 8000 },
    ]);
    expect(m?.fmtp).toEqual([
      { payload: 96, config: OPUS_FMTP },
      { payload: 101, config: "0-15" },
    ]);
    expect(OPUS_FMTP).toContain("maxplaybackrate=16000");
    expect(OPUS_FMTP).toContain("stereo=0");
  });

  test("a re-INVITE keeps the codec in use even when Opus is offered", () => {
    const r = negotiateAnswer(BARESIP, local, "G722");
    expect(r.ok && [r.value.codec, r.value.payloadType]).toEqual(["G722", 9]);
  });

  test("without libopus Opus is neither accepted nor offered: the offerer's order decides as before", () => {
    try {
      expect(useOpusLibrary(["/nonexistent/libopus.so.0"])).toBe(false);
      const r = negotiateAnswer(BARESIP, local);
      expect(r.ok && r.value.codec).toBe("G722");
      expect(parse(buildOffer({ address: "127.0.0.1", port: 2 })).media[0]?.payloads).toBe("0 8 9 101");
      const only = LINPHONE.replace("RTP/AVP 96 97 98 0 8 18 101 99 100", "RTP/AVP 96 101");
      expect(negotiateAnswer(only, local)).toEqual({ ok: false, error: "no common codec" });
    } finally {
      expect(useOpusLibrary()).toBe(true);
    }
  });

  test("linphone offer: Opus, and telephone-event at Opus's clock (48000) as RFC 4733 wants", () => {
    const r = negotiateAnswer(LINPHONE, local);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([r.value.codec, r.value.payloadType, r.value.clockRate, r.value.telephoneEventPt]).toEqual(["OPUS", 96, 48000, 101]);
    const m = parse(r.value.answer).media[0];
    expect(m?.rtp).toEqual([
      { payload: 96, codec: "opus", rate: 48000, encoding: 2 },
      { payload: 101, codec: "telephone-event", rate: 48000 },
    ]);
  });

  test("an Opus offer with telephone-event only at 8000 keeps it; opus/48000 without /2 is tolerated", () => {
    const s = NET_SIP.replace("m=audio 2012 RTP/AVP 0 101", "m=audio 2012 RTP/AVP 111 101").concat("a=rtpmap:111 opus/48000\r\n");
    const r = negotiateAnswer(s, local);
    expect(r.ok && [r.value.codec, r.value.payloadType, r.value.telephoneEventPt]).toEqual(["OPUS", 111, 101]);
  });

  test("a phone that offers no Opus is answered as before (offerer's order)", () => {
    const r = negotiateAnswer(WITHOUT_OPUS, local);
    expect(r.ok && [r.value.codec, r.value.payloadType]).toEqual(["G722", 9]);
  });

  test("the codec list we accept can leave Opus out", () => {
    const r = negotiateAnswer(BARESIP, { ...local, codecs: ["PCMU", "PCMA", "G722"] });
    expect(r.ok && r.value.codec).toBe("G722");
  });

  test("baresip offer without Opus: first mutually supported codec in the offerer's order (G.722), telephone-event 101", () => {
    const r = negotiateAnswer(WITHOUT_OPUS, local);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { answer, ...rest } = r.value;
    expect(rest).toEqual({
      codec: "G722",
      payloadType: 9,
      clockRate: 8000,
      telephoneEventPt: 101,
      remoteAddress: "127.0.0.1",
      remotePort: 10000,
      direction: "sendrecv",
    });
    const a = parse(answer);
    expect(a.origin.sessionId).toBe(42);
    expect(a.connection?.ip).toBe("127.0.0.1");
    expect(a.media).toHaveLength(1);
    const m = a.media[0];
    expect(m?.port).toBe(20000);
    expect(m?.payloads).toBe("9 101");
    expect(m?.rtp).toEqual([
      { payload: 9, codec: "G722", rate: 8000 },
      { payload: 101, codec: "telephone-event", rate: 8000 },
    ]);
    expect(m?.fmtp).toEqual([{ payload: 101, config: "0-15" }]);
    expect(m?.direction).toBe("sendrecv");
    expect(m?.ptime).toBe(20);
  });

  test("codecs we do not accept are skipped (G.711 only)", () => {
    const r = negotiateAnswer(BARESIP, { ...local, codecs: ["PCMU", "PCMA"] });
    expect(r.ok && r.value.codec).toBe("PCMU");
  });

  test("a static payload type without rtpmap is understood (Net::SIP)", () => {
    const r = negotiateAnswer(NET_SIP, local);
    expect(r.ok && [r.value.codec, r.value.payloadType, r.value.telephoneEventPt]).toEqual(["PCMU", 0, 101]);
  });

  test("re-INVITE keeps the codec in use when it is still offered", () => {
    const r = negotiateAnswer(BARESIP, local, "PCMA");
    expect(r.ok && r.value.codec).toBe("PCMA");
    const r2 = negotiateAnswer(NET_SIP, local, "PCMA");
    expect(r2.ok && r2.value.codec).toBe("PCMU");
  });

  test.each([
    ["sendrecv", "sendrecv"],
    ["sendonly", "recvonly"],
    ["recvonly", "sendonly"],
    ["inactive", "inactive"],
    [null, "sendrecv"],
  ])("offer %s -> answer %s", (offer, answer) => {
    const r = negotiateAnswer(withDirection(offer), local);
    expect(r.ok && r.value.direction).toBe(answer as never);
    if (r.ok) expect(parse(r.value.answer).media[0]?.direction).toBe(answer as never);
  });

  test("session-level direction applies; media level wins over it", () => {
    const s = NET_SIP.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
    const r = negotiateAnswer(s, local);
    expect(r.ok && r.value.direction).toBe("recvonly");
    const r2 = negotiateAnswer(withDirection("sendrecv", s), local);
    expect(r2.ok && r2.value.direction).toBe("sendrecv");
  });

  test("old-style hold (c=0.0.0.0) means we do not send", () => {
    const r = negotiateAnswer(NET_SIP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"), local);
    expect(r.ok && [r.value.remoteAddress, r.value.direction]).toEqual(["0.0.0.0", "recvonly"]);
  });

  test("media-level connection address wins; no telephone-event gives null", () => {
    const s = crlf([
      "v=0",
      "o=- 1 1 IN IP4 192.0.2.1",
      "s=-",
      "c=IN IP4 192.0.2.1",
      "t=0 0",
      "m=audio 4000 RTP/AVP 8",
      "c=IN IP4 198.51.100.7",
    ]);
    const r = negotiateAnswer(s, local);
    expect(r.ok && [r.value.codec, r.value.remoteAddress, r.value.remotePort, r.value.telephoneEventPt]).toEqual([
      "PCMA",
      "198.51.100.7",
      4000,
      null,
    ]);
  });

  test("other m-lines are refused in place with port 0", () => {
    const s = crlf([
      "v=0",
      "o=- 1 1 IN IP4 10.0.0.1",
      "s=-",
      "c=IN IP4 10.0.0.1",
      "t=0 0",
      "m=video 5000 RTP/AVP 96",
      "a=rtpmap:96 H264/90000",
      "m=audio 0 RTP/AVP 0",
      "m=audio 6000 RTP/AVP 0 101",
      "a=rtpmap:101 telephone-event/8000",
    ]);
    const r = negotiateAnswer(s, local);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const m = parse(r.value.answer).media;
    expect(m.map((x) => [x.type, x.port])).toEqual([
      ["video", 0],
      ["audio", 0],
      ["audio", 20000],
    ]);
    expect(r.value.remotePort).toBe(6000);
  });

  test("IPv6 local address", () => {
    const r = negotiateAnswer(NET_SIP, { address: "::1", port: 20000 });
    expect(r.ok && parse(r.value.answer).connection).toEqual({ version: 6, ip: "::1" });
  });

  const failures: [string, string, string][] = [
    [
      "Opus at a wrong clock",
      NET_SIP.replace("m=audio 2012 RTP/AVP 0 101", "m=audio 2012 RTP/AVP 111 101").concat("a=rtpmap:111 opus/8000/2\r\n"),
      "no common codec",
    ],
    [
      "Opus without an rtpmap (dynamic type)",
      NET_SIP.replace("m=audio 2012 RTP/AVP 0 101", "m=audio 2012 RTP/AVP 111 101"),
      "no common codec",
    ],
    [
      "G.722 at a wrong clock",
      NET_SIP.replace("m=audio 2012 RTP/AVP 0 101", "m=audio 2012 RTP/AVP 9 101").concat("a=rtpmap:9 G722/16000\r\n"),
      "no common codec",
    ],
    ["telephone-event only", NET_SIP.replace("m=audio 2012 RTP/AVP 0 101", "m=audio 2012 RTP/AVP 101"), "no common codec"],
    ["video only", NET_SIP.replace("m=audio 2012 RTP/AVP 0 101", "m=video 2012 RTP/AVP 96"), "no audio stream"],
    ["SRTP only", NET_SIP.replace("RTP/AVP", "RTP/SAVP"), "no audio stream"],
    ["no c= line", NET_SIP.replace("c=IN IP4 127.0.0.1\r\n", ""), "no connection address"],
    ["empty", "", "malformed SDP"],
    ["garbage", "hello world\r\nfoo", "malformed SDP"],
  ];
  test.each(failures)("%s -> %s", (_name, sdp, error) => {
    expect(negotiateAnswer(sdp, local)).toEqual({ ok: false, error: error as never });
  });
});

describe("buildOffer / parseAnswer", () => {
  test("an offer that moves the media keeps the session's o= line (originAddress), c= names the new host", () => {
    const offer = parse(
      buildOffer({ address: "127.0.0.2", port: 20004, sessionId: 7, sessionVersion: 3, originAddress: "127.0.0.1" }),
    );
    expect(offer.origin).toMatchObject({ username: "-", sessionId: 7, sessionVersion: 3, address: "127.0.0.1", ipVer: 4 });
    expect(offer.connection?.ip).toBe("127.0.0.2");
    const plain = parse(buildOffer({ address: "::1", port: 20004 }));
    expect(plain.origin).toMatchObject({ address: "::1", ipVer: 6, sessionVersion: 1 });
  });

  test("our offer lists our codecs and telephone-event; answering it round-trips", () => {
    const offer = buildOffer({ address: "127.0.0.1", port: 20002, direction: "sendonly" });
    const o = parse(offer);
    expect(o.media[0]?.payloads).toBe("0 8 9 111 101");
    expect(o.media[0]?.direction).toBe("sendonly");
    const answered = negotiateAnswer(offer, { address: "127.0.0.1", port: 30000, codecs: ["PCMU", "PCMA", "G722"] });
    expect(answered.ok).toBe(true);
    if (!answered.ok) return;
    expect(answered.value.direction).toBe("recvonly");
    const r = parseAnswer(answered.value.answer);
    expect(r.ok && r.value).toEqual({
      codec: "PCMU",
      payloadType: 0,
      clockRate: 8000,
      telephoneEventPt: 101,
      remoteAddress: "127.0.0.1",
      remotePort: 30000,
      direction: "sendonly",
    });
  });
  test("an Opus offer (moving a call) keeps the phone's payload type; the answer round-trips", () => {
    const offer = buildOffer({ address: "127.0.0.1", port: 20002, codecs: ["OPUS"], opusPayloadType: 96 });
    const m = parse(offer).media[0];
    expect(m?.payloads).toBe("96 101");
    expect(m?.rtp[0]).toEqual({ payload: 96, codec: "opus", rate: 48000, encoding: 2 });
    expect(m?.fmtp[0]).toEqual({ payload: 96, config: OPUS_FMTP });
    const answered = negotiateAnswer(offer, { address: "127.0.0.1", port: 30000 });
    expect(answered.ok).toBe(true);
    if (!answered.ok) return;
    const r = parseAnswer(answered.value.answer, ["OPUS"]);
    expect(r.ok && [r.value.codec, r.value.payloadType, r.value.clockRate, r.value.telephoneEventPt]).toEqual([
      "OPUS",
      96,
      48000,
      101,
    ]);
  });

  test("an offer without telephone-event, G.711 only", () => {
    const o = parse(buildOffer({ address: "10.1.1.1", port: 4000, codecs: ["PCMA"], telephoneEventPt: null }));
    expect(String(o.media[0]?.payloads)).toBe("8");
  });
  test("a bad answer is an error value", () => {
    expect(parseAnswer("v=0").ok).toBe(false);
    expect(parseAnswer(NET_SIP, ["G722"])).toEqual({ ok: false, error: "no common codec" });
  });
});
