import { expect, test } from "bun:test";
import { parse } from "sdp-transform";
import { isWebRtcOffer, negotiateWebRtcAnswer } from "./sdp-webrtc.ts";

/** An offer as Chromium writes it for one microphone track (trimmed of header extensions). */
const CHROME_OFFER = [
  "v=0",
  "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:Xz4f",
  "a=ice-pwd:9Bq0f1mGqg6iS0oV2w3Q1bZp",
  "a=ice-options:trickle",
  "a=fingerprint:sha-256 12:AB:34:CD:56:EF:78:90:12:AB:34:CD:56:EF:78:90:12:AB:34:CD:56:EF:78:90:12:AB:34:CD:56:EF:78:90",
  "a=setup:actpass",
  "a=mid:0",
  "a=sendrecv",
  "a=msid:- 7a1c",
  "a=rtcp-mux",
  "a=rtcp-rsize",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:13 CN/8000",
  "a=rtpmap:110 telephone-event/48000",
  "a=rtpmap:126 telephone-event/8000",
  "a=ssrc:1001 cname:abc",
  "",
].join("\r\n");

const LOCAL = {
  address: "127.0.0.1",
  port: 20000,
  iceUfrag: "abcdefgh",
  icePwd: "0123456789abcdefghijklmn",
  fingerprint: { algorithm: "sha-256", value: "AA:BB" },
  ssrc: 42,
};

test("a browser's offer is answered ICE-lite, DTLS passive, rtcp-mux, Opus at its payload type and telephone-event/48000", () => {
  expect(isWebRtcOffer(CHROME_OFFER)).toBe(true);
  const r = negotiateWebRtcAnswer(CHROME_OFFER, LOCAL);
  if (!r.ok) throw new Error(r.error);
  expect(r.value.codec).toBe("OPUS");
  expect(r.value.payloadType).toBe(111);
  expect(r.value.clockRate).toBe(48000);
  expect(r.value.telephoneEventPt).toBe(110);
  expect(r.value.remoteIceUfrag).toBe("Xz4f");
  expect(r.value.remoteIcePwd).toBe("9Bq0f1mGqg6iS0oV2w3Q1bZp");
  expect(r.value.remoteFingerprints[0]?.algorithm).toBe("sha-256");
  const a = parse(r.value.answer);
  expect(a.icelite).toBe("ice-lite");
  expect(a.groups?.[0]?.type).toBe("BUNDLE");
  expect(String(a.groups?.[0]?.mids)).toBe("0");
  const m = a.media[0];
  expect(m?.protocol).toBe("UDP/TLS/RTP/SAVPF");
  expect(m?.port).toBe(20000);
  expect(m?.payloads).toBe("111 110");
  expect(m?.rtp).toEqual([
    { payload: 111, codec: "opus", rate: 48000, encoding: 2 },
    { payload: 110, codec: "telephone-event", rate: 48000 },
  ]);
  expect(m?.fmtp?.find((f) => f.payload === 111)?.config).toContain("maxplaybackrate=16000");
  expect(m?.setup).toBe("passive");
  expect(m?.rtcpMux).toBe("rtcp-mux");
  expect(String(m?.mid)).toBe("0");
  expect(m?.iceUfrag).toBe("abcdefgh");
  expect(m?.fingerprint).toEqual({ type: "sha-256", hash: "AA:BB" });
  expect(m?.candidates?.[0]).toMatchObject({ ip: "127.0.0.1", port: 20000, type: "host", transport: "udp" });
  expect(m?.ssrcs?.[0]).toMatchObject({ id: 42, attribute: "cname" });
});

test("without Opus (not offered, or not among the codecs allowed) a browser gets PCMU and telephone-event/8000", () => {
  const noOpus = CHROME_OFFER.replace(" 111 63 ", " 63 ").replace(/a=rtpmap:111 .*\r\n/, "");
  for (const r of [
    negotiateWebRtcAnswer(noOpus, LOCAL),
    negotiateWebRtcAnswer(CHROME_OFFER, { ...LOCAL, codecs: ["PCMU", "PCMA"] }),
  ]) {
    if (!r.ok) throw new Error(r.error);
    expect(r.value.codec).toBe("PCMU");
    expect(r.value.payloadType).toBe(0);
    expect(r.value.clockRate).toBe(8000);
    expect(r.value.telephoneEventPt).toBe(126);
    expect(parse(r.value.answer).media[0]?.payloads).toBe("0 126");
  }
});

test("offers a browser leg cannot take are refused with a reason", () => {
  const cases: [string, string][] = [
    [CHROME_OFFER.replace(/a=ice-pwd:.*\r\n/, ""), "no ICE credentials"],
    [CHROME_OFFER.replace(/a=fingerprint:.*\r\n/, ""), "no DTLS fingerprint"],
    [CHROME_OFFER.replace("a=rtcp-mux\r\n", ""), "no rtcp-mux"],
    [CHROME_OFFER.replace("a=setup:actpass", "a=setup:passive"), "bad DTLS setup"],
    [CHROME_OFFER.replace(" 111 63 9 0 8 13", " 63 9 13").replace(/a=rtpmap:(0|8|111) .*\r\n/g, ""), "no common codec"],
    [CHROME_OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"), "no audio stream"],
    ["garbage", "malformed SDP"],
  ];
  for (const [offer, error] of cases) {
    const r = negotiateWebRtcAnswer(offer, LOCAL);
    expect(r.ok ? "answered" : r.error).toBe(error);
  }
  expect(isWebRtcOffer(CHROME_OFFER.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP"))).toBe(false);
});
