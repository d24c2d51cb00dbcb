import type { Repositories } from "./index.ts";

/** A fresh endpoint and its account for a test. */
export async function newAccount(repos: Repositories, name = "conf") {
  const r = await repos.endpoints.create({ name });
  if (!r.ok) throw new Error(r.error.message);
  return { endpointSid: r.value.endpoint_sid, accountSid: r.value.properties.account_sid };
}

/** The value of a result that must be ok. */
export function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}
