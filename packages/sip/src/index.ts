/**
 * The SIP-over-UDP stack of the mixer and the load generator (hand-written; see `ua.ts` for why).
 *
 * @example
 * import { SipUa } from "@conf/sip";
 * const ua = await SipUa.listen({ host: env.SIP_HOST, port: env.SIP_PORT, handlers: {
 *   onInvite: (call) => call.accept(answerFor(call.sdp)),
 *   onInfoDtmf: (dialog, digit) => keypad(dialog.id, digit),
 *   onBye: (dialog) => leave(dialog.id),
 * }});
 */
export {
  type AckInfo,
  INCOMING_CALL_STATES,
  IncomingCall,
  type IncomingCallState,
  type IncomingInvite,
  type InviteResult,
  KNOWN_UNSUPPORTED_METHODS,
  type OutgoingCall,
  type OutgoingInviteOptions,
  type ReinviteAnswer,
  type ReinviteOffer,
  type SdpDirection,
  SipUa,
  type SipTransport,
  type SipTransportName,
  type SipUaHandlers,
  type SipUaOptions,
  SUPPORTED_METHODS,
} from "./ua.ts";
export {
  type ByeResult,
  DIALOG_END_REASONS,
  DIALOG_FAILURE_REASONS,
  DIALOG_STATES,
  Dialog,
  type DialogEndReason,
  type DialogFailureReason,
  type DialogSnapshot,
  DialogSnapshotError,
  type DialogState,
  DuplicateDialogError,
  inDialogTarget,
  parseDialogSnapshot,
  type ReinviteOptions,
  type ReinviteResult,
} from "./dialog.ts";
export { OTHER as OTHER_SIP_KEY, SipMessageCounts } from "./message-counts.ts";
export { DTMF_INFO_TYPES, type DtmfInfo, type DtmfInfoType, parseDtmfInfo } from "./dtmf-info.ts";
export {
  type Destination,
  resolveTimers,
  type SipTimerOptions,
  type SipTimers,
} from "./transaction.ts";
export {
  bodyText,
  type CSeq,
  isSipUri,
  type MessageParseResult,
  type NameAddr,
  type OutgoingHeader,
  type Params,
  type ParseResult,
  parseCSeq,
  parseMessage,
  parseNameAddr,
  parseUri,
  parseVia,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  type SipUri,
  serializeRequest,
  serializeResponse,
  type TelUri,
  type Uri,
  unescapeUriPart,
  uriUser,
  type Via,
} from "./message.ts";
export {
  type AdmissionTicket,
  DEFAULT_MESSAGE_LIMITS,
  DEFAULT_SOURCE_LIMITS,
  type MessageLimits,
  SourceAdmission,
  type SourceLimits,
  sdpTooLarge,
} from "./limits.ts";
