/**
 * @conf/mixer: the Bun-native media engine. `startMixer` runs a node; `src/main.ts`
 * reads the environment and starts one.
 */
export { type MixerEnv, mixerEnvSchema, readMixerEnv } from "./env.ts";
export { MixerNode, type MixerNodeOptions } from "./node.ts";
export { type RunningMixer, type StartMixerOptions, startMixer } from "./server.ts";
