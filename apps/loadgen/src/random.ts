/** A random hex token (tags, branches, Call-IDs, run names). */
export function randomToken(bytes = 8): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
