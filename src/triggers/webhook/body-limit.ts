/** The body-size limit, as far as the headers can tell before anything is read. */
import type { Context } from "hono";
import { errorResponse } from "./errors.ts";

/** The declared length when the request has a usable Content-Length (and no Transfer-Encoding). */
export function declaredLength(c: Context): number | undefined {
  const length = c.req.header("content-length");
  if (length === undefined || c.req.header("transfer-encoding") !== undefined || !/^\d+$/.test(length)) return undefined;
  return Number(length);
}

/** 413 payload_too_large. */
export function tooLarge(maxBytes: number, headers?: Record<string, string>): Response {
  return errorResponse("payload_too_large", `the body exceeds ${maxBytes} bytes`, undefined, headers);
}

/**
 * From the headers alone: 413 when the declared length is over `maxBytes`, null when it fits, or
 * undefined when there is none and the body must be counted as it streams in (read-body.ts). As
 * Hono's bodyLimit judges it, but without touching `request.body`: on @hono/node-server that
 * getter turns the lightweight request into a full Request with a stream, which cut ingest
 * throughput by more than half.
 */
export function sizeByHeader(c: Context, maxBytes: number): Response | null | undefined {
  const declared = declaredLength(c);
  if (declared === undefined) return undefined;
  return declared > maxBytes ? tooLarge(maxBytes) : null;
}
