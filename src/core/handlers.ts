/** Handler lists: the two forms users pass (a list or a record) and the one way they are keyed. */
import type { JobHandler } from "./ports.ts";

/** Handlers as a list (each keyed by its `jobType`) or a record keyed by job type. */
export type HandlerList = readonly JobHandler<any, any>[] | Readonly<Record<string, JobHandler<any, any>>>;

/**
 * The handlers by job type: a list is keyed by each handler's `jobType`, a record by its own
 * keys (so `{ "mail.send": h }` routes "mail.send" to `h` whatever `h.jobType` says). Every
 * runner and JobService key handlers through this, so one record routes the same everywhere.
 */
export function handlerMap(handlers: HandlerList): Map<string, JobHandler<any, any>> {
  if (Array.isArray(handlers)) return new Map((handlers as readonly JobHandler<any, any>[]).map((h) => [h.jobType, h]));
  return new Map(Object.entries(handlers as Record<string, JobHandler<any, any>>));
}
