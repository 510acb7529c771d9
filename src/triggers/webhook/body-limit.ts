/** The body-size limit: Hono's bodyLimit, with a header-only fast path when Content-Length is given. */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorResponse } from "./errors.ts";

/** Size checks for one trigger. */
export interface BodyLimit {
  /**
   * Decides from the headers alone: a 413 response, null when the declared length fits, or
   * undefined when there is no usable Content-Length and {@link BodyLimit.streaming} must count.
   */
  byHeader(c: Context): Response | null | undefined;
  /** Hono's bodyLimit: counts the bytes of a chunked body as they arrive. */
  streaming: MiddlewareHandler;
}

/**
 * Refuses bodies over `maxBytes` with 413 payload_too_large, with or without Content-Length.
 * A request with Content-Length (and no Transfer-Encoding) is judged on the header alone, as
 * Hono's bodyLimit does, but without touching `request.body`: on @hono/node-server that getter
 * turns the lightweight request into a full Request with a stream, which cut ingest throughput by
 * more than half.
 */
export function createBodyLimit(maxBytes: number): BodyLimit {
  const tooLarge = (_c: Context) => errorResponse("payload_too_large", `the body exceeds ${maxBytes} bytes`);
  return {
    byHeader(c) {
      const length = c.req.header("content-length");
      if (length === undefined || c.req.header("transfer-encoding") !== undefined || !/^\d+$/.test(length)) return undefined;
      return Number(length) > maxBytes ? tooLarge(c) : null;
    },
    streaming: bodyLimit({ maxSize: maxBytes, onError: tooLarge }),
  };
}
