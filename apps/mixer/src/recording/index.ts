/**
 * Meeting recording (`recording_method` `local` and `remote`). A recorder is fed the
 * meeting's 16 kHz mix by the mixer's `recordTap`, once per 20 ms tick.
 *
 * @example
 * const rec = method === "local"
 *   ? startLocalRecording({ dir, meetingSid, accountSid, meetingRoomSid, startedAt: new Date(), metadata })
 *   : startRemoteRecording({ ua, ports, host, target: recordingAddr, meetingSid, metadata, outbound });
 * mixer.recordTap = (mix) => rec.write(mix);
 * void rec.done.then(() => { mixer.recordTap = null; meeting.recording = false; });
 * await rec.stop();
 */
export {
  fileTimestamp,
  LOCAL_SAMPLE_RATES,
  type LocalRecordingOptions,
  type LocalSampleRate,
  type RecordingSidecar,
  startLocalRecording,
} from "./local.ts";
export {
  REMOTE_RECORDING_CODECS,
  type RemoteRecordingCodec,
  type RemoteRecordingOptions,
  startRemoteRecording,
} from "./remote.ts";
export { headerText, type RecordingTarget, recordingTarget, TARGET_ERRORS, type TargetError } from "./target.ts";
export {
  type LocalRecorder,
  type LocalRecordingResult,
  RECORDING_KINDS,
  type Recorder,
  type RecordingKind,
  type RecordingReady,
  type RecordingResult,
  type RemoteRecorder,
  type RemoteRecordingResult,
} from "./types.ts";
export { WAV_HEADER_SIZE, wavHeader } from "./wav.ts";
