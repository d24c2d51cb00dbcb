// The /join page's script: joins a meeting from the browser as a phone would. A small
// SIP-over-WebSocket client (RFC 7118: INVITE with the browser's offer, ACK, BYE; it
// answers the service's BYE, INFO and OPTIONS) and one RTCPeerConnection with the
// microphone. The access code and the keypad are sent as RFC 4733 events (the RTP
// sender's DTMF), exactly what a phone's keys are. Served by the API from this file as
// it is: no build step, no CDN, nothing loaded from elsewhere.
(() => {
  const form = document.getElementById("join");
  const statusEl = document.getElementById("status");
  const keypad = document.getElementById("keypad");
  const hangupButton = document.getElementById("hangup");
  const remoteAudio = document.getElementById("remote");
  const wsUrl = form.dataset.ws;
  const enc = new TextEncoder();
  const rand = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
  const localHost = `${rand(6)}.invalid`;

  /** What the page shows and tests read: state, the SIP status, the peer connection. */
  const call = {
    state: "idle",
    reason: "",
    pc: null,
    ws: null,
    sender: null,
    dialog: null,
  };
  window.conferenceCall = call;

  function show(state, reason = "") {
    call.state = state;
    call.reason = reason;
    statusEl.textContent = reason ? `${state}: ${reason}` : state;
    keypad.hidden = state !== "in call";
    hangupButton.hidden = state !== "in call" && state !== "calling";
    form.querySelector("button[type=submit]").disabled = state === "in call" || state === "calling";
  }

  function parse(text) {
    const end = text.indexOf("\r\n\r\n");
    const head = (end >= 0 ? text.slice(0, end) : text).split("\r\n");
    const body = end >= 0 ? text.slice(end + 4) : "";
    const start = head.shift() || "";
    const headers = [];
    for (const line of head) {
      const i = line.indexOf(":");
      if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
    }
    const get = (n) => headers.find((h) => h[0] === n)?.[1] ?? "";
    const all = (n) => headers.filter((h) => h[0] === n).map((h) => h[1]);
    const m = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(start);
    if (m) return { status: Number(m[1]), reason: m[2], get, all, body };
    return { method: start.split(" ")[0], get, all, body };
  }

  function message(startLine, headers, body = "") {
    return [startLine, ...headers, `Content-Length: ${enc.encode(body).length}`, "", body].join("\r\n");
  }

  function via(branch) {
    return `Via: SIP/2.0/WS ${localHost};branch=z9hG4bK${branch};rport`;
  }

  function send(text) {
    if (call.ws && call.ws.readyState === WebSocket.OPEN) call.ws.send(text);
  }

  function request(method, cseq, extra = [], body = "", branch = rand(8)) {
    const d = call.dialog;
    const to = d.toTag ? `${d.to};tag=${d.toTag}` : d.to;
    return message(
      `${method} ${d.target} SIP/2.0`,
      [
        via(branch),
        "Max-Forwards: 70",
        `From: ${d.from};tag=${d.fromTag}`,
        `To: ${to}`,
        `Call-ID: ${d.callId}`,
        `CSeq: ${cseq} ${method}`,
        `Contact: <sip:browser@${localHost};transport=ws>`,
        "User-Agent: conference-join-page",
        ...extra,
      ],
      body,
    );
  }

  function respond(req, status, reason) {
    send(
      message(`SIP/2.0 ${status} ${reason}`, [
        ...req.all("via").map((v) => `Via: ${v}`),
        `From: ${req.get("from")}`,
        `To: ${req.get("to")}`,
        `Call-ID: ${req.get("call-id")}`,
        `CSeq: ${req.get("cseq")}`,
      ]),
    );
  }

  function finish(reason) {
    if (call.state === "ended") return;
    call.pc?.close();
    for (const t of call.stream?.getTracks() ?? []) t.stop();
    call.ws?.close();
    show("ended", reason);
  }

  async function onMessage(text) {
    const m = parse(String(text));
    const d = call.dialog;
    if (m.status !== undefined) {
      if (!d || !/ INVITE$/.test(m.get("cseq")) || m.get("call-id") !== d.callId) return;
      if (m.status < 200) return;
      const toTag = /;\s*tag=([^;\s]+)/.exec(m.get("to"))?.[1] ?? "";
      if (m.status >= 300) {
        // ACK of a failure: the INVITE's branch, the response's To (RFC 3261 17.1.1.3).
        d.toTag = toTag;
        send(request("ACK", d.cseq, [], "", d.inviteBranch));
        finish(`${m.status} ${m.reason}`);
        return;
      }
      const first = d.toTag === "";
      d.toTag = toTag;
      const contact = /<([^>]+)>/.exec(m.get("contact"))?.[1];
      if (contact) d.target = contact;
      send(request("ACK", d.cseq));
      if (!first) return; // a retransmitted 200: ACKed again
      await call.pc.setRemoteDescription({ type: "answer", sdp: m.body });
      show("in call");
      await sendCode();
      return;
    }
    if (!d || m.get("call-id") !== d.callId) {
      if (m.method !== "ACK") respond(m, 481, "Call/Transaction Does Not Exist");
      return;
    }
    if (m.method === "BYE") {
      respond(m, 200, "OK");
      finish("the meeting hung up");
    } else if (m.method === "INFO" || m.method === "OPTIONS") respond(m, 200, "OK");
    else if (m.method === "INVITE") respond(m, 488, "Not Acceptable Here");
  }

  /** The access code and #, as RFC 4733 events once the media flows (the IVR takes keys typed over its prompt). */
  async function sendCode() {
    const code = form.access_code.value.replace(/[^0-9]/g, "");
    if (!code) return;
    for (let i = 0; i < 100 && call.pc && call.pc.connectionState !== "connected"; i++) await sleep(100);
    await sleep(1000);
    call.sender?.dtmf?.insertDTMF(`${code}#`, 120, 80);
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function join(event) {
    event.preventDefault();
    const number = form.number.value.replace(/[^0-9+]/g, "");
    if (!number) return show("idle", "enter the number to dial");
    if (!wsUrl) return show("idle", "browser calls are not enabled on this service");
    show("calling");
    try {
      call.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const pc = new RTCPeerConnection({ iceServers: [] });
      call.pc = pc;
      for (const track of call.stream.getAudioTracks()) call.sender = pc.addTrack(track, call.stream);
      pc.ontrack = (e) => {
        remoteAudio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
        remoteAudio.play().catch(() => {});
      };
      pc.onconnectionstatechange = () => {
        if (pc.connectionState === "failed") finish("media failed");
      };
      await pc.setLocalDescription(await pc.createOffer());
      // The service is ICE-lite and needs none of our candidates; the offer goes as it is.
      const ws = new WebSocket(wsUrl, "sip");
      call.ws = ws;
      ws.onmessage = (e) => onMessage(e.data).catch((err) => finish(String(err)));
      ws.onclose = () => finish("connection closed");
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error("cannot reach the service"));
      });
      const host = new URL(wsUrl).hostname;
      const uri = `sip:${number}@${host}`;
      call.dialog = {
        callId: `${rand(12)}@${localHost}`,
        from: `"Browser" <sip:browser@${localHost}>`,
        fromTag: rand(5),
        to: `<${uri}>`,
        toTag: "",
        uri,
        target: uri,
        cseq: 1,
        inviteBranch: rand(8),
      };
      send(request("INVITE", 1, ["Content-Type: application/sdp"], pc.localDescription.sdp, call.dialog.inviteBranch));
    } catch (err) {
      finish(err instanceof Error ? err.message : String(err));
    }
  }

  function hangup() {
    const d = call.dialog;
    if (d?.toTag) {
      d.cseq += 1;
      send(request("BYE", d.cseq));
    }
    setTimeout(() => finish("you hung up"), 200);
  }

  form.addEventListener("submit", join);
  hangupButton.addEventListener("click", hangup);
  for (const b of keypad.querySelectorAll("button[data-key]")) {
    b.addEventListener("click", () => call.sender?.dtmf?.insertDTMF(b.dataset.key, 120, 80));
  }
  show("idle");
})();
