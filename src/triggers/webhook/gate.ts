/** Runs a Hono middleware as a yes/no gate inside a handler. */
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorResponse } from "./errors.ts";
import type { WebhookEnv } from "./raw-body.ts";

/**
 * Runs a Hono middleware as a gate: null when it calls next(), else the Response it returned or
 * threw (bearer-auth throws an HTTPException carrying its response).
 */
export async function gate(mw: MiddlewareHandler<WebhookEnv>, c: Context<WebhookEnv>): Promise<Response | null> {
  let passed = false;
  try {
    const out = await mw(c, async () => {
      passed = true;
    });
    if (passed) return null;
    return out instanceof Response ? out : errorResponse("internal_error", "request refused without a response");
  } catch (err) {
    if (err instanceof HTTPException) return err.getResponse();
    throw err;
  }
}

