/**
 * SIP messages counted by method (requests) and status code (responses), each way, for
 * a metrics endpoint to read when it is scraped. Methods and codes come off the wire,
 * so the keys are bounded: a method outside the known list counts as "other", a status
 * outside 100-699 as "other". A few small Maps: this is the signalling path, not RTP.
 */

/** Key for methods outside the known list and for unreadable status codes. */
export const OTHER = "other";

const SPACE = 0x20;
/** "SIP/2.0 " as bytes: what a response starts with. */
const STATUS_LINE = [0x53, 0x49, 0x50, 0x2f, 0x32, 0x2e, 0x30, 0x20];
/** Longest method name looked at in an outgoing datagram (ours are all short). */
const MAX_METHOD = 16;

/**
 * Counts of SIP messages by method and status code, received and sent.
 *
 * @example
 * const counts = new SipMessageCounts(["INVITE", "BYE"]);
 * counts.requestReceived("INVITE");
 * counts.requests.received.get("INVITE"); // 1
 */
export class SipMessageCounts {
  readonly requests = { received: new Map<string, number>(), sent: new Map<string, number>() };
  readonly responses = { received: new Map<string, number>(), sent: new Map<string, number>() };
  private readonly known: ReadonlySet<string>;

  /** `methods`: the methods counted under their own name; any other is "other". */
  constructor(methods: Iterable<string>) {
    this.known = new Set(methods);
  }

  requestReceived(method: string): void {
    add(this.requests.received, this.known.has(method) ? method : OTHER);
  }

  responseReceived(status: number): void {
    add(this.responses.received, statusKey(status));
  }

  /** Counts an outgoing datagram (a request or a response) by its first line. */
  sent(data: Uint8Array): void {
    if (isResponse(data)) {
      const s = (data[8] ?? 0) - 0x30;
      const t = (data[9] ?? 0) - 0x30;
      const u = (data[10] ?? 0) - 0x30;
      const ok = s >= 0 && s <= 9 && t >= 0 && t <= 9 && u >= 0 && u <= 9 && data[11] === SPACE;
      add(this.responses.sent, ok ? statusKey(s * 100 + t * 10 + u) : OTHER);
      return;
    }
    let end = 0;
    while (end < data.length && end <= MAX_METHOD && data[end] !== SPACE) end++;
    const method = end <= MAX_METHOD ? String.fromCharCode(...data.subarray(0, end)) : "";
    add(this.requests.sent, this.known.has(method) ? method : OTHER);
  }
}

function add(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function statusKey(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 699 ? String(status) : OTHER;
}

function isResponse(data: Uint8Array): boolean {
  if (data.length < 12) return false;
  for (let i = 0; i < STATUS_LINE.length; i++) if (data[i] !== STATUS_LINE[i]) return false;
  return true;
}
