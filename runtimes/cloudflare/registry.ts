/**
 * Handlers registered by createWorker, read by the Durable Object's alarm. The Worker and its
 * Durable Objects run the same script, so createWorker at module top level fills this in every
 * isolate that may run an alarm.
 */
import type { BackoffOptions, JobHandler, RetentionOptions } from "../../src/core/index.ts";

/** What the alarm needs to run jobs. */
export interface AlarmRuntime {
  handlers: Map<string, JobHandler>;
  /** Lease per claim; a handler running longer than this may run twice (default 30 s). */
  leaseMs: number;
  /** Default handler timeout when a job has none (default 25 s, inside the lease). */
  timeoutMs: number;
  /** Jobs claimed per batch inside one alarm (default 10). */
  batchSize: number;
  backoff: BackoffOptions;
  /** Lost leases after which a job is dead-lettered without running again. */
  maxStalls: number;
  /** Finished jobs kept by the object (createWorker's `queue.retention`), as for RPC completions. */
  retention?: RetentionOptions;
}

let current: AlarmRuntime | null = null;

/** Installs the handlers of this script. */
export function setAlarmRuntime(runtime: AlarmRuntime): void {
  current = runtime;
}

/** The handlers of this script, or null when none were registered (the object then only stores). */
export function getAlarmRuntime(): AlarmRuntime | null {
  return current;
}
