/**
 * Handlers registered by createWorker, read by the Durable Object's alarm. The Worker and its
 * Durable Objects run the same script, so createWorker at module top level fills this in every
 * isolate that may run an alarm.
 */
import type { AlarmRuntime } from "../../src/drivers/durable-object/index.ts";

let current: AlarmRuntime | null = null;

/** Installs the handlers of this script. */
export function setAlarmRuntime(runtime: AlarmRuntime): void {
  current = runtime;
}

/** The handlers of this script, or null when none were registered (the object then only stores). */
export function getAlarmRuntime(): AlarmRuntime | null {
  return current;
}
