/** The schedule trigger: validation, lifecycle, fire(), failures, several instances over one store. */
import { afterEach, describe, expect, test, vi } from "vitest";
import { JobService, silentLogger, type CreateJobOptions, type Job, type JobCreator, type Logger } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { createScheduleTrigger, ScheduleConfigError, type ScheduleConfig } from "../../src/triggers/schedule/index.ts";
import { settle, VirtualTime } from "./schedule-helpers.ts";

const T0 = Date.parse("2026-06-01T10:00:00.000Z");
const everyMinute: ScheduleConfig = { name: "tick", cron: "* * * * *", jobType: "tick", timezone: "UTC" };

function setup(schedules: ScheduleConfig[] = [everyMinute], start = T0) {
  const time = new VirtualTime(start);
  const queue = new MemoryJobQueue();
  const service = new JobService({ queue, clock: time.clock });
  const trigger = createScheduleTrigger({ jobCreator: service, schedules, clock: time.clock, timers: time.timers, logger: silentLogger });
  return { time, queue, service, trigger };
}

function captureLogger() {
  const events: { level: string; event: string; fields?: object }[] = [];
  const at = (level: string) => (event: string, fields?: object) => void events.push({ level, event, fields });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, events };
}

describe("configuration is validated at construction", () => {
  const creator: JobCreator = { createJob: async () => ({}) as Job<never> };
  const make = (schedules: ScheduleConfig[], timezone?: string) => () =>
    createScheduleTrigger({ jobCreator: creator, schedules, timezone, logger: silentLogger });

  test.each([
    ["a bad cron expression", [{ name: "bad", cron: "61 * * * *", jobType: "x" }], "bad", "cron"],
    ["a cron string with too many fields", [{ name: "long", cron: "* * * * * * * *", jobType: "x" }], "long", "cron"],
    ["an unknown time zone", [{ name: "tz", cron: "0 9 * * *", jobType: "x", timezone: "Mars/Olympus_Mons" }], "tz", "timezone"],
    ["a duplicate name", [{ name: "dup", cron: "0 9 * * *", jobType: "x" }, { name: "dup", cron: "0 10 * * *", jobType: "y" }], "dup", "name"],
    ["an empty job type", [{ name: "nojob", cron: "0 9 * * *", jobType: "" }], "nojob", "jobType"],
    ["a job type off the name pattern", [{ name: "badtype", cron: "0 9 * * *", jobType: "daily report" }], "badtype", "jobType"],
    ["a queue name off the name pattern", [{ name: "badq", cron: "0 9 * * *", jobType: "x", queueName: "a/b" }], "badq", "queueName"],
    ["a fractional priority", [{ name: "prio", cron: "0 9 * * *", jobType: "x", priority: 1.5 }], "prio", "priority"],
    ["a negative maxRetries", [{ name: "mr", cron: "0 9 * * *", jobType: "x", maxRetries: -1 }], "mr", "maxRetries"],
    ["a payload that is not JSON", [{ name: "pl", cron: "0 9 * * *", jobType: "x", payload: { at: new Date() } }], "pl", "payload.at"],
    ["a missing name", [{ cron: "0 9 * * *", jobType: "x" } as ScheduleConfig], "schedules[0]", "name"],
  ] as const)("%s", (_label, schedules, schedule, field) => {
    const build = make(schedules as unknown as ScheduleConfig[]);
    expect(build).toThrow(ScheduleConfigError);
    try {
      build();
    } catch (err) {
      expect(err).toMatchObject({ code: "invalid_schedule", schedule, field });
      expect((err as Error).message).toContain(schedule);
      expect((err as Error).message).toContain(field);
    }
  });

  test("an unknown trigger-level time zone", () => {
    expect(make([everyMinute], "Nowhere/Special")).toThrow(expect.objectContaining({ code: "invalid_schedule", field: "timezone" }));
  });

  test("an empty schedule list is fine", async () => {
    const trigger = make([])();
    await trigger.start();
    expect(trigger.isRunning).toBe(true);
    await trigger.stop();
  });
});

describe("lifecycle", () => {
  test("start and stop are idempotent; one timer for all schedules; nothing runs after stop", async () => {
    const { time, trigger, service } = setup([everyMinute, { name: "five", cron: "*/5 * * * *", jobType: "five", timezone: "UTC" }]);
    expect(trigger.isRunning).toBe(false);
    await trigger.start();
    await trigger.start();
    expect(trigger.isRunning).toBe(true);
    expect(time.pending).toBe(1);
    await time.runUntil(T0 + 10 * 60_000);
    expect((await service.stats()).total).toBe(10 + 2);
    await trigger.stop();
    await trigger.stop();
    expect(trigger.isRunning).toBe(false);
    expect(time.pending).toBe(0);
    await time.runUntil(T0 + 60 * 60_000);
    expect((await service.stats()).total).toBe(12);
    // And it can be started again.
    await trigger.start();
    await time.runUntil(T0 + 61 * 60_000);
    expect((await service.stats()).total).toBe(13);
    await trigger.stop();
  });

  test("runs on the global timers and Date.now by default (fake timers)", async () => {
    vi.useFakeTimers({ now: T0 + 30_000 });
    try {
      const service = new JobService({ queue: new MemoryJobQueue() });
      const trigger = createScheduleTrigger({ jobCreator: service, schedules: [everyMinute], logger: silentLogger });
      await trigger.start();
      await vi.advanceTimersByTimeAsync(3 * 60_000);
      await trigger.stop();
      const ticks = (await service.listJobs()).map((j) => j.metadata.scheduled_time).sort();
      expect(ticks).toEqual(["2026-06-01T10:01:00.000Z", "2026-06-01T10:02:00.000Z", "2026-06-01T10:03:00.000Z"]);
    } finally {
      vi.useRealTimers();
    }
  });

  test("a schedule without a zone uses the trigger's zone", async () => {
    const time = new VirtualTime(Date.parse("2026-06-01T00:00:00Z"));
    const service = new JobService({ queue: new MemoryJobQueue(), clock: time.clock });
    const trigger = createScheduleTrigger({
      jobCreator: service,
      timezone: "Asia/Tokyo",
      schedules: [{ name: "nine", cron: "0 9 * * *", jobType: "x" }],
      clock: time.clock,
      timers: time.timers,
      logger: silentLogger,
    });
    await trigger.start();
    expect(trigger.health().schedules[0]).toMatchObject({ timezone: "Asia/Tokyo", next_run: "2026-06-02T00:00:00.000Z" });
    await time.runUntil(Date.parse("2026-06-02T00:00:01Z"));
    await trigger.stop();
    expect((await service.listJobs()).map((j) => j.metadata.scheduled_time)).toEqual(["2026-06-02T00:00:00.000Z"]);
  });

  test("useTimers: false arms nothing; ticks come only from fire()", async () => {
    const time = new VirtualTime(T0);
    const service = new JobService({ queue: new MemoryJobQueue(), clock: time.clock });
    const trigger = createScheduleTrigger({ jobCreator: service, schedules: [everyMinute], clock: time.clock, timers: time.timers, useTimers: false, logger: silentLogger });
    await trigger.start();
    expect(time.pending).toBe(0);
    await time.runUntil(T0 + 5 * 60_000);
    expect((await service.stats()).total).toBe(0);
    expect(await trigger.fire("* * * * *", new Date(T0 + 5 * 60_000))).toHaveLength(1);
    await trigger.stop();
  });

  test("stop() waits for a job creation in flight", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let created = 0;
    const time = new VirtualTime(T0);
    const slow: JobCreator = {
      async createJob<P>(jobType: string, payload: P, options?: CreateJobOptions) {
        await gate;
        created++;
        return { id: "j1", jobType, payload, idempotencyKey: options?.idempotencyKey ?? null } as Job<P>;
      },
    };
    const trigger = createScheduleTrigger({ jobCreator: slow, schedules: [everyMinute], clock: time.clock, timers: time.timers, logger: silentLogger });
    await trigger.start();
    await time.runUntil(T0 + 60_000);
    let stopped = false;
    const stopping = trigger.stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(created).toBe(1);
  });
});

describe("ticks", () => {
  test("each tick creates one job with the documented key, metadata and options", async () => {
    const { time, trigger, service } = setup([
      { name: "report", cron: "0 */2 * * *", jobType: "report.daily", timezone: "UTC", payload: { kind: "summary" }, queueName: "reports", priority: 5, maxRetries: 7, metadata: { team: "ops" } },
    ]);
    await trigger.start();
    await time.runUntil(T0 + 2 * 3_600_000);
    await trigger.stop();
    const [job, ...rest] = await service.listJobs({ queueName: "reports" });
    expect(rest).toHaveLength(0);
    expect(job).toMatchObject({
      jobType: "report.daily",
      payload: { kind: "summary" },
      queueName: "reports",
      priority: 5,
      maxRetries: 7,
      idempotencyKey: "schedule:report:2026-06-01T12:00:00.000Z",
      metadata: { team: "ops", schedule: "report", scheduled_time: "2026-06-01T12:00:00.000Z", cron: "0 */2 * * *" },
    });
    expect(trigger.health()).toMatchObject({ jobs_created: 1, errors: 0, last_job_created: "2026-06-01T12:00:00.000Z" });
  });

  test("two instances over one store create one job per tick", async () => {
    const time = new VirtualTime(T0);
    const queue = new MemoryJobQueue();
    const triggers = [1, 2].map(() =>
      createScheduleTrigger({
        jobCreator: new JobService({ queue, clock: time.clock }),
        schedules: [everyMinute],
        clock: time.clock,
        timers: time.timers,
        logger: silentLogger,
      }),
    );
    for (const t of triggers) await t.start();
    await time.runUntil(T0 + 5 * 60_000);
    for (const t of triggers) await t.stop();
    const jobs = await queue.list({ limit: 100 });
    expect(jobs).toHaveLength(5);
    expect(new Set(jobs.map((j) => j.idempotencyKey)).size).toBe(5);
    // Each tick was created by exactly one of the instances.
    expect(triggers[0]!.health().jobs_created + triggers[1]!.health().jobs_created).toBe(5);
  });

  test("a stalled process gets one job for the late tick, not a burst, and then runs on time", async () => {
    const { time, trigger, service } = setup();
    await trigger.start();
    // The event loop is blocked for 5 minutes: no timer runs while the clock moves.
    time.now = T0 + 5 * 60_000 + 500;
    await time.runUntil(time.now);
    expect((await service.listJobs()).map((j) => j.metadata.scheduled_time)).toEqual(["2026-06-01T10:01:00.000Z"]);
    await time.runUntil(T0 + 6 * 60_000);
    await trigger.stop();
    expect((await service.listJobs()).map((j) => j.metadata.scheduled_time).sort()).toEqual([
      "2026-06-01T10:01:00.000Z",
      "2026-06-01T10:06:00.000Z",
    ]);
  });

  test("a failed creation is logged, never crashes the trigger, and is retried at the next tick", async () => {
    const time = new VirtualTime(T0);
    const service = new JobService({ queue: new MemoryJobQueue(), clock: time.clock });
    let failNext = 1;
    const flaky: JobCreator = {
      createJob(jobType, payload, options) {
        if (failNext-- > 0) return Promise.reject(new Error("store unavailable"));
        return service.createJob(jobType, payload, options);
      },
    };
    const { logger, events } = captureLogger();
    const trigger = createScheduleTrigger({ jobCreator: flaky, schedules: [everyMinute], clock: time.clock, timers: time.timers, logger });
    await trigger.start();
    await time.runUntil(T0 + 60_000);
    expect(trigger.isRunning).toBe(true);
    expect((await service.stats()).total).toBe(0);
    const failure = events.find((e) => e.event === "schedule_job_failed");
    expect(failure?.level).toBe("error");
    expect(failure?.fields).toMatchObject({ schedule: "tick", scheduled_time: "2026-06-01T10:01:00.000Z" });
    expect(trigger.health().errors).toBe(1);

    await time.runUntil(T0 + 2 * 60_000);
    await trigger.stop();
    const ticks = (await service.listJobs()).map((j) => j.metadata.scheduled_time).sort();
    expect(ticks).toEqual(["2026-06-01T10:01:00.000Z", "2026-06-01T10:02:00.000Z"]);
    expect(trigger.health()).toMatchObject({ jobs_created: 2, errors: 1 });
  });

  test("a creator that throws synchronously does not crash the timer loop either", async () => {
    const time = new VirtualTime(T0);
    let calls = 0;
    const broken: JobCreator = {
      createJob() {
        calls++;
        throw new Error("boom");
      },
    };
    const trigger = createScheduleTrigger({ jobCreator: broken, schedules: [everyMinute], clock: time.clock, timers: time.timers, logger: silentLogger });
    await trigger.start();
    await time.runUntil(T0 + 3 * 60_000);
    expect(trigger.isRunning).toBe(true);
    expect(time.pending).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(3);
    await trigger.stop();
  });
});

describe("fire() for platform clocks", () => {
  afterEach(() => vi.useRealTimers());

  test("creates the jobs of every schedule with that pattern and returns them; works without start()", async () => {
    const { trigger, service } = setup([
      { name: "a", cron: "*/15 * * * *", jobType: "a", timezone: "UTC" },
      { name: "b", cron: " */15  *  * * * ", jobType: "b", timezone: "UTC" },
      { name: "c", cron: "0 * * * *", jobType: "c", timezone: "UTC" },
    ]);
    const at = new Date("2026-06-01T10:15:00.000Z");
    const jobs = await trigger.fire("*/15 * * * *", at);
    expect(jobs.map((j) => j.jobType).sort()).toEqual(["a", "b"]);
    expect(jobs.map((j) => j.idempotencyKey).sort()).toEqual([
      "schedule:a:2026-06-01T10:15:00.000Z",
      "schedule:b:2026-06-01T10:15:00.000Z",
    ]);
    expect((await service.stats()).total).toBe(2);
    expect(await trigger.fire("5 4 * * *", at)).toEqual([]);
    expect((await service.stats()).total).toBe(2);
  });

  test("a slightly late or early platform time maps to the same tick (one job across instances)", async () => {
    const queue = new MemoryJobQueue();
    const make = () =>
      createScheduleTrigger({ jobCreator: new JobService({ queue }), schedules: [{ name: "m", cron: "*/5 * * * *", jobType: "m", timezone: "UTC" }], logger: silentLogger });
    const [a, b, c] = [make(), make(), make()];
    const [ja] = await a.fire("*/5 * * * *", new Date("2026-06-01T10:05:00.000Z"));
    const [jb] = await b.fire("*/5 * * * *", new Date("2026-06-01T10:05:00.350Z"));
    const [jc] = await c.fire("*/5 * * * *", new Date("2026-06-01T10:04:59.800Z"));
    expect(ja!.idempotencyKey).toBe("schedule:m:2026-06-01T10:05:00.000Z");
    expect(jb!.id).toBe(ja!.id);
    expect(jc!.id).toBe(ja!.id);
    expect((await queue.stats()).total).toBe(1);
    expect(a.health().jobs_created + b.health().jobs_created + c.health().jobs_created).toBe(1);
  });

  test("rejects an invalid scheduledTime with a TypeError", async () => {
    const { trigger } = setup();
    await expect(trigger.fire("* * * * *", new Date("nope"))).rejects.toThrow(TypeError);
  });
});
