/**
 * runQueueConformance: registers every conformance section for one driver through the caller's
 * test runner. It imports no test framework and no runtime module, so the same suite runs under
 * vitest (Node, workerd, Chromium), `bun test` and `deno test`.
 * @module
 */
import type { JobQueue } from "../../core/index.ts";
import type { ConformanceSuite, QueueConformanceOptions } from "./options.ts";
import { conformanceSections } from "./sections.ts";

/**
 * Registers the driver conformance suite: every rule a queue store must honour, as tests named
 * `<name> conformance: <rule>`. Optional capabilities (a second handle on the same store, a
 * retention policy) add the tests that need them.
 *
 * @example
 * ```ts
 * import { expect, test } from "vitest";
 * import { MemoryJobQueue, runQueueConformance } from "portico-jobs/testing";
 * runQueueConformance({ test, expect, name: "memory", createQueue: () => new MemoryJobQueue() });
 * ```
 */
export function runQueueConformance(options: QueueConformanceOptions): void {
  const name = options.name ?? "queue";
  const dispose = options.disposeQueue ?? ((q: JobQueue) => q.close());
  const test = (title: string, fn: () => Promise<void>): void => {
    options.test(`${name} conformance: ${title}`, fn);
  };
  const suite: ConformanceSuite = {
    options,
    name,
    test,
    dispose,
    it: (title, body) =>
      test(title, async () => {
        const q = await options.createQueue();
        try {
          await body(q);
        } finally {
          await dispose(q);
        }
      }),
  };
  for (const section of conformanceSections) section(suite);
}
