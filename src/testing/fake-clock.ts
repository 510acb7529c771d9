/**
 * A clock that moves only when told, for tests of leases, schedules and retention.
 * @module
 */
import type { Clock } from "../core/index.ts";

/**
 * A controllable {@link Clock}. The object itself is callable as a Clock (`clock()` is
 * `clock.now()`), so it can be passed wherever a `clock` option is taken.
 */
export interface FakeClock extends Clock {
  /** The current fake time in epoch milliseconds. */
  now(): number;
  /** Moves time forward by `ms` (must be >= 0) and returns the new time. */
  advance(ms: number): number;
  /** Sets the time to `time` (epoch ms or a Date); it may move backwards. */
  set(time: number | Date): void;
}

/**
 * Creates a {@link FakeClock} starting at `start` (epoch ms or a Date; default 2100-01-01T00:00:00Z,
 * far from the wall clock, so code that wrongly reads the wall clock shows up in tests).
 */
export function createFakeClock(start: number | Date = Date.UTC(2100, 0, 1)): FakeClock {
  let current = toMs(start, "start");
  const clock = (() => current) as FakeClock;
  clock.now = () => current;
  clock.advance = (ms: number) => {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance(ms): ms must be a finite number >= 0, got ${ms}`);
    current += ms;
    return current;
  };
  clock.set = (time: number | Date) => {
    current = toMs(time, "time");
  };
  return clock;
}

function toMs(time: number | Date, field: string): number {
  const ms = time instanceof Date ? time.getTime() : time;
  if (typeof ms !== "number" || !Number.isFinite(ms)) throw new RangeError(`${field} must be a finite epoch ms or a valid Date, got ${String(time)}`);
  return ms;
}
