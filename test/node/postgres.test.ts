/**
 * PostgresJobQueue beyond the conformance suite, on the test run's PostgreSQL: leases on the
 * database's clock (skewed machines), LISTEN/NOTIFY wake-ups across connections and after a
 * dropped connection, migrations under the advisory lock, index use of the claim, typed errors.
 */
import postgres from "postgres";
import { afterAll, afterEach, expect, test } from "vitest";
import { JobStatus, PorticoError, StorageError, type JobQueue } from "../../src/core/index.ts";
import { PostgresJobQueue, type PostgresJobQueueOptions } from "../../src/drivers/postgres/index.ts";
import { makeJob } from "../../src/testing/index.ts";
import { PG_MIGRATIONS } from "../../src/drivers/sql/pg-schema.ts";
import { claimPlan, testDatabaseUrl } from "../postgres/harness.ts";

const url = testDatabaseUrl((n) => process.env[n]);
const admin = postgres(url, { max: 2, onnotice: () => {}, connection: { application_name: "portico-test-admin" } });
const open: JobQueue[] = [];
const schemas: string[] = [];
afterEach(async () => {
  for (const q of open.splice(0)) await q.close();
  for (const s of schemas.splice(0)) await admin.unsafe(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
});
afterAll(() => admin.end({ timeout: 5 }));

const freshSchema = () => {
  const s = `t_${crypto.randomUUID().replace(/-/g, "")}`;
  schemas.push(s);
  return s;
};
const queueOn = (schema: string, options: PostgresJobQueueOptions = {}) => {
  const q = new PostgresJobQueue({ url, max: 4 }, { schema, ...options });
  open.push(q);
  return q;
};
const HOUR = 3_600_000;
const claimReq = (now: number, leaseMs = 60_000) => ({ queues: ["default"], limit: 1, leaseMs, workerId: "w", now });

test("leases run on the database's clock: a machine an hour ahead cannot take a live lease, one an hour behind still reclaims an expired one", async () => {
  const schema = freshSchema();
  const a = queueOn(schema);
  const ahead = queueOn(schema);
  const now = Date.now();
  const job = makeJob({ runAt: new Date(now - HOUR * 2), createdAt: new Date(now - HOUR * 2) });
  await a.enqueue([job]);
  const [held] = await a.claim(claimReq(now, 60_000));
  expect(held?.jobId).toBe(job.id);
  // On the caller's clock this worker would see the lease as long expired.
  expect(await ahead.claim(claimReq(now + HOUR))).toEqual([]);
  // extendLease from a machine an hour behind still extends on the database's clock.
  const behind = queueOn(schema);
  expect(await behind.extendLease(held!, 1, now - HOUR)).toBe(true);
  // 1 ms of database time later the lease has run out, whatever the callers' clocks say.
  let reclaimed: Awaited<ReturnType<JobQueue["claim"]>> = [];
  for (let i = 0; i < 200 && reclaimed.length === 0; i++) reclaimed = await behind.claim(claimReq(now - HOUR));
  expect(reclaimed[0]?.jobId).toBe(job.id);
  expect(await a.complete(held!, null, now)).toBe(false);
});

test("with leaseClock 'caller' the caller's clock decides (what the conformance suite's fake clock needs), which is why it is not the default", async () => {
  const schema = freshSchema();
  const a = queueOn(schema, { leaseClock: "caller" });
  const ahead = queueOn(schema, { leaseClock: "caller" });
  const now = Date.now();
  await a.enqueue([makeJob({ runAt: new Date(now), createdAt: new Date(now) })]);
  const [held] = await a.claim(claimReq(now));
  const [stolen] = await ahead.claim(claimReq(now + HOUR));
  expect(stolen?.jobId).toBe(held?.jobId);
});

test("nextWakeAt gives a database-clock lease expiry in the caller's own time", async () => {
  const schema = freshSchema();
  const q = queueOn(schema);
  const skewed = Date.now() + HOUR;
  await q.enqueue([makeJob({ runAt: new Date(0), createdAt: new Date(0) })]);
  await q.claim(claimReq(skewed, 60_000));
  const wake = await q.nextWakeAt(["default"], skewed);
  expect(wake).not.toBeNull();
  // About one lease from the caller's now (not an hour off); the slack covers the round trips.
  expect(wake!).toBeGreaterThan(skewed + 60_000 - 30_000);
  expect(wake!).toBeLessThanOrEqual(skewed + 60_000 + 1_000);
});

test("a subscriber wakes on another connection's enqueue (LISTEN/NOTIFY), and again after its listening connection was dropped", async () => {
  const schema = freshSchema();
  const a = queueOn(schema);
  const b = queueOn(schema, { listen: false });
  await Promise.all([a.ready(), b.ready()]);
  let onWake: () => void = () => {};
  const unsubscribe = a.subscribe(() => onWake());
  const woken = () => new Promise<void>((resolve) => (onWake = resolve));
  // The LISTEN is in place once the first (re)listen wake arrives.
  await woken();
  let next = woken();
  await b.enqueue([makeJob()]);
  await next; // only a NOTIFY from b's INSERT can wake a
  // Drop every LISTEN connection of the server; the client re-listens and wakes once, then NOTIFYs arrive again.
  next = woken();
  await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'listen %' AND pid <> pg_backend_pid()`;
  await next;
  next = woken();
  await b.enqueue([makeJob()]);
  await next;
  unsubscribe();
});

test("processes opening together migrate once, under the advisory lock; reopening applies nothing", async () => {
  const schema = freshSchema();
  const queues = Array.from({ length: 4 }, () => queueOn(schema));
  await Promise.all(queues.map((q) => q.ready()));
  const rows = await admin.unsafe(`SELECT version FROM "${schema}".schema_version`);
  const versions = PG_MIGRATIONS.map((m) => m.version);
  expect(versions.length).toBeGreaterThanOrEqual(5);
  expect(rows.map((r) => r.version)).toEqual(versions);
  await queueOn(schema).ready();
  expect((await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".schema_version`))[0]!.n).toBe(versions.length);
  const indexes = (await admin`SELECT indexname FROM pg_indexes WHERE schemaname = ${schema} ORDER BY indexname`).map((r) => r.indexname);
  expect(indexes).toEqual(["flow_gates_pkey", "flow_gates_wake", "flow_starts_key", "flow_used_pkey", "jobs_debounce", "jobs_finished_keyed", "jobs_finished_plain", "jobs_id_key", "jobs_idem", "jobs_key_running", "jobs_leases", "jobs_parked", "jobs_pkey", "jobs_ready", "jobs_ready_gated", "jobs_waiting", "paused_queues_pkey", "schema_version_pkey"]);
});

test("a claim over a backlog walks jobs_ready and jobs_leases, never the table", async () => {
  const schema = freshSchema();
  const q = queueOn(schema);
  const jobs = Array.from({ length: 5_000 }, (_, i) => makeJob({ priority: i % 5, runAt: new Date(1_000 + i), createdAt: new Date(1_000) }));
  for (let i = 0; i < jobs.length; i += 500) await q.enqueue(jobs.slice(i, i + 500));
  await q.claim({ queues: ["default"], limit: 50, leaseMs: 60_000, workerId: "w", now: 10_000 });
  await admin.unsafe(`ANALYZE "${schema}".jobs`);
  const plan = await claimPlan(admin, schema, "default");
  expect(plan).toMatch(/jobs_ready/);
  expect(plan).toMatch(/jobs_leases/);
  expect(plan).not.toMatch(/Seq Scan on jobs/);
});

test("right after a bulk load (no statistics yet) the claim walks jobs_ready by itself: no sort over the table, a bounded number of rows read", async () => {
  const { pgStatements } = await import("../../src/drivers/sql/pg-statements.ts");
  type PlanNode = { "Node Type": string; "Relation Name"?: string; "Actual Rows": number; "Actual Loops": number; Plans?: PlanNode[] };
  const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];
  const sortsOverJobs = (plan: PlanNode) => nodes(plan).filter((n) => n["Node Type"] === "Sort" && nodes(n).some((c) => c["Relation Name"] === "jobs" && c["Actual Rows"] > 0));
  const rowsFromJobs = (plan: PlanNode) =>
    nodes(plan).filter((n) => n["Relation Name"] === "jobs").reduce((sum, n) => sum + n["Actual Rows"] * n["Actual Loops"], 0);
  /** A fresh schema loaded with 100,000 due jobs and no statistics; `index` replaces jobs_waiting first. */
  const loaded = async (index?: string) => {
    const schema = freshSchema();
    const q = queueOn(schema);
    await q.ready();
    // No ANALYZE, by hand or by autovacuum, between the load and the claim.
    await admin.unsafe(`ALTER TABLE "${schema}".jobs SET (autovacuum_enabled = false)`);
    if (index) await admin.unsafe(`DROP INDEX "${schema}".jobs_waiting; CREATE INDEX jobs_waiting ON "${schema}".jobs ${index}`);
    const at = new Date(1_000);
    const jobs = Array.from({ length: 100_000 }, () => makeJob({ runAt: at, createdAt: at }));
    for (let i = 0; i < jobs.length; i += 2_000) await q.enqueue(jobs.slice(i, i + 2_000));
    expect((await admin`SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = ${schema} AND tablename = 'jobs'`)[0]!.n).toBe(0);
    // The claim exactly as the queue sends it: one statement, no plan settings.
    const claim = pgStatements(`"${schema}"`, "database").claim;
    const plan = await admin.begin(async (tx) => {
      const [r] = await tx.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${claim}`, [10_000, "x", 60_000, "default", 50] as never[]);
      await tx`ROLLBACK AND CHAIN`;
      return (r!["QUERY PLAN"] as { Plan: PlanNode }[])[0]!.Plan;
    });
    return { q, jobs, plan };
  };
  // At most limit rows from each walk, and the updates.
  const { q, jobs, plan } = await loaded();
  expect(sortsOverJobs(plan)).toEqual([]);
  expect(rowsFromJobs(plan)).toBeLessThanOrEqual(3 * 50);
  // And the queue itself claims in claim order from the loaded table.
  const claimed = await q.claim({ queues: ["default"], limit: 50, leaseMs: 60_000, workerId: "w", now: 10_000 });
  expect(claimed.map((c) => c.jobId)).toEqual(jobs.slice(0, 50).map((j) => j.id));
  // With jobs_waiting as it was before schema version 5 this planner sorts every waiting row (the
  // bug the version guards against), so the checks above can fail.
  const before = (await loaded("(queue, wake_at) WHERE token IS NULL AND wake_at IS NOT NULL")).plan;
  expect(sortsOverJobs(before).length + (rowsFromJobs(before) > 1_000 ? 1 : 0)).toBeGreaterThan(0);
}, 180_000);

test("an unreachable server is a StorageError naming the operation; bad options are refused naming the field", async () => {
  const dead = new PostgresJobQueue({ url: "postgres://postgres@127.0.0.1:1/postgres" }, { schema: freshSchema() });
  open.push(dead);
  const error = await dead.ready().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe("storage_error");
  expect((error as Error).message).toMatch(/PostgresJobQueue\.open failed \(the connection to PostgreSQL failed/);
  await expect(dead.claim(claimReq(Date.now()))).rejects.toThrow(StorageError);
  expect(() => new PostgresJobQueue({ url }, { schema: "bad name" })).toThrow(/schema must be an SQL identifier/);
  expect(() => new PostgresJobQueue({ url }, { leaseClock: "wall" as never })).toThrow(/leaseClock/);
  expect(() => new PostgresJobQueue({} as never)).toThrow(PorticoError);
});

test("a queue on your own client leaves it open on close; a dropped connection costs one failed call at most, then work resumes", async () => {
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const schema = freshSchema();
  const q = new PostgresJobQueue({ sql }, { schema });
  await q.enqueue([makeJob({ runAt: new Date(0) }), makeJob({ runAt: new Date(0) })]);
  await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'postgres.js' AND state = 'idle'`;
  let claimed = await q.claim(claimReq(Date.now())).catch((e: unknown) => e);
  if (claimed instanceof Error) {
    expect(claimed).toBeInstanceOf(StorageError);
    claimed = await q.claim(claimReq(Date.now()));
  }
  expect(claimed as unknown[]).toHaveLength(1);
  expect((await q.stats()).byStatus).toMatchObject({ pending: 1, running: 1 });
  await q.close();
  expect((await sql`SELECT 1 AS one`)[0]!.one).toBe(1);
  // (end() without a timeout waits forever on a pool that had a connection terminated by the server)
  await sql.end({ timeout: 1 });
});

test("concurrent completions go out together: fewer statements than calls, each lease checked as alone (stale and repeated ones refused)", async () => {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  const statements: string[] = [];
  const unsafe = sql.unsafe;
  (sql as { unsafe: typeof unsafe }).unsafe = ((text: string, ...rest: never[]) => {
    statements.push(text);
    return unsafe(text, ...rest);
  }) as typeof unsafe;
  const q = new PostgresJobQueue({ sql }, { schema: freshSchema(), leaseClock: "caller" });
  const jobs = Array.from({ length: 40 }, () => makeJob({ runAt: new Date(0) }));
  await q.enqueue(jobs);
  const claimed = await q.claim({ queues: ["default"], limit: 40, leaseMs: 10_000, workerId: "w", now: 1_000 });
  expect(claimed).toHaveLength(40);
  // Every lease has run out by 20_000; one job is taken again, so its first lease is stale.
  const [again] = await q.claim({ queues: ["default"], limit: 1, leaseMs: 10_000, workerId: "w", now: 20_000 });
  const stale = claimed.find((c) => c.jobId === again?.jobId)!;
  const live = claimed.filter((c) => c !== stale);
  statements.length = 0;
  const results = await Promise.all([
    ...live.map((c, i) => q.complete(c, { i }, 20_001)),
    q.complete(stale, { stale: true }, 20_001),
    q.complete(live[0]!, { twice: true }, 20_001),
    q.complete({ jobId: live[1]!.jobId, token: "forged.1" }, null, 20_001),
  ]);
  expect(results.slice(0, 39)).toEqual(Array(39).fill(true));
  expect(results.slice(39)).toEqual([false, false, false]);
  const completes = statements.filter((s) => /SET status = 'completed'/.test(s));
  expect(completes.length).toBeLessThan(5);
  expect((await q.get(live[0]!.jobId))?.result).toEqual({ i: 0 });
  expect((await q.get(stale.jobId))?.status).toBe("running");
  expect((await q.stats()).byStatus.completed).toBe(39);
  await q.close();
  await sql.end({ timeout: 1 });
});

test("a connection killed in the middle of a batch enqueue stores none of it; the call fails typed and a retry stores it whole", async () => {
  const schema = freshSchema();
  const q = queueOn(schema);
  await q.ready();
  // A trigger that stalls the INSERT on one marked row, so the statement is surely mid-way when killed.
  await admin.unsafe(`CREATE FUNCTION "${schema}".stall() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.payload LIKE '%"stall":true%' THEN PERFORM pg_sleep(30); END IF; RETURN NEW; END $$`);
  await admin.unsafe(`CREATE TRIGGER stall BEFORE INSERT ON "${schema}".jobs FOR EACH ROW EXECUTE FUNCTION "${schema}".stall()`);
  const batch = Array.from({ length: 50 }, (_, i) => makeJob({ payload: { i, stall: i === 40 } }));
  const pending = q.enqueue(batch).catch((e: unknown) => e);
  let pid: number | undefined;
  while (pid === undefined) {
    const [row] = await admin`SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE ${`%INSERT INTO "${schema}"%`}`;
    pid = row?.pid as number | undefined;
  }
  await admin`SELECT pg_terminate_backend(${pid})`;
  const error = await pending;
  expect(error).toBeInstanceOf(StorageError);
  expect((error as Error).message).toMatch(/applied fully or not at all/);
  expect((await admin.unsafe(`SELECT count(*)::int AS n FROM "${schema}".jobs`))[0]!.n).toBe(0);
  await admin.unsafe(`DROP TRIGGER stall ON "${schema}".jobs`);
  const results = await q.enqueue(batch);
  expect(results.every((r) => r.created)).toBe(true);
  expect((await q.stats()).total).toBe(50);
});

test("a { url } queue passes `client` options to the client it makes (a Worker's socket, a connection name); `max` stays its own", async () => {
  const schema = freshSchema();
  const name = `portico-client-${crypto.randomUUID().slice(0, 8)}`;
  let sockets = 0;
  const net = await import("node:net");
  const q = new PostgresJobQueue(
    {
      url,
      max: 1,
      // `max` here is ignored at run time too (the type leaves it out): the sibling of `url` decides.
      client: { connection: { application_name: name }, ...({ max: 50 } as object), socket: (o: { host: string[]; port: number[] }) => (sockets++, net.connect(o.port[0]!, o.host[0]!)) },
    },
    { schema, listen: false },
  );
  open.push(q);
  await q.enqueue([makeJob(), makeJob()]);
  await Promise.all([q.stats(), q.stats(), q.list({})]);
  const [row] = await admin`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ${name}`;
  expect(row!.n).toBe(1);
  expect(sockets).toBe(1);
});

test("a job due before 1970 waits like any other: nextWakeAt and countWaiting see it, and the claim takes it", async () => {
  const q = queueOn(freshSchema(), { leaseClock: "caller" });
  // A Job's times may be any date; epoch ms before 1970 are negative.
  const job = makeJob({ runAt: new Date(-5_000), createdAt: new Date(-6_000) });
  await q.enqueue([job]);
  expect(await q.countWaiting()).toBe(1);
  const wake = await q.nextWakeAt(["default"], 1_000);
  expect(wake).not.toBeNull();
  expect(wake!).toBeLessThanOrEqual(1_000);
  expect((await q.claim(claimReq(1_000))).map((c) => c.jobId)).toEqual([job.id]);
});

test("a schema made at version 4 migrates to the current version: every job stays claimable, in claim order, and nextWakeAt sees the waiting ones", async () => {
  const schema = freshSchema();
  const first = queueOn(schema, { leaseClock: "caller" });
  const due = Array.from({ length: 20 }, (_, i) => makeJob({ priority: i % 3, runAt: new Date(1_000 + i), createdAt: new Date(1_000) }));
  const later = makeJob({ runAt: new Date(50_000), createdAt: new Date(1_000), scheduledAt: new Date(50_000), status: JobStatus.SCHEDULED });
  await first.enqueue([...due, later]);
  await first.close();
  // Back to version 4 by hand: its jobs_waiting (from 38ec415's pg-schema.ts) and no later versions.
  await admin.unsafe(`DROP INDEX "${schema}".jobs_waiting;
    CREATE INDEX jobs_waiting ON "${schema}".jobs (queue, wake_at) WHERE token IS NULL AND wake_at IS NOT NULL;
    DELETE FROM "${schema}".schema_version WHERE version > 4`);
  const q = queueOn(schema, { leaseClock: "caller" });
  await q.ready();
  const versions = (await admin.unsafe(`SELECT version FROM "${schema}".schema_version ORDER BY version`)).map((r) => r.version);
  expect(versions).toEqual(PG_MIGRATIONS.map((m) => m.version));
  const [index] = await admin`SELECT indexdef FROM pg_indexes WHERE schemaname = ${schema} AND indexname = 'jobs_waiting'`;
  expect(index!.indexdef).not.toMatch(/wake_at IS NOT NULL/);
  expect(await q.countWaiting()).toBe(21);
  expect(await q.nextWakeAt(["default"], 500)).toBe(1_000);
  const expected = [...due].sort((a, b) => b.priority - a.priority || a.runAt.getTime() - b.runAt.getTime()).map((j) => j.id);
  const claimed = await q.claim({ queues: ["default"], limit: 100, leaseMs: 60_000, workerId: "w", now: 10_000 });
  expect(claimed.map((c) => c.jobId)).toEqual(expected);
  expect(await q.nextWakeAt(["default"], 10_000)).toBe(50_000);
  expect((await q.claim({ queues: ["default"], limit: 100, leaseMs: 60_000, workerId: "w", now: 50_000 })).map((c) => c.jobId)).toEqual([later.id]);
});
