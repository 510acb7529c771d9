/**
 * portico-jobs/testing: for driver authors and users' tests. The conformance suite every
 * built-in driver passes (taking the runner's own test/expect), a fake clock, and
 * {@link MemoryJobQueue} as the in-process test double.
 * @module
 */
export { runQueueConformance } from "./conformance/suite.ts";
export type { ConformanceSection, ConformanceSuite, QueueConformanceOptions, TestFunction } from "./conformance/options.ts";
export { AssertionError } from "./conformance/assert.ts";
export { BASE_TIME, makeJob, makeScheduledJob } from "./conformance/fixtures.ts";
export { createFakeClock, type FakeClock } from "./fake-clock.ts";
export { MemoryJobQueue } from "../drivers/memory.ts";
