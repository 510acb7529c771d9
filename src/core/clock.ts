/** Injectable time, so tests can drive leases and schedules without sleeping. */

/** Returns the current time in epoch milliseconds. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
