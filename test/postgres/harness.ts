/**
 * Shared by the PostgreSQL conformance files of every runtime (Node, Deno, Bun): each queue gets
 * its own fresh schema on the test run's server (PORTICO_TEST_PG_URL), dropped when it is disposed.
 * A missing URL fails the run, never skips it.
 */
import postgres from "postgres";
import type { JobQueue, RetentionOptions } from "../../src/core/index.ts";
import { PostgresJobQueue, type PostgresClientOptions, type PostgresJobQueueOptions } from "../../src/drivers/postgres/index.ts";
import { pgStatements } from "../../src/drivers/sql/pg-statements.ts";
import { makeJob, type QueueConformanceOptions } from "../../src/testing/index.ts";

/** The test server's URL, or an error saying how to get one. */
export function testDatabaseUrl(env: (name: string) => string | undefined): string {
  const url = env("PORTICO_TEST_PG_URL");
  if (!url) {
    throw new Error(
      "PORTICO_TEST_PG_URL is not set: the PostgreSQL tests need a server. `npm test` starts one (scripts/pg-cluster.sh); by hand: `bash scripts/pg-cluster.sh start` and export the url it prints.",
    );
  }
  return url;
}

/** Conformance options for PostgresJobQueue (leases on the caller's clock, so the suite's `now` drives expiry). */
export function postgresConformance(
  url: string,
  extra: Partial<PostgresJobQueueOptions> = {},
  /** Options of every client made (a Worker's socket, in workerd). */
  client: PostgresClientOptions = {},
): Omit<QueueConformanceOptions, "test"> {
  const schemas = new Map<JobQueue, string>();
  const admin = () => postgres(url, { max: 1, onnotice: () => {}, ...(client as object) });
  const make = (schema: string, retention?: RetentionOptions) => {
    const queue = new PostgresJobQueue({ url, max: 4, client }, { schema, leaseClock: "caller", retention, ...extra });
    schemas.set(queue, schema);
    return queue;
  };
  const fresh = (retention?: RetentionOptions) => make(`t_${crypto.randomUUID().replace(/-/g, "")}`, retention);
  return {
    createQueue: () => fresh(),
    operations: true,
    createQueueWithRetention: (retention) => fresh(retention),
    openSecondHandle: (queue) => make(schemas.get(queue)!),
    disposeQueue: async (queue) => {
      await queue.close();
      const schema = schemas.get(queue);
      schemas.delete(queue);
      // The first handle of a schema drops it; a second handle's schema is gone by then or soon.
      if (schema && ![...schemas.values()].includes(schema)) {
        const sql = admin();
        try {
          await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await sql.end();
        }
      }
    },
  };
}

/**
 * A subscriber on one connection wakes on another connection's enqueue (LISTEN/NOTIFY works on
 * this runtime), within the runner's test timeout and never through polling (none runs here).
 */
export async function notifyWakesSubscriber(url: string): Promise<void> {
  const schema = `t_${crypto.randomUUID().replace(/-/g, "")}`;
  const a = new PostgresJobQueue({ url, max: 2 }, { schema });
  const b = new PostgresJobQueue({ url, max: 2 }, { schema, listen: false });
  try {
    await Promise.all([a.ready(), b.ready()]);
    let onWake: () => void = () => {};
    const woken = () => new Promise<void>((resolve) => (onWake = resolve));
    let next = woken();
    const unsubscribe = a.subscribe(() => onWake());
    await next; // the LISTEN is in place
    next = woken();
    const [r] = await b.enqueue([makeJob()]);
    if (!r?.created) throw new Error("enqueue through the second connection created nothing");
    await next;
    unsubscribe();
  } finally {
    await a.close();
    await b.close();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await sql.end();
  }
}

/**
 * The text plan PostgreSQL picks for the plain claim of `queue` in `schema` (EXPLAIN, without the
 * queue's plan settings: what the planner does by itself), in a transaction rolled back after.
 */
export async function claimPlan(admin: postgres.Sql, schema: string, queue: string): Promise<string> {
  const { claim } = pgStatements(`"${schema}"`, "database");
  return admin.begin(async (tx) => {
    const rows = await tx.unsafe(`EXPLAIN ${claim}`, [10_000, "x", 60_000, queue, 10] as never[]);
    await tx`ROLLBACK AND CHAIN`;
    return rows.map((r) => r["QUERY PLAN"] as string).join("\n");
  });
}
