/**
 * The store's records of this node's callers at the access-code prompt (the lobby):
 * written when a caller is answered (`call.entered`), so the API lists it with no
 * meeting yet, and removed when it leaves without joining (`call.left` with no
 * meeting). A caller that joins needs nothing from here: the store's join turns the
 * record into the joined call under the same call sid. After Redis restarts empty the
 * node writes its callers still at the prompt back (`restore`), as it does its meetings.
 */
import type { Log } from "@conf/log";
import type { EnterInput, SessionStore } from "@conf/session-store";
import type { DomainEvents } from "./domain-events.ts";
import { logSafe } from "./log-safe.ts";

export interface LobbyRecordsParts {
  store: Pick<SessionStore, "enter" | "leaveLobby">;
  nodeId: string;
  events: DomainEvents;
  log: Log;
  bg(p: Promise<unknown>): void;
}

export class LobbyRecords {
  /** Writes not answered yet, by call sid (each entry goes once its write settles). */
  private readonly writing = new Map<string, Promise<void>>();
  /** Removals not answered yet (a stopping node waits for them before the store closes). */
  private readonly removing = new Set<Promise<void>>();
  private readonly stops: (() => void)[];
  /** What each caller at the prompt was entered with, until it joins or leaves (for `restore`). */
  private readonly atPrompt = new Map<string, EnterInput>();
  /** When a failure was last logged, ms: Redis away means one failure per caller. */
  private failureLogged = 0;

  constructor(private readonly parts: LobbyRecordsParts) {
    const { events, store, nodeId, bg } = parts;
    this.stops = [
      events.on("call.entered", (e) => {
        const input: EnterInput = {
          call_sid: e.callSid,
          account_sid: e.accountSid,
          codecs: e.codecs,
          number_src: e.numberSrc,
          number_dst: e.numberDst,
          name: e.name,
          direction: "In",
          date_created: e.dateCreated,
          nodeId,
        };
        this.atPrompt.set(e.callSid, input);
        const write = store
          .enter(input)
          // The caller goes on without it: the API misses it until it joins.
          .then(
            () => {},
            (err: unknown) => this.failed(e.callSid, err),
          )
          .finally(() => {
            if (this.writing.get(e.callSid) === write) this.writing.delete(e.callSid);
          });
        this.writing.set(e.callSid, write);
      }),
      events.on("call.joined", (e) => {
        this.atPrompt.delete(e.callSid);
      }),
      events.on("call.left", (e) => {
        this.atPrompt.delete(e.callSid);
        if (e.meetingSid !== null) return;
        // After its own write: a removal overtaking it would leave the record behind.
        const pending = this.writing.get(e.callSid) ?? Promise.resolve();
        const removal = pending
          .then(() => store.leaveLobby(e.callSid))
          .then(
            () => {},
            (err: unknown) => this.failed(e.callSid, err),
          )
          .finally(() => this.removing.delete(removal));
        this.removing.add(removal);
        bg(removal);
      }),
    ];
  }

  /**
   * Resolves once the caller's record is written (or its write failed): a join waits
   * for it, so the store sees the caller enter before it joins, and the public events
   * come in that order.
   */
  ready(callSid: string): Promise<void> {
    return this.writing.get(callSid) ?? Promise.resolve();
  }

  /**
   * The store lost its data (Redis restarted empty): the callers still at the prompt are
   * entered again, so the API lists them again. How many were written back.
   */
  async restore(): Promise<number> {
    let restored = 0;
    await Promise.all(
      [...this.atPrompt].map(([callSid, input]) =>
        this.parts.store.enter(input).then(
          (written) => {
            if (written) restored++;
          },
          (err: unknown) => this.failed(callSid, err),
        ),
      ),
    );
    return restored;
  }

  /** Stops listening, once the writes and removals under way are answered. */
  async close(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await Promise.all([...this.writing.values(), ...this.removing]);
  }

  private failed(callSid: string, err: unknown): void {
    const t = Date.now();
    if (t - this.failureLogged < 60_000) return;
    this.failureLogged = t;
    this.parts.log.warn({ call_sid: callSid }, `lobby record of call ${callSid}: the store failed (${logSafe(err)})`);
  }
}
