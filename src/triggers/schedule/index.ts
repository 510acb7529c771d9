/**
 * portico-jobs/schedule: cron schedules (croner, IANA time zones) that create one job per tick,
 * deduplicated across instances by idempotency key.
 * @module
 */
export {
  createScheduleTrigger,
  type ScheduleTrigger,
  type ScheduleTriggerOptions,
  type ScheduleTriggerHealth,
  type ScheduleTimers,
} from "./trigger.ts";
export { ScheduleConfigError, type ScheduleConfig } from "./config.ts";
export type { TriggerHealth } from "../health.ts";
