/**
 * @conf/log: the service's logs, through pino. JSON lines when stdout is not a terminal
 * (one record a line, for collectors), readable lines when it is (pino-pretty, in this
 * thread, no worker). A child logger per module (`{ module }`), levels from LOG_LEVEL,
 * and the ids of calls, meetings and accounts as fields (`call_sid`, `meeting_sid`,
 * `account_sid`).
 *
 * Values from the network reach log records. JSON escapes C0 controls itself; DEL, C1
 * and the Unicode line separators (which some viewers honour) are escaped here, and on
 * a terminal every control character is, so no value can forge a line or drive it.
 * Authorization headers, passwords and tokens are redacted wherever they sit.
 *
 * ```ts
 * configureLogging({ level: env.LOG_LEVEL }); // once, at start-up
 * const log = createLogger("mixer");
 * log.info({ call_sid: call.callSid, meeting_sid: sid }, "joined");
 * ```
 */
import pino, { type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";

export type { Logger } from "pino";

/** Fields of a record; the ids have fixed names so one query finds a call everywhere. */
export interface LogFields {
  call_sid?: string;
  meeting_sid?: string;
  account_sid?: string;
  [key: string]: unknown;
}

/** One level's method: `(fields, message)` or just `(message)`, as pino's. */
export type LogMethod = (fieldsOrMessage: LogFields | string, message?: string) => void;

/** What code that logs needs (a pino Logger is one). */
export interface Log {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

export const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type Level = (typeof LEVELS)[number];

// C0, DEL, C1, and the Unicode line and paragraph separators.
const ALL_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
// What JSON.stringify leaves as it is.
const NOT_JSON_ESCAPED = /[\u007f-\u009f\u2028\u2029]/g;

function hex(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** Escapes every control character as \xNN (\uNNNN for the Unicode separators). */
export function escapeControl(text: string): string {
  return text.replace(ALL_CONTROL, hex);
}

function sanitize(value: unknown, pattern: RegExp, depth = 0): unknown {
  if (typeof value === "string") return value.replace(pattern, hex);
  if (depth > 4 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => sanitize(v, pattern, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = sanitize(v, pattern, depth + 1);
  return out;
}

/** Where secrets sit in what is logged: headers, bodies, options. */
export const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  "*.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
];

export interface RootOptions {
  level?: Level;
  /** Readable lines instead of JSON; default: whether stdout is a terminal. */
  pretty?: boolean;
  /** Where records go; default stdout. */
  destination?: DestinationStream;
}

/** A root logger (entry points and tests; modules use {@link createLogger}). */
export function createRootLogger(options: RootOptions = {}): Logger {
  const human = options.pretty ?? process.stdout.isTTY === true;
  const pattern = human ? ALL_CONTROL : NOT_JSON_ESCAPED;
  const stream =
    options.destination && !human
      ? options.destination
      : human
        ? pretty({
            sync: true,
            colorize: options.destination ? false : process.stdout.isTTY === true,
            destination: options.destination ?? 1,
            ignore: "pid,hostname,module,worker",
            translateTime: "HH:MM:ss.l",
            messageFormat: (rec, key) => `${rec.module ?? "?"}${rec.worker ? ` ${rec.worker}` : ""}: ${rec[key] ?? ""}`,
          })
        : pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: options.level ?? "info",
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      formatters: { log: (fields) => sanitize(fields, pattern) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const safe = args.map((a) => (typeof a === "string" ? a.replace(pattern, hex) : a)) as Parameters<typeof method>;
          method.apply(this, safe);
        },
      },
    },
    stream,
  );
}

let root: Logger | null = null;
const modules = new Map<string, Logger>();

/** Sets the level (and, before the first record, the destination) of every module's logger. */
export function configureLogging(options: RootOptions): void {
  if (!root || options.destination !== undefined || options.pretty !== undefined) {
    root = createRootLogger(options);
    for (const name of [...modules.keys()]) modules.set(name, root.child({ module: name }));
  }
  const level = options.level ?? "info";
  root.level = level;
  for (const l of modules.values()) l.level = level;
}

/**
 * The logger of one module, a child of the root: `{ module }` on every record.
 * @example const log = createLogger("api"); log.info({ account_sid }, "created");
 */
export function createLogger(module: string): Log {
  // Resolved at each call so configureLogging, run later at start-up, reaches loggers
  // that modules made when they were imported.
  const get = (): Logger => {
    let l = modules.get(module);
    if (!l) {
      root ??= createRootLogger();
      l = root.child({ module });
      modules.set(module, l);
    }
    return l;
  };
  const at =
    (level: "debug" | "info" | "warn" | "error"): LogMethod =>
    (a, b) =>
      typeof a === "string" ? get()[level](a) : get()[level](a, b);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * A Log that hands each message, escaped, to `sink` (tests, and callers that pass a
 * line callback): the fields are dropped, the message is the line it always was.
 */
export function lineLog(sink: (line: string) => void): Log {
  const m: LogMethod = (a, b) => sink(escapeControl(typeof a === "string" ? a : (b ?? "")));
  return { debug: () => {}, info: m, warn: m, error: m };
}

/** The same Log with every message's control characters escaped (fields are left to the logger). */
export function escapedLog(log: Log): Log {
  const wrap =
    (m: LogMethod): LogMethod =>
    (a, b) =>
      typeof a === "string" ? m(escapeControl(a)) : m(a, escapeControl(b ?? ""));
  return { debug: wrap(log.debug), info: wrap(log.info), warn: wrap(log.warn), error: wrap(log.error) };
}

/**
 * One line of a service's output as text: a JSON record becomes `module[ worker]: msg`,
 * anything else is returned as it is. For tools that read logs (the bench, tests).
 * @example textLine('{"level":30,"module":"mixer","msg":"rx totals: ..."}') // "mixer: rx totals: ..."
 */
export function textLine(line: string): string {
  if (!line.startsWith("{")) return line;
  try {
    const r = JSON.parse(line) as { module?: unknown; worker?: unknown; msg?: unknown };
    if (typeof r.msg !== "string") return line;
    return `${typeof r.module === "string" ? r.module : "log"}${typeof r.worker === "string" ? ` ${r.worker}` : ""}: ${r.msg}`;
  } catch {
    return line;
  }
}

/** A whole piece of output through {@link textLine}. */
export function textLines(output: string): string {
  return output.includes("{") ? output.split("\n").map(textLine).join("\n") : output;
}
