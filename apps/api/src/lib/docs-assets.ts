/**
 * The API reference page's script, served from the installed @scalar/api-reference
 * package instead of a CDN, so /docs works on a machine with no internet.
 */

/** Where the page loads the script from. */
export const DOCS_SCRIPT_PATH = "/docs/scalar.js";

let script: { path: string; body: Blob } | null | undefined;

/** The standalone browser build of the reference renderer, or null when the package is missing. */
export function docsScript(): { path: string; body: Blob } | null {
  if (script !== undefined) return script;
  script = null;
  try {
    // The package's exports list no browser file; it sits beside its entry under dist/.
    const entry = Bun.resolveSync("@scalar/api-reference", import.meta.dir);
    const root = entry.slice(0, entry.lastIndexOf("/dist/"));
    const path = `${root}/dist/browser/standalone.js`;
    const file = Bun.file(path);
    if (file.size > 0) script = { path, body: file };
  } catch {
    script = null;
  }
  return script;
}
