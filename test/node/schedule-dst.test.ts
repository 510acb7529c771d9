/**
 * The schedule trigger across the DST transitions of 2026 in four zones, with the host in yet
 * another zone. Time is virtual: the trigger's own timer loop runs against an injected clock and
 * timers, and jobs land in a real JobService + MemoryJobQueue.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { JobService, silentLogger, type Job } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { createScheduleTrigger } from "../../src/triggers/schedule/index.ts";
import { localDate, localTime, VirtualTime } from "./schedule-helpers.ts";

const HOST_TZ = "Asia/Kolkata"; // +05:30 all year, unlike every zone under test
let savedTz: string | undefined;
beforeAll(() => {
  savedTz = process.env.TZ;
  process.env.TZ = HOST_TZ;
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

const DAY = 86_400_000;
const DAILY = { d2330: "30 23 * * *", d0030: "30 0 * * *", d0130: "30 1 * * *", d0230: "30 2 * * *" } as const;

interface Case {
  zone: string;
  /** The local date of the transition. */
  day: string;
  /** Transition-day ticks: schedule name -> exact instant (first occurrence / first valid time after the gap). */
  expected: Partial<Record<keyof typeof DAILY, string>>;
}

const cases: Case[] = [
  // 02:00 EST -> 03:00 EDT: 02:30 does not exist and runs at 03:00 EDT.
  { zone: "America/New_York", day: "2026-03-08", expected: { d0130: "2026-03-08T06:30:00.000Z", d0230: "2026-03-08T07:00:00.000Z" } },
  // 02:00 EDT -> 01:00 EST: 01:30 happens twice and runs at the first (EDT) one.
  { zone: "America/New_York", day: "2026-11-01", expected: { d0130: "2026-11-01T05:30:00.000Z", d0230: "2026-11-01T07:30:00.000Z" } },
  // 01:00 GMT -> 02:00 BST: 01:30 does not exist and runs at 02:00 BST.
  { zone: "Europe/London", day: "2026-03-29", expected: { d0130: "2026-03-29T01:00:00.000Z", d0230: "2026-03-29T01:30:00.000Z" } },
  // 02:00 BST -> 01:00 GMT: 01:30 happens twice, first one (BST).
  { zone: "Europe/London", day: "2026-10-25", expected: { d0130: "2026-10-25T00:30:00.000Z", d0230: "2026-10-25T02:30:00.000Z" } },
  // 03:00 AEDT -> 02:00 AEST: 02:30 happens twice, first one (AEDT).
  { zone: "Australia/Sydney", day: "2026-04-05", expected: { d0130: "2026-04-04T14:30:00.000Z", d0230: "2026-04-04T15:30:00.000Z" } },
  // 02:00 AEST -> 03:00 AEDT: 02:30 does not exist, runs at 03:00 AEDT.
  { zone: "Australia/Sydney", day: "2026-10-04", expected: { d0130: "2026-10-03T15:30:00.000Z", d0230: "2026-10-03T16:00:00.000Z" } },
  // Chile moves at midnight: 24:00 -> 23:00 on Saturday 4 April, so 23:30 happens twice (first: -03).
  { zone: "America/Santiago", day: "2026-04-04", expected: { d2330: "2026-04-05T02:30:00.000Z", d0130: "2026-04-04T04:30:00.000Z", d0230: "2026-04-04T05:30:00.000Z" } },
  // 00:00 -> 01:00 on Sunday 6 September: 00:30 does not exist, runs at 01:00 (-03).
  { zone: "America/Santiago", day: "2026-09-06", expected: { d0030: "2026-09-06T04:00:00.000Z", d0130: "2026-09-06T04:30:00.000Z", d0230: "2026-09-06T05:30:00.000Z" } },
];

const isoDay = (day: string, offsetDays: number) => new Date(Date.parse(`${day}T00:00:00Z`) + offsetDays * DAY);

describe.each(cases)("$zone around $day (host TZ Asia/Kolkata)", ({ zone, day, expected }) => {
  let jobs: Job[];
  let pendingAfterStop: number;

  beforeAll(async () => {
    expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(-330); // the host zone really is Kolkata
    const time = new VirtualTime(isoDay(day, -2));
    const service = new JobService({ queue: new MemoryJobQueue(), clock: time.clock });
    const trigger = createScheduleTrigger({
      jobCreator: service,
      // Schedules without a zone would use Tokyo: each one below overrides it.
      timezone: "Asia/Tokyo",
      schedules: [
        ...Object.entries(DAILY).map(([name, cron]) => ({ name, cron, jobType: "daily", timezone: zone })),
        { name: "hourly-utc", cron: "0 * * * *", jobType: "hourly", timezone: "UTC" },
      ],
      clock: time.clock,
      timers: time.timers,
      logger: silentLogger,
    });
    await trigger.start();
    await time.runUntil(isoDay(day, 3));
    await trigger.stop();
    pendingAfterStop = time.pending;
    jobs = await service.listJobs({ limit: 10_000 });
  });

  const ticksOf = (name: string) => jobs.filter((j) => j.metadata.schedule === name).map((j) => String(j.metadata.scheduled_time));

  test("every daily schedule fires exactly once on each local day, at its wall time or right after a gap", () => {
    const dates = [-1, 0, 1].map((d) => new Date(Date.parse(`${day}T12:00:00Z`) + d * DAY).toISOString().slice(0, 10));
    for (const [name, cron] of Object.entries(DAILY)) {
      const ticks = ticksOf(name);
      for (const date of dates) {
        const onDate = ticks.filter((t) => localDate(t, zone) === date);
        expect(onDate, `${name} on ${date}`).toHaveLength(1);
        const wall = `${cron.split(" ")[1]!.padStart(2, "0")}:${cron.split(" ")[0]}`;
        const exception = date === day ? expected[name as keyof typeof DAILY] : undefined;
        if (exception) expect(onDate[0], `${name} on ${date}`).toBe(exception);
        else expect(localTime(onDate[0]!, zone), `${name} on ${date}`).toBe(wall);
      }
      expect(new Set(ticks).size, `${name} fired twice for one tick`).toBe(ticks.length);
    }
  });

  test("transition-day ticks are the first occurrence, or the first valid time after the gap", () => {
    for (const [name, iso] of Object.entries(expected)) {
      expect(ticksOf(name), name).toContain(iso);
    }
  });

  test("an hourly UTC schedule fires 24 times on each UTC day, never twice in an hour", () => {
    const ticks = ticksOf("hourly-utc");
    for (const d of [-1, 0, 1]) {
      const date = isoDay(day, d).toISOString().slice(0, 10);
      const onDate = ticks.filter((t) => t.startsWith(date));
      expect(onDate, date).toHaveLength(24);
      expect(new Set(onDate.map((t) => t.slice(11, 13))).size).toBe(24);
    }
  });

  test("each job carries its tick's idempotency key and metadata, and was created at its tick", () => {
    const keys = jobs.map((j) => j.idempotencyKey);
    expect(new Set(keys).size).toBe(jobs.length);
    for (const j of jobs) {
      const tick = String(j.metadata.scheduled_time);
      expect(j.idempotencyKey).toBe(`schedule:${j.metadata.schedule}:${tick}`);
      expect(j.createdBy).toBe("schedule");
      // Virtual time: created at the tick itself, never before.
      expect(j.createdAt.toISOString()).toBe(tick);
    }
    expect(pendingAfterStop).toBe(0);
  });
});
