/**
 * What a driver passes to {@link runQueueConformance}, and what each conformance section gets.
 * @module
 */
import type { JobQueue, RetentionOptions } from "../../core/index.ts";

/**
 * A test runner's registration function: vitest's or Bun's `test`, or, for Deno's runner, a one-line
 * adapter that passes the name and the function on (test/deno/ shows one).
 */
export type TestFunction = (name: string, fn: () => Promise<void>) => unknown;

/** How a driver plugs into the conformance suite. */
export interface QueueConformanceOptions {
  /** The runner's test/it function; every conformance test is registered through it. */
  test: TestFunction;
  /**
   * The runner's `expect`, when it has one. The built-in sections assert with their own helpers
   * (they throw {@link AssertionError}), so runners without `expect` (Deno) work unchanged.
   */
  expect?: unknown;
  /** Driver name, prefixed to every test name (default "queue"). */
  name?: string;
  /** A fresh, EMPTY queue (isolated store) per call. */
  createQueue: () => JobQueue | Promise<JobQueue>;
  /**
   * Optional: a second, independent handle on the SAME store as `queue` (two tabs, two stubs,
   * two processes). When given, the suite also checks that concurrent claims through both
   * handles never share a job.
   */
  openSecondHandle?: (queue: JobQueue) => JobQueue | Promise<JobQueue>;
  /** Releases a queue made by createQueue or openSecondHandle (default: `queue.close()`). */
  disposeQueue?: (queue: JobQueue) => Promise<void>;
  /**
   * Optional: a fresh, empty queue with this retention policy. When given, the suite checks
   * that a finished job younger than `maxAgeMs` among the newest `maxCount` is never removed,
   * that jobs far past a bound are gone once the next job finishes, and that DEAD_LETTER and
   * FAILED jobs are never removed.
   */
  createQueueWithRetention?: (retention: Required<RetentionOptions>) => JobQueue | Promise<JobQueue>;
  /**
   * The store implements the operations of the port (setPaused, progress, bulk, listPage, and
   * cancel of a running job): registers the operations section. Default false while the built-in
   * stores adopt them.
   */
  operations?: boolean;
  /**
   * The store implements `countWaiting` (JobService's `maxWaitingJobs` needs it): registers the
   * quota section. Default true (every built-in store has it); false for a store without it.
   */
  countWaiting?: boolean;
}

/** What a section function receives: registration helpers bound to one driver. */
export interface ConformanceSuite {
  /** The caller's options (capabilities included), as given. */
  readonly options: QueueConformanceOptions;
  /** The driver name used as the test-name prefix. */
  readonly name: string;
  /** Registers a test that runs `body` with a fresh queue and disposes it afterwards. */
  it(title: string, body: (queue: JobQueue) => Promise<void>): void;
  /** Registers a test as is (for tests that make their own queues); the title gets the prefix. */
  test(title: string, fn: () => Promise<void>): void;
  /** Releases a queue (the caller's disposeQueue, or `queue.close()`). */
  dispose(queue: JobQueue): Promise<void>;
}

/** One part of the suite (queue port, operations, flow control, ...), in its own file. */
export type ConformanceSection = (suite: ConformanceSuite) => void;
