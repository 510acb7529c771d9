/**
 * The typed handler registry: from a handler list (array or record) to the job types it
 * handles and each one's payload type. Types only; JobService uses them to check createJob
 * calls at compile time.
 */
import type { HandlerList } from "./handlers.ts";
import type { CreateJobOptions } from "./job.ts";
import type { JobHandler } from "./ports.ts";

/** The payload type of one handler. */
export type HandlerPayload<H> = H extends JobHandler<infer P, any> ? P : never;

/**
 * job type -> payload type of a handler list. A list is keyed by each handler's `jobType` (a
 * literal when the handler was declared `as const` or inline; a handler typed
 * `JobHandler<P>` has `jobType: string`, so it adds a string key carrying its payload); a
 * record is keyed by its keys, as at run time.
 */
export type PayloadMap<H> = H extends readonly (infer E)[]
  ? { [T in E extends { readonly jobType: infer J extends string } ? J : never]: HandlerPayload<Extract<E, { readonly jobType: T }>> }
  : { [K in keyof H & string]: HandlerPayload<H[K]> };

/**
 * `Then` for an untyped registry (no handlers, or `any`), `Else` for a handler list. It
 * switches the untyped createJob overload off where the registry knows the types.
 */
export type Untyped<H, Then, Else = never> = 0 extends 1 & H ? Then : [H] extends [HandlerList] ? Else : Then;

/** The job types of a handler list, as a union; `string` when the registry is untyped. */
export type JobTypeOf<H> = Untyped<H, string, keyof PayloadMap<H> & string>;

/** The payload type for job type `T` of a handler list (`unknown` when untyped). */
export type PayloadOf<H, T extends string> = Untyped<H, unknown, T extends keyof PayloadMap<H> ? PayloadMap<H>[T] : never>;

/** The payload parameter for job type `T`: the handler's payload type, or the argument's own type when that is `unknown`. */
export type PayloadArg<H, T extends string, P> = unknown extends PayloadOf<H, T> ? P : PayloadOf<H, T>;

/** One entry of createJobs: for a handler list, a union discriminated by the job type. */
export type JobSpecOf<H> = Untyped<
  H,
  { jobType: string; payload: unknown; options?: CreateJobOptions },
  { [T in JobTypeOf<H>]: { jobType: T; payload: PayloadOf<H, T>; options?: CreateJobOptions } }[JobTypeOf<H>]
>;
