/**
 * The default store's fs driver writes through a temporary file and a rename, so a reader (or the
 * next process after a kill) sees either the old record or the new one, never a truncated one.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage, type Driver } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import { afterEach, expect, test } from "vitest";
import { TMP_DIR, atomicFsDriver } from "../../runtimes/node/atomic-fs-driver.ts";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portico-atomic-"));
  dirs.push(dir);
  return dir;
}

/** Rewrites one key with two large values in turn while reading it; returns every torn read. */
async function tornReads(driver: Driver): Promise<number> {
  const storage = createStorage({ driver });
  const a = JSON.stringify({ v: "a".repeat(2_000_000) });
  const b = JSON.stringify({ v: "b".repeat(2_000_000) });
  await storage.setItemRaw("jobs:x", a);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 40; i++) await storage.setItemRaw("jobs:x", i % 2 ? a : b);
    writing = false;
  })();
  let torn = 0;
  let reads = 0;
  while (writing) {
    const raw = await storage.getItemRaw("jobs:x");
    const text = raw === null ? "" : Buffer.from(raw as Uint8Array).toString("utf8");
    reads++;
    if (text !== a && text !== b) torn++;
  }
  await writer;
  expect(reads).toBeGreaterThan(0);
  await storage.dispose();
  return torn;
}

test("concurrent readers never see a partly written value", async () => {
  expect(await tornReads(atomicFsDriver({ base: await tempDir() }))).toBe(0);
});

test("the plain fs driver, for comparison, does expose partly written values", async () => {
  // Not a property of ours; it shows that the test above can fail.
  let torn = 0;
  for (let i = 0; i < 10 && torn === 0; i++) torn += await tornReads(fsDriver({ base: await tempDir() }));
  expect(torn).toBeGreaterThan(0);
});

test("values round-trip, keys never include temporary files, and none are left behind", async () => {
  const base = await tempDir();
  const storage = createStorage({ driver: atomicFsDriver({ base }) });
  await storage.setItem("meta", { version: 1 });
  await storage.setItem("jobs:a", { id: "a" });
  await storage.setItem("jobs:a", { id: "a", status: "completed" });
  await storage.setItem("jobs:b", "text");
  expect(await storage.getItem("jobs:a")).toEqual({ id: "a", status: "completed" });
  expect(await storage.getItem("jobs:b")).toBe("text");
  expect((await storage.getKeys()).sort()).toEqual(["jobs:a", "jobs:b", "meta"]);
  expect(await readdir(join(base, TMP_DIR))).toEqual([]);
  await storage.removeItem("jobs:b");
  expect(await storage.getKeys("jobs")).toEqual(["jobs:a"]);
  await expect(storage.setItem("../escape", 1)).rejects.toThrow(/\.\./);
  await storage.dispose();
});
