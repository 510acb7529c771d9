/**
 * Firing lateness of the schedule trigger against bare setTimeout timers aimed at the same kind
 * of instants, in this process. The trigger fires on whole seconds and the baseline half a second
 * later, so neither delays the other. Lateness = when createJob is called (trigger) or the callback
 * runs (baseline), minus the scheduled instant. The trigger creates real jobs (JobService +
 * MemoryJobQueue); with SCHEDULES schedules per tick, later ones also wait for earlier ones.
 * Run: npx tsx bench/schedule.ts   (BENCH_SECONDS, default 20; BENCH_SCHEDULES, default 10)
 */
import { JobService, silentLogger, type JobCreator } from "../src/core/index.ts";
import { MemoryJobQueue } from "../src/drivers/memory.ts";
import { createScheduleTrigger } from "../src/triggers/schedule/index.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const SCHEDULES = Number(process.env.BENCH_SCHEDULES ?? 10);
const now = () => performance.timeOrigin + performance.now();

const service = new JobService({ queue: new MemoryJobQueue() });
const triggerLateness: number[] = [];
const recording: JobCreator = {
  createJob(jobType, payload, options) {
    const at = now();
    triggerLateness.push(at - Date.parse(String(options?.metadata?.scheduled_time)));
    return service.createJob(jobType, payload, options);
  },
};
const trigger = createScheduleTrigger({
  jobCreator: recording,
  schedules: Array.from({ length: SCHEDULES }, (_, i) => ({ name: `s${i}`, cron: "* * * * * *", jobType: "tick", timezone: "UTC" })),
  logger: silentLogger,
});

const baselineLateness: number[] = [];
const timers = new Set<ReturnType<typeof setTimeout>>();
let stopping = false;
/** A bare timer loop: aim at the next half second (x.500) with setTimeout, record how late the callback runs. */
function baselineLoop(): void {
  const t = Date.now();
  const target = Math.floor((t - 500) / 1000) * 1000 + 1500;
  const h = setTimeout(() => {
    timers.delete(h);
    baselineLateness.push(now() - target);
    if (!stopping) baselineLoop();
  }, target - t);
  timers.add(h);
}

// Warm-up: compile the trigger's and JobService's paths (fire() runs the same tick code) so that
// the first measured ticks are not paying for the JIT.
for (let i = 0; i < 100; i++) await trigger.fire("* * * * * *", new Date(Date.now() - 3_600_000 + i * 1000));
triggerLateness.length = 0;

await trigger.start();
for (let i = 0; i < SCHEDULES; i++) baselineLoop();
await new Promise((r) => setTimeout(r, SECONDS * 1000 + 200));
stopping = true;
await trigger.stop();
for (const h of timers) clearTimeout(h);

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
};
const row = (name: string, xs: number[]) =>
  `| ${name} | ${xs.length} | ${q(xs, 0.5).toFixed(2)} ms | ${q(xs, 0.99).toFixed(2)} ms | ${Math.max(...xs).toFixed(2)} ms |`;

console.log(`\nFiring lateness over ${SECONDS} s, ${SCHEDULES} timers per tick, Node ${process.version}\n`);
console.log("| timer | samples | p50 | p99 | max |");
console.log("|---|---:|---:|---:|---:|");
console.log(row("bare setTimeout (baseline, at x.500 s)", baselineLateness));
console.log(row("schedule trigger -> createJob (at x.000 s)", triggerLateness));
const delta = q(triggerLateness, 0.99) - q(baselineLateness, 0.99);
console.log(`\np99 difference: ${delta >= 0 ? "+" : ""}${delta.toFixed(2)} ms (target: within +2 ms of the baseline).`);
