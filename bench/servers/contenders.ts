/**
 * The systems the server benchmark compares, behind one small interface: the portico stores
 * (fs, SQLite, PostgreSQL) through JobService and WorkerManager as serve() uses them, BullMQ on
 * Redis and pg-boss on PostgreSQL, each in its documented everyday configuration.
 * Used by the benchmark process and by its child processes alike.
 */
import { rm } from "node:fs/promises";
import { Queue, Worker } from "bullmq";
import PgBoss from "pg-boss";
import postgres from "postgres";
import { JobService, WorkerManager, silentLogger, type JobQueue } from "../../src/core/index.ts";
import { createStorage } from "unstorage";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { SqliteJobQueue } from "../../src/drivers/sqlite/index.ts";
import { UnstorageJobQueue } from "../../src/drivers/unstorage/index.ts";
import { atomicFsDriver } from "../../runtimes/node/atomic-fs-driver.ts";
import { openSqliteDatabase } from "../../runtimes/node/sqlite.ts";

export type Payload = Record<string, unknown>;

/** How to reach one system; plain data, so a child process can open the same one. */
export type ContenderConfig =
  | { kind: "fs"; dir: string }
  | { kind: "sqlite"; path: string }
  | { kind: "postgres"; url: string; schema: string }
  | { kind: "bullmq"; redisPort: number; queue: string }
  | { kind: "pgboss"; url: string; schema: string };

/** Callbacks a worker calls: at each handler start (with the payload) and after each job is done. */
export interface WorkHooks {
  onStart(payload: Payload): void;
  onDone(): void;
}

export interface Contender {
  readonly name: string;
  /** Enqueues the payloads as one batch (one call of the system's batch API). */
  enqueue(payloads: readonly Payload[]): Promise<void>;
  /** Starts a worker of `concurrency` no-op handlers; resolves once it runs. */
  work(concurrency: number, hooks: WorkHooks): Promise<{ stop(): Promise<void> }>;
  /** Ready to claim: the first moment a worker could be served (measured as "open time"). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const JOB_TYPE = "noop";
const DEFAULT_QUEUE = "default";

/** Human label of a config, as the tables print it. */
export function labelOf(config: ContenderConfig): string {
  return { fs: "portico fs", sqlite: "portico sqlite", postgres: "portico postgres", bullmq: "BullMQ", pgboss: "pg-boss" }[config.kind];
}

/** Opens a queue of the portico store; `close` also closes what the queue runs on. */
async function openPorticoQueue(config: ContenderConfig): Promise<{ queue: JobQueue; close(): Promise<void> }> {
  switch (config.kind) {
    case "fs": {
      // The server default before SQLite: one JSON file per job, written atomically.
      const storage = createStorage({ driver: atomicFsDriver({ base: config.dir }) });
      const queue = new UnstorageJobQueue({ storage, logger: silentLogger });
      await queue.open();
      return {
        queue,
        async close() {
          await queue.close();
          await storage.dispose();
        },
      };
    }
    case "sqlite": {
      const database = await openSqliteDatabase(config.path);
      const queue = new SqliteJobQueue({ database });
      return {
        queue,
        async close() {
          await queue.close();
          database.close();
        },
      };
    }
    case "postgres": {
      const queue = new PostgresJobQueue({ url: config.url }, { schema: config.schema });
      return { queue, close: () => queue.close() };
    }
    default:
      throw new Error(`not a portico store: ${config.kind}`);
  }
}

async function portico(config: ContenderConfig): Promise<Contender> {
  const { queue, close } = await openPorticoQueue(config);
  const noop = { jobType: JOB_TYPE, handle: async () => ({ success: true }) };
  const service = new JobService({ queue, handlers: [noop] });
  return {
    name: labelOf(config),
    async enqueue(payloads) {
      await service.createJobs(payloads.map((payload) => ({ jobType: JOB_TYPE, payload })));
    },
    async work(concurrency, hooks) {
      const handler = {
        jobType: JOB_TYPE,
        handle: async (job: { payload: unknown }) => {
          hooks.onStart(job.payload as Payload);
          return { success: true };
        },
      };
      const worker = new WorkerManager({ queue, handlers: [handler], concurrency, logger: silentLogger });
      worker.addEventListener("job:completed", () => hooks.onDone());
      await worker.start();
      return { stop: () => worker.stop({ graceful: true, timeoutMs: 10_000 }) };
    },
    async ready() {
      // One claim answered: the index (fs) is loaded, the schema checked, the connection open.
      const claimed = await queue.claim({ queues: [DEFAULT_QUEUE], limit: 1, leaseMs: 30_000, workerId: "bench-open", now: Date.now() });
      for (const claim of claimed) await queue.release(claim, Date.now());
    },
    close,
  };
}

function bullmq(config: Extract<ContenderConfig, { kind: "bullmq" }>): Contender {
  const connection = { host: "127.0.0.1", port: config.redisPort, maxRetriesPerRequest: null };
  const queue = new Queue(config.queue, { connection });
  // Completed jobs kept like portico's default retention (1,000), so neither grows without bound.
  const opts = { removeOnComplete: 1000 };
  return {
    name: labelOf(config),
    async enqueue(payloads) {
      await queue.addBulk(payloads.map((data) => ({ name: JOB_TYPE, data, opts })));
    },
    async work(concurrency, hooks) {
      const worker = new Worker(config.queue, async (job) => void hooks.onStart(job.data as Payload), { connection, concurrency });
      worker.on("completed", () => hooks.onDone());
      await worker.waitUntilReady();
      return { stop: () => worker.close() };
    },
    async ready() {
      await queue.waitUntilReady();
    },
    close: () => queue.close(),
  };
}

async function pgboss(config: Extract<ContenderConfig, { kind: "pgboss" }>): Promise<Contender> {
  const boss = new PgBoss({ connectionString: config.url, schema: config.schema, supervise: false, schedule: false });
  boss.on("error", (error) => console.error("pg-boss:", error.message));
  await boss.start();
  await boss.createQueue(JOB_TYPE);
  return {
    name: labelOf(config),
    async enqueue(payloads) {
      await boss.insert(payloads.map((data) => ({ name: JOB_TYPE, data })));
    },
    async work(concurrency, hooks) {
      // pg-boss fetches batches and polls (0.5 s is its shortest interval); a batch of
      // `concurrency` jobs is its equivalent of that many at once. It completes the batch,
      // without waiting, once the handler returns: done is counted there.
      const id = await boss.work<Payload>(JOB_TYPE, { batchSize: concurrency, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (const job of jobs) hooks.onStart(job.data);
        for (const _ of jobs) hooks.onDone();
      });
      return { stop: () => boss.offWork({ id }) };
    },
    async ready() {},
    close: () => boss.stop({ graceful: false, wait: true }),
  };
}

/** Opens one contender. */
export async function openContender(config: ContenderConfig): Promise<Contender> {
  if (config.kind === "bullmq") return bullmq(config);
  if (config.kind === "pgboss") return pgboss(config);
  return portico(config);
}

/** Deletes what a config stores, so each scenario starts empty. */
export async function wipe(config: ContenderConfig): Promise<void> {
  switch (config.kind) {
    case "fs":
      return rm(config.dir, { recursive: true, force: true });
    case "sqlite":
      for (const suffix of ["", "-wal", "-shm"]) await rm(config.path + suffix, { force: true });
      return;
    case "postgres":
    case "pgboss": {
      const sql = postgres(config.url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP SCHEMA IF EXISTS "${config.schema}" CASCADE`);
      await sql.end();
      return;
    }
    case "bullmq": {
      const queue = new Queue(config.queue, { connection: { host: "127.0.0.1", port: config.redisPort } });
      await queue.obliterate({ force: true });
      await queue.close();
      return;
    }
  }
}
