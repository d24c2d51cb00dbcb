/**
 * The media core of the mixer: codecs, RTP, jitter buffer, DTMF, tones, prompts,
 * SDP offer/answer and the conference mixer. Everything on the per-packet and
 * per-frame path allocates nothing.
 */
export * from "./codec.ts";
export * from "./conference-mixer.ts";
export * from "./mixer-types.ts";
export * from "./dtmf.ts";
export * from "./g711.ts";
export * from "./g722.ts";
export * from "./goertzel.ts";
export * from "./jitter-buffer.ts";
export * from "./opus.ts";
export * from "./prompts.ts";
export * from "./resample.ts";
export * from "./rtp.ts";
export * from "./sdp.ts";
export * from "./tones.ts";
export * from "./sdp-webrtc.ts";
export * from "./trunk.ts";
