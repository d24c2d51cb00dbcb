/**
 * What a caller is told: prompts queued on the caller's own player in whatever mix it
 * sits in (lobby or meeting). Shared by the IVR and the meeting controller.
 */
import type { AfterPrompt, CallSession } from "./call.ts";
import { MIX_RATE, type PromptLibrary, type PromptName } from "@conf/media";

/** Silence after a goodbye before the BYE, ms. */
export const HANGUP_GRACE_MS = 300;

export class Voice {
  constructor(readonly prompts: PromptLibrary) {}

  /** Queues prompts for one caller; `then` says what happens when they finish. */
  say(call: CallSession, clips: readonly PromptName[], then: AfterPrompt = "none"): void {
    const group = call.group;
    if (!group || call.slot < 0) return;
    const player = group.mixer.prompt(call.slot);
    for (const name of clips) player.enqueue(this.prompts.get(name));
    // The BYE must not cut the last words: the caller's jitter buffer still holds them.
    if (then === "hangup") player.enqueueSilence(HANGUP_GRACE_MS);
    call.setAfterPrompt(then);
  }

  /** How long some prompts take to say, ms. */
  clipsMs(clips: readonly PromptName[]): number {
    const samples = clips.reduce((n, name) => n + this.prompts.get(name).length, 0);
    return (samples / MIX_RATE) * 1000;
  }
}
