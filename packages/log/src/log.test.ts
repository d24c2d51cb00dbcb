import { expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createRootLogger, escapedLog, lineLog, textLine } from "./index.ts";

function capture(pretty: boolean, level: "info" | "warn" = "info") {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      out.push(String(chunk));
      done();
    },
  });
  const root = createRootLogger({ pretty, level, destination });
  return { out, log: root.child({ module: "mixer" }) };
}

test("JSON: module, ids as fields, level, redaction, no raw separators", () => {
  const { out, log } = capture(false);
  log.info(
    { call_sid: "CA1", meeting_sid: "CF1", account_sid: "AC1", headers: { authorization: "Bearer s3cret" }, password: "pw" },
    "joined\u2028x\r\ny",
  );
  log.debug("not written");
  expect(out.length).toBe(1);
  const line = out[0] as string;
  expect(line.trimEnd().includes("\n")).toBe(false);
  expect(line).not.toContain("\u2028");
  expect(line).not.toContain("s3cret");
  const r = JSON.parse(line);
  expect(r).toMatchObject({
    level: 30,
    module: "mixer",
    call_sid: "CA1",
    meeting_sid: "CF1",
    account_sid: "AC1",
    password: "[redacted]",
  });
  expect(r.headers.authorization).toBe("[redacted]");
  expect(r.msg).toBe("joined\\u2028x\r\ny");
});

test("levels: below the level nothing is written", () => {
  const { out, log } = capture(false, "warn");
  log.info("quiet");
  log.warn({ call_sid: "CA2" }, "loud");
  expect(out.map((l) => JSON.parse(l).msg)).toEqual(["loud"]);
});

test("pretty: readable, and no control character from a value reaches the terminal", () => {
  const { out, log } = capture(true);
  log.info({ call_sid: "CA\u001b[31m\r\nforged" }, "from \u001b]0;x\u0007 sip\r\nINFO: forged");
  const text = out.join("");
  expect(text).toContain("mixer: from \\x1b]0;x\\x07 sip\\x0d\\x0aINFO: forged");
  // Only the line breaks pino-pretty itself writes between a record's lines.
  expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(text)).toBe(false);
  expect(text.split("\n").filter((l) => l.includes("forged")).length).toBe(2);
});

test("lineLog and escapedLog: the message is the line, escaped", () => {
  const lines: string[] = [];
  const log = escapedLog(lineLog((l) => lines.push(l)));
  log.info({ call_sid: "CA1" }, "call CA1 joined\r\nx");
  log.warn("plain");
  expect(lines).toEqual(["call CA1 joined\\x0d\\x0ax", "plain"]);
});

test("textLine: a record as the line it replaced, other lines as they are", () => {
  expect(textLine('{"level":30,"module":"mixer","msg":"rx totals: 1"}')).toBe("mixer: rx totals: 1");
  expect(textLine('{"level":30,"module":"mixer","worker":"n-w1","msg":"call X taken over from y"}')).toBe(
    "mixer n-w1: call X taken over from y",
  );
  expect(textLine("conference: ready")).toBe("conference: ready");
  expect(textLine("{not json")).toBe("{not json");
});
