/** Test helpers for the schedule trigger: a virtual clock with timers, and zone formatting. */
import type { ScheduleTimers } from "../../src/triggers/schedule/index.ts";

/** Virtual time: the trigger's clock and timers, advanced explicitly, never sleeping. */
export class VirtualTime {
  now: number;
  #seq = 0;
  #timers = new Map<number, { at: number; seq: number; fn: () => void }>();
  /** Every delay the trigger asked for, in order. */
  readonly delays: number[] = [];

  constructor(start: number | Date) {
    this.now = typeof start === "number" ? start : start.getTime();
  }

  readonly clock = (): number => this.now;

  readonly timers: ScheduleTimers = {
    setTimeout: (fn, ms) => {
      const id = ++this.#seq;
      this.delays.push(ms);
      this.#timers.set(id, { at: this.now + Math.max(0, ms), seq: id, fn });
      return id;
    },
    clearTimeout: (id) => {
      this.#timers.delete(id as number);
    },
  };

  get pending(): number {
    return this.#timers.size;
  }

  /** Runs every timer due up to `until` in time order, letting promises settle after each. */
  async runUntil(until: number | Date): Promise<void> {
    const end = typeof until === "number" ? until : until.getTime();
    for (;;) {
      let next: { id: number; at: number; seq: number; fn: () => void } | null = null;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = { id, ...t };
      }
      if (!next) break;
      this.#timers.delete(next.id);
      this.now = Math.max(this.now, next.at);
      next.fn();
      await settle();
    }
    this.now = Math.max(this.now, end);
    await settle();
  }
}

/** Lets queued promise chains (createJob through a JobService and a memory queue) finish. */
export async function settle(): Promise<void> {
  // Job creation through JobService + MemoryJobQueue is all microtasks: one macrotask turn drains it.
  await new Promise<void>((r) => setImmediate(r));
}

/** Local calendar date (YYYY-MM-DD) of an instant in a zone. */
export function localDate(instant: Date | string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(instant));
}

/** Local wall time (HH:MM) of an instant in a zone. */
export function localTime(instant: Date | string, timeZone: string): string {
  return new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(instant));
}
