/**
 * Sends one GET again and again from `concurrency` loops for `seconds`, then prints how
 * many were answered 200 (anything else stops it with exit code 1). Run as its own
 * process so that reading the answers costs the measuring test nothing. `{n}` in the URL
 * becomes a new number each time (so no cache answers for the API).
 * Usage: bun test/lib/api-flood.ts <url> <authorization header> <concurrency> <seconds>
 */
const [url, auth, concurrency = "4", seconds = "5"] = process.argv.slice(2);
if (!url || !auth) throw new Error("usage: api-flood.ts <url> <authorization> <concurrency> <seconds>");
const end = Date.now() + Number(seconds) * 1000;
let ok = 0;
let n = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (Date.now() < end) {
      const res = await fetch(url.replaceAll("{n}", String(n++)), { headers: { Authorization: auth } });
      await res.arrayBuffer();
      if (res.status !== 200) {
        console.error(`api-flood: ${res.status}`);
        process.exit(1);
      }
      ok++;
    }
  }),
);
console.log(ok);
export {};
