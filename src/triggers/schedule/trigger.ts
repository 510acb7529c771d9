/** createScheduleTrigger: a JobTrigger that creates one job per cron tick, DST-aware (croner). */
import {
  isDuplicateJob,
  jsonLogger,
  systemClock,
  type Clock,
  type Job,
  type JobCreator,
  type JobTrigger,
  type Logger,
} from "../../core/index.ts";
import { HealthCounters, type TriggerHealth } from "../health.ts";
import { normalizePattern, resolveSchedules, type ResolvedSchedule, type ScheduleConfig } from "./config.ts";

/** Timer functions; injectable so a test or a platform can own time. */
export interface ScheduleTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link createScheduleTrigger}. */
export interface ScheduleTriggerOptions {
  jobCreator: JobCreator;
  schedules: ScheduleConfig[];
  /** Default IANA zone of the schedules (each schedule's own `timezone` wins); default: the host's. */
  timezone?: string;
  logger?: Logger;
  /** Current time in epoch ms; default Date.now. */
  clock?: Clock;
  /** Default: the global setTimeout/clearTimeout, looked up at each call. */
  timers?: ScheduleTimers;
  /**
   * false: start() arms no timers and ticks come only from {@link ScheduleTrigger.fire}
   * (a platform clock such as Workers scheduled() or Deno's cron). Default true.
   */
  useTimers?: boolean;
}

/** Health plus, per schedule, its zone and next tick. */
export interface ScheduleTriggerHealth extends TriggerHealth {
  schedules: { name: string; cron: string; timezone: string; next_run: string | null }[];
}

/** The schedule trigger. */
export interface ScheduleTrigger extends JobTrigger {
  start(): Promise<void>;
  /** Disarms the timers and waits for job creations in flight. */
  stop(): Promise<void>;
  readonly isRunning: boolean;
  /**
   * Creates the jobs of every schedule whose pattern equals `cron` (whitespace-insensitive) for the
   * tick at `scheduledTime` (snapped to the pattern's tick at or just before it, so a platform's
   * slightly late time still yields the shared idempotency key). Works whether or not the trigger
   * is started. Failures are logged, not thrown; the jobs created (or found) are returned.
   */
  fire(cron: string, scheduledTime: Date): Promise<Job[]>;
  /** Next tick of each schedule after `from` (default now). */
  nextRuns(from?: Date): Record<string, Date | null>;
  health(): ScheduleTriggerHealth;
}

// Long waits are cut into slices so that a wall-clock jump (NTP, suspend) is noticed within a minute.
const MAX_SLEEP_MS = 60_000;
// How early a timer may wake and still count as on time.
const TIMER_SLACK_MS = 2;
// A platform clock may deliver a tick this much early; it still belongs to the coming tick.
const EARLY_TOLERANCE_MS = 1_000;

const defaultTimers: ScheduleTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

interface Entry {
  s: ResolvedSchedule;
  /** The next tick, while the timers run. */
  next: Date | null;
  /** The last tick whose creation failed; retried before the next tick's job. */
  failedTick: Date | null;
}

/**
 * Creates the schedule trigger. Each tick of a schedule creates one job with idempotency key
 * `schedule:${name}:${tick.toISOString()}` and metadata `{ schedule, scheduled_time, cron }`, so
 * several instances over one store create one job per tick. DST: a fixed-time schedule (e.g.
 * `30 2 * * *`) runs once a day, after the gap when its time does not exist and at the first
 * occurrence when it exists twice (croner's rules, as Vixie cron).
 * @throws {ScheduleConfigError} for a bad pattern, zone, duplicate name or field
 */
export function createScheduleTrigger(options: ScheduleTriggerOptions): ScheduleTrigger {
  if (!options || typeof options.jobCreator?.createJob !== "function") {
    throw new TypeError("createScheduleTrigger: jobCreator must be an object with a createJob method");
  }
  const entries: Entry[] = resolveSchedules(options.schedules, options.timezone).map((s) => ({
    s,
    next: null,
    failedTick: null,
  }));
  const logger = options.logger ?? jsonLogger;
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? defaultTimers;
  const useTimers = options.useTimers ?? true;
  const counters = new HealthCounters();
  const inFlight = new Set<Promise<unknown>>();
  let running = false;

  // One timer serves every schedule: it wakes at the earliest next tick, starts the job
  // creations of all schedules due then, and only afterwards computes their following ticks
  // (zone-aware date maths costs more than starting a createJob).
  let timer: unknown = null;

  function plan(e: Entry, after: number): void {
    e.next = e.s.cron.nextRun(new Date(after));
    if (!e.next) logger.info("schedule_exhausted", { schedule: e.s.name });
  }

  function sleep(): void {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    let earliest = Infinity;
    for (const e of entries) if (e.next && e.next.getTime() < earliest) earliest = e.next.getTime();
    if (earliest === Infinity) return;
    const delay = Math.min(Math.max(earliest - clock(), 0), MAX_SLEEP_MS);
    timer = timers.setTimeout(wake, delay);
  }

  function wake(): void {
    timer = null;
    if (!running) return;
    const now = clock();
    // Long waits are sliced, so a wake may come before anything is due. A timer a hair early
    // (Node's loop clock lags Date.now by up to a millisecond) counts as on time: sleeping again
    // would cost a whole turn of the timer wheel. The job still carries the scheduled instant.
    const due = entries.filter((e) => e.next && e.next.getTime() - now <= TIMER_SLACK_MS);
    const ticks = due.map((e) => e.next!);
    due.forEach((e, i) => track(runTick(e, ticks[i]!)));
    // Ticks missed while the process was stalled are skipped: one job for the late tick, not a burst.
    due.forEach((e, i) => plan(e, Math.max(now, ticks[i]!.getTime())));
    sleep();
  }

  function track<T>(p: Promise<T>): Promise<T> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  }

  /** Retries the last failed tick (same key, so never doubled), then creates this tick's job. */
  async function runTick(e: Entry, tick: Date): Promise<Job | null> {
    const retry = e.failedTick;
    if (retry && retry.getTime() !== tick.getTime()) {
      e.failedTick = null;
      logger.info("schedule_retrying_failed_tick", { schedule: e.s.name, scheduled_time: retry.toISOString() });
      await create(e, retry);
    }
    return create(e, tick);
  }

  async function create(e: Entry, tick: Date): Promise<Job | null> {
    const { s } = e;
    const iso = tick.toISOString();
    try {
      const job = await options.jobCreator.createJob(s.config.jobType, structuredClone(s.payload), {
        queueName: s.config.queueName,
        priority: s.config.priority,
        maxRetries: s.config.maxRetries,
        createdBy: "schedule",
        idempotencyKey: `schedule:${s.name}:${iso}`,
        metadata: { ...s.metadata, schedule: s.name, scheduled_time: iso, cron: s.pattern },
      });
      if (e.failedTick?.getTime() === tick.getTime()) e.failedTick = null;
      if (isDuplicateJob(job)) {
        logger.debug("schedule_job_exists", { schedule: s.name, scheduled_time: iso, job_id: job.id });
      } else {
        counters.created(clock());
        logger.info("schedule_job_created", { schedule: s.name, scheduled_time: iso, job_id: job.id, job_type: s.config.jobType });
      }
      return job;
    } catch (err) {
      counters.failed();
      if (!e.failedTick || e.failedTick.getTime() < tick.getTime()) e.failedTick = tick;
      logger.error("schedule_job_failed", {
        schedule: s.name,
        scheduled_time: iso,
        error: err,
        retry_at: e.next && running ? e.next.toISOString() : "next fire",
      });
      return null;
    }
  }

  /** The tick a platform means by `time`: the pattern's tick at or before it, or just after it. */
  function snap(e: Entry, time: Date): Date {
    const t = time.getTime();
    const next = e.s.cron.nextRun(new Date(t - 1));
    if (next && next.getTime() - t <= EARLY_TOLERANCE_MS) return next;
    // previousRuns includes a run earlier in the same second as the reference.
    const [prev] = e.s.cron.previousRuns(1, new Date(t + 1));
    return prev ?? new Date(Math.floor(t / 1000) * 1000);
  }

  return {
    async start() {
      if (running) return;
      running = true;
      if (useTimers) {
        const now = clock();
        for (const e of entries) plan(e, now);
        sleep();
      }
      logger.info("schedule_trigger_started", {
        schedules: entries.map((e) => ({ name: e.s.name, cron: e.s.pattern, timezone: e.s.timezone, next_run: e.next?.toISOString() ?? null })),
      });
    },
    async stop() {
      if (!running) return;
      running = false;
      if (timer !== null) timers.clearTimeout(timer);
      timer = null;
      for (const e of entries) e.next = null;
      await Promise.allSettled([...inFlight]);
      logger.info("schedule_trigger_stopped", {});
    },
    get isRunning() {
      return running;
    },
    async fire(cron, scheduledTime) {
      if (!(scheduledTime instanceof Date) || Number.isNaN(scheduledTime.getTime())) {
        throw new TypeError("fire(cron, scheduledTime): scheduledTime must be a valid Date");
      }
      const pattern = normalizePattern(String(cron));
      const matching = entries.filter((e) => e.s.pattern === pattern);
      if (matching.length === 0) {
        logger.warn("schedule_fire_unmatched", { cron: pattern, known: entries.map((e) => e.s.pattern) });
        return [];
      }
      const jobs = await Promise.all(matching.map((e) => track(runTick(e, snap(e, scheduledTime)))));
      return jobs.filter((j): j is Job => j !== null);
    },
    nextRuns(from) {
      const at = from ?? new Date(clock());
      return Object.fromEntries(entries.map((e) => [e.s.name, e.s.cron.nextRun(at)]));
    },
    health() {
      return {
        ...counters.snapshot(running),
        schedules: entries.map((e) => ({
          name: e.s.name,
          cron: e.s.pattern,
          timezone: e.s.timezone,
          next_run: (e.next ?? e.s.cron.nextRun(new Date(clock())))?.toISOString() ?? null,
        })),
      };
    },
  };
}
