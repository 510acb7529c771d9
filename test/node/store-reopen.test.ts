/**
 * Stored data across a close and reopen: payloads with `__proto__` and `constructor` keys come
 * back as plain data on the unstorage store (fs and memory drivers) and on a SQLite file, leftover
 * temporary files of a killed writer are removed at open, and an unreadable record is moved aside
 * and logged while the rest loads.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { createStorage, type Storage } from "unstorage";
import memoryDriver from "unstorage/drivers/memory";
import { JobService, type Logger } from "../../src/core/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { SqliteJobQueue, type SqliteDatabase } from "../../src/drivers/sqlite/index.ts";
import { atomicFsDriver, TMP_DIR } from "../../runtimes/node/atomic-fs-driver.ts";

const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string) => SqliteDatabase;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "portico-reopen-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function open(storage: Storage, logger?: Logger): UnstorageJobQueue {
  const queue = new UnstorageJobQueue({ storage, lockSettleMs: 5, ...(logger ? { logger } : {}) });
  cleanups.push(() => queue.close());
  return queue;
}

const PAYLOAD_TEXT = '{"__proto__":{"x":1},"constructor":2,"nested":{"__proto__":[1,"a"]}}';

async function roundTrip(makeStorage: () => Storage): Promise<void> {
  const payload: unknown = JSON.parse(PAYLOAD_TEXT);
  const first = open(makeStorage());
  const job = await new JobService({ queue: first }).createJob("t", payload);
  await first.close();
  const second = open(makeStorage());
  const stored = (await second.get(job.id))!.payload as Record<string, unknown>;
  expect(JSON.stringify(stored)).toBe(PAYLOAD_TEXT);
  expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
  expect(Object.prototype.hasOwnProperty.call(stored, "__proto__")).toBe(true);
  expect((stored as { x?: unknown }).x).toBeUndefined();
}

test("__proto__ and constructor payload keys survive close and reopen on the atomic fs driver", async () => {
  const dir = await tempDir();
  await roundTrip(() => createStorage({ driver: atomicFsDriver({ base: dir }) }));
});

test("__proto__ and constructor payload keys survive close and reopen on the memory driver", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  await roundTrip(() => storage);
});

test("records written as plain JSON by the earlier format are still read", async () => {
  const storage = createStorage({ driver: memoryDriver() });
  const first = open(storage);
  const job = await new JobService({ queue: first }).createJob("t", { n: 1 });
  await first.close();
  const [key] = await storage.getKeys("jobs");
  // The earlier format handed the record object to setItem; unstorage stored its JSON text.
  const record = await storage.getItem(key!);
  await storage.setItem(key!, record as Record<string, unknown>);
  expect((await open(storage).get(job.id))?.payload).toEqual({ n: 1 });
});

test("__proto__ and constructor payload keys survive close and reopen on a SQLite file", async () => {
  const dir = await tempDir();
  const path = join(dir, "jobs.sqlite");
  const payload: unknown = JSON.parse(PAYLOAD_TEXT);
  const db1 = new Database(path);
  const first = new SqliteJobQueue({ database: db1 });
  const job = await new JobService({ queue: first }).createJob("t", payload);
  await first.close();
  db1.close();
  const db2 = new Database(path);
  cleanups.push(() => db2.close());
  const second = new SqliteJobQueue({ database: db2 });
  cleanups.push(() => second.close());
  const stored = (await second.get(job.id))!.payload as Record<string, unknown>;
  expect(JSON.stringify(stored)).toBe(PAYLOAD_TEXT);
  expect(Object.getPrototypeOf(stored)).toBe(Object.prototype);
  expect(Object.prototype.hasOwnProperty.call(stored, "__proto__")).toBe(true);
});

test("temporary files a killed writer left in the fs store are removed when the store opens", async () => {
  const dir = await tempDir();
  await mkdir(join(dir, TMP_DIR), { recursive: true });
  const leftover = join(dir, TMP_DIR, "killed-session-0");
  await writeFile(leftover, '{"half":');
  const past = new Date(Date.now() - 3_600_000);
  await utimes(leftover, past, past);
  const queue = open(createStorage({ driver: atomicFsDriver({ base: dir }) }));
  await new JobService({ queue }).createJob("t", { n: 1 });
  expect(await readdir(join(dir, TMP_DIR))).toEqual([]);
  expect(await readdir(join(dir, "jobs"))).toHaveLength(1);
});

test("an unreadable record is moved aside and logged at open, and the rest of the fs store loads", async () => {
  const dir = await tempDir();
  const storage = () => createStorage({ driver: atomicFsDriver({ base: dir }) });
  const first = open(storage());
  const service = new JobService({ queue: first });
  const kept = await service.createJob("t", { n: 1 });
  const cut = await service.createJob("t", { n: 2 });
  const shaped = await service.createJob("t", { n: 3 });
  await first.close();
  const cutText = (await readFile(join(dir, "jobs", cut.id), "utf8")).slice(0, 25);
  await writeFile(join(dir, "jobs", cut.id), cutText);
  await writeFile(join(dir, "jobs", shaped.id), '{"v":2,"job":"not a record"}');

  const warnings: { event: string; fields?: object }[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (event, fields) => warnings.push({ event, fields }), error() {} };
  const second = open(storage(), logger);
  expect((await second.get(kept.id))?.payload).toEqual({ n: 1 });
  expect(await second.get(cut.id)).toBeNull();
  expect((await readdir(join(dir, "jobs"))).sort()).toEqual([kept.id]);
  expect(await readFile(join(dir, "corrupt", "jobs", cut.id), "utf8")).toBe(cutText);
  expect(await readFile(join(dir, "corrupt", "jobs", shaped.id), "utf8")).toBe('{"v":2,"job":"not a record"}');
  expect(warnings.filter((w) => w.event === "unstorage.unreadable_record").map((w) => w.fields).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
    [
      { key: `jobs:${cut.id}`, movedTo: `corrupt:jobs:${cut.id}` },
      { key: `jobs:${shaped.id}`, movedTo: `corrupt:jobs:${shaped.id}` },
    ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
  );
  // The store keeps working, and the next open finds nothing to move.
  await new JobService({ queue: second }).createJob("t", { n: 4 });
  await second.close();
  warnings.length = 0;
  expect((await open(storage(), logger).list({})).map((j) => j.payload)).toEqual([{ n: 1 }, { n: 4 }]);
  expect(warnings).toEqual([]);
});
