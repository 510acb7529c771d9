// Where IndexedDB does not exist (this Node process has no fake-indexeddb), every call fails
// with a typed StorageError that says why, instead of a ReferenceError.
import { expect, test } from "vitest";
import { StorageError } from "../../src/core/index.ts";
import { IndexedDBJobQueue } from "../../src/drivers/indexeddb/index.ts";
import { makeJob } from "../../src/testing/conformance/fixtures.ts";

test("without IndexedDB, calls reject with a StorageError naming the cause", async () => {
  expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe("undefined");
  const q = new IndexedDBJobQueue({ dbName: "nowhere" });
  for (const call of [() => q.enqueue([makeJob()]), () => q.get("x"), () => q.stats()]) {
    const error = await call().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe("storage_error");
    expect((error as Error).message).toMatch(/IndexedDB is not available/);
  }
  await q.close();
});

test("an empty dbName is refused at construction", () => {
  expect(() => new IndexedDBJobQueue({ dbName: "" })).toThrow(StorageError);
});
