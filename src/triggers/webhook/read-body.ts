/**
 * Reading a request body within the trigger's limits: its size, its deadline and, for requests
 * not yet authenticated, the shared budget of buffered bytes.
 */
import type { Context } from "hono";
import { declaredLength, tooLarge } from "./body-limit.ts";
import { errorResponse } from "./errors.ts";
import type { Reservation } from "./budget.ts";
import type { CancelReason, OpenRequest } from "./requests.ts";

/** The body, or the answer that refuses it. */
export type BodyRead<T> = { ok: true; body: T } | { ok: false; response: Response };

/** Limits of one read. */
export interface ReadLimits {
  maxBytes: number;
  /** The request's handle: its deadline or the trigger's stop cuts the read short. */
  request: OpenRequest;
  /** For a request not yet authenticated: every byte buffered is taken from the shared budget. */
  reservation?: Reservation;
  bodyTimeoutMs: number;
}

// Each refusal closes the connection, so an unread rest of the body is not waited for.
const CLOSE = { connection: "close" };

function cutShort(reason: CancelReason, limits: ReadLimits): Response {
  return reason === "timeout"
    ? errorResponse("request_timeout", `the request body did not arrive within ${limits.bodyTimeoutMs / 1000} s`, undefined, CLOSE)
    : errorResponse("trigger_stopped", "the webhook trigger stopped while the body was arriving; retry later", undefined, CLOSE);
}

const busy = () =>
  errorResponse("server_busy", "too many request bodies are being checked right now; retry shortly", undefined, { ...CLOSE, "retry-after": "1" });

/** Races a body promise against the request being cut short; a late rejection is swallowed. */
async function race<T>(read: Promise<T>, request: OpenRequest): Promise<{ body: T } | { reason: CancelReason }> {
  read.catch(() => {});
  return Promise.race([read.then((body) => ({ body })), request.cancelled().then((reason) => ({ reason }))]);
}

/**
 * The body as text, for an authenticated request whose Content-Length is within the limit
 * (checked from the header). Uses the runtime's own text(), which on @hono/node-server skips a
 * copy; invalid UTF-8 becomes U+FFFD (JSON.parse then refuses it, or keeps it in a string).
 */
export async function readText(c: Context, limits: ReadLimits): Promise<BodyRead<string>> {
  const out = await race(c.req.raw.text(), limits.request);
  limits.request.bodyDone();
  return "body" in out ? { ok: true, body: out.body } : { ok: false, response: cutShort(out.reason, limits) };
}

/**
 * The body's bytes. With Content-Length the declared size is judged (and reserved) before
 * anything is read; without it, the stream is counted chunk by chunk and refused as soon as it
 * passes `maxBytes` (413) or the budget (503 server_busy, Retry-After 1).
 */
export async function readBytes(c: Context, limits: ReadLimits): Promise<BodyRead<Uint8Array>> {
  try {
    return await read(c, limits);
  } finally {
    limits.request.bodyDone();
  }
}

async function read(c: Context, limits: ReadLimits): Promise<BodyRead<Uint8Array>> {
  const { maxBytes, reservation, request } = limits;
  const declared = declaredLength(c);
  if (declared !== undefined) {
    if (declared > maxBytes) return { ok: false, response: tooLarge(maxBytes, CLOSE) };
    if (reservation && !reservation.take(declared)) return { ok: false, response: busy() };
    const out = await race(c.req.raw.arrayBuffer(), request);
    if (!("body" in out)) return { ok: false, response: cutShort(out.reason, limits) };
    return { ok: true, body: new Uint8Array(out.body) };
  }
  const stream = c.req.raw.body;
  if (!stream) return { ok: true, body: new Uint8Array(0) };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const refuse = (response: Response): BodyRead<Uint8Array> => {
    reader.cancel().catch(() => {});
    return { ok: false, response };
  };
  for (;;) {
    const out = await race(reader.read(), request);
    if (!("body" in out)) return refuse(cutShort(out.reason, limits));
    if (out.body.done) break;
    const chunk = out.body.value;
    size += chunk.length;
    if (size > maxBytes) return refuse(tooLarge(maxBytes, CLOSE));
    if (reservation && !reservation.take(chunk.length)) return refuse(busy());
    chunks.push(chunk);
  }
  if (chunks.length === 1) return { ok: true, body: chunks[0]! };
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return { ok: true, body };
}
