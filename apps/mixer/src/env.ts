/**
 * The mixer's environment, parsed once at start-up. The rules live in @conf/config,
 * shared with the API.
 */
import { type MixerConfig, mixerConfig, mixerSchema } from "@conf/config";

/** The variables a mixer node reads (each on its own; mixerConfig also checks how they go together). */
export const mixerEnvSchema = mixerSchema;
export type MixerEnv = MixerConfig;

/** Parses the environment or exits naming each bad variable. */
export function readMixerEnv(env: Record<string, string | undefined> = process.env): MixerEnv {
  const r = mixerConfig(env);
  if (!r.ok) {
    for (const line of r.lines) console.error(`mixer: bad ${line}`);
    process.exit(1);
  }
  return r.value;
}
