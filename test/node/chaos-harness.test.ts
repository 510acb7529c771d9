// The chaos tests' verdict (chaosFailures) on hand-made reports: each rule it enforces fails
// when broken, so a passing chaos run means the rules held, not that nothing was checked.
import { expect, test } from "vitest";
import { chaosFailures, type ChaosReport } from "../chaos/harness.ts";

function report(over: Partial<ChaosReport> = {}): ChaosReport {
  return {
    byStatus: { completed: 2 },
    statuses: new Map([["a", "completed"], ["b", "completed"]]),
    killed: ["p0-0"],
    inFlightAtKill: new Map([["p0-0", new Set(["a"])]]),
    successes: new Map([["a", ["p0-0", "p1-1"]], ["b", ["p2-2"]]]),
    recorded: new Map([["a", 1], ["b", 1]]),
    starts: 3,
    ...over,
  };
}
const options = { jobs: 2, concurrency: 8 };

test("a clean run passes: a duplicate from the killed process's job in flight is allowed", () => {
  expect(chaosFailures(report(), options)).toEqual([]);
});

test("a lost job, an unfinished job and a job completed without a successful handler each fail", () => {
  expect(chaosFailures(report({ statuses: new Map([["a", "completed"]]) }), options).join()).toMatch(/holds 1 jobs, expected 2/);
  expect(chaosFailures(report({ statuses: new Map([["a", "completed"], ["b", "running"]]) }), options).join()).toMatch(/1 jobs not completed/);
  expect(chaosFailures(report({ successes: new Map([["a", ["p0-0", "p1-1"]]]) }), options).join()).toMatch(/job b is completed but no handler/);
});

test("a job the store recorded completed twice fails", () => {
  expect(chaosFailures(report({ recorded: new Map([["a", 2], ["b", 1]]) }), options).join()).toMatch(/completed twice in the store/);
});

test("a duplicate from processes that were not killed with the job in flight fails, unless duplicates are allowed", () => {
  const live = report({ successes: new Map([["a", ["p0-0", "p1-1"]], ["b", ["p2-2", "p1-1"]]]) });
  expect(chaosFailures(live, options).join()).toMatch(/job b ran to success in p2-2, p1-1, but only none/);
  expect(chaosFailures(live, { ...options, allowAnyDuplicates: true })).toEqual([]);
});

test("more jobs in flight at a kill than the process's concurrency fails", () => {
  const crowded = report({ inFlightAtKill: new Map([["p0-0", new Set(["a", "x", "y"])]]) });
  expect(chaosFailures(crowded, { ...options, concurrency: 2 }).join()).toMatch(/3 jobs in flight at its kill, more than its concurrency 2/);
});
