/**
 * The root entry point publishes the public API and nothing of the shared machinery: drivers and
 * runtimes import that by relative path, so it can change without breaking users.
 */
import { expect, test } from "vitest";
import * as root from "../../src/core/index.ts";

test("the root export keeps the public names", () => {
  for (const name of [
    "JobStatus", "JOB_STATUSES", "JobService", "WorkerManager", "JobEvent", "JobEventType", "JobTimeoutError", "JobAbortedError",
    "JobStalledError", "UnknownJobTypeError", "JobValidationError", "PorticoError", "StorageError", "silentLogger", "jsonLogger",
    "createJsonLogger", "backoffDelay", "systemClock", "DEFAULT_RETENTION", "isDuplicateJob",
    "NAME_PATTERN", "DEFAULT_MAX_DEPTH", "DEFAULT_MAX_PAYLOAD_BYTES", "JobEventTarget",
  ]) {
    expect(root, name).toHaveProperty(name);
  }
});

test("the root export publishes none of the internals", () => {
  for (const name of [
    "JobIndex", "Heap", "withOwnDates", "toJobRecord", "fromJobRecord", "stallsOf", "checkMaxStalls", "accountedAttempts",
    "failureOutcome", "randomId", "cloneJson", "formatIssuePath", "guardedLogger", "JobRunner", "handlerMap", "foldStats",
  ]) {
    expect(Object.keys(root), name).not.toContain(name);
  }
});
