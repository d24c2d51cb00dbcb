import { OpenAPIHono } from "@hono/zod-openapi";
import { validationHook } from "./body.ts";
import type { AppEnv } from "./context.ts";

/**
 * One resource's routes as a sub-app: each `register` adds its route, in the order given
 * (it matters where a fixed path and a `{sid}` path meet); zod failures answer the
 * reference's 422 through `validationHook`.
 * @example export const callFlowsRoutes = () => routeGroup(registerList, registerGet);
 */
export function routeGroup(...register: ((app: OpenAPIHono<AppEnv>) => void)[]): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const r of register) r(app);
  return app;
}
