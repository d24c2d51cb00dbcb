import { expect, test } from "bun:test";
import type { LogFields } from "@conf/log";
import { forEachDatabase } from "../testing.ts";
import { requestId } from "./access-log.ts";

const records: { fields: LogFields; msg: string }[] = [];
const keep = (a: LogFields | string, b?: string) =>
  void records.push(typeof a === "string" ? { fields: {}, msg: a } : { fields: a, msg: b ?? "" });
const log = { debug: keep, info: keep, warn: keep, error: keep };

test("requestId: a safe token is kept, anything else replaced", () => {
  expect(requestId("abc-123.x:y_z")).toBe("abc-123.x:y_z");
  for (const bad of [undefined, "", "a b", "x\r\ny", "a".repeat(129), "<script>"]) {
    expect(requestId(bad)).toMatch(/^[0-9a-f-]{36}$/);
  }
});

forEachDatabase(
  (h) => {
    test("one record per request: method, route pattern, status, duration, request id; X-Request-Id answered", async () => {
      records.length = 0;
      const r = await h().request("GET", "/conference/v2/meetings/nosuch?filter=secret-query", {
        headers: { "X-Request-Id": "trace-42" },
      });
      expect(r.headers.get("x-request-id")).toBe("trace-42");
      const rec = records.find((x) => x.msg === "request");
      expect(rec?.fields).toMatchObject({ request_id: "trace-42", method: "GET", status: r.status });
      expect(String(rec?.fields.route)).toStartWith("/conference/v2/meetings/:");
      expect(typeof rec?.fields.duration_ms).toBe("number");
      expect(JSON.stringify(records)).not.toContain("secret-query");

      records.length = 0;
      const forged = await h().request("GET", "/conference/v2/accounts", {
        auth: null,
        headers: { "X-Request-Id": "evil id\u0007" },
      });
      expect(forged.status).toBe(401);
      const id = forged.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(records[0]?.fields).toMatchObject({ request_id: id, status: 401, route: "/conference/v2/accounts" });
    });
  },
  { appDeps: { log } },
);
