/**
 * The Node side of test/workers/postgres.test.ts, bound into workerd as the NODE_PEER service
 * (test/workers/vitest.config.ts): a PostgresJobQueue on Node, on the same schema as the Worker.
 *   POST /take?schema=S&id=ID  -> { seen, claimed, completed }: reads the job, claims it, completes it
 *   GET  /connections?name=N   -> { open }: the server's connections with that application_name
 *   POST /drop?schema=S        -> drops the schema
 */
import postgres from "postgres";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";

export function workerdPeer(url: string | undefined): (request: Request) => Promise<Response> {
  return async (request) => {
    if (!url) return Response.json({ error: "PORTICO_TEST_PG_URL is not set" }, { status: 500 });
    const params = new URL(request.url).searchParams;
    const path = new URL(request.url).pathname;
    try {
      if (path === "/take") {
        const queue = new PostgresJobQueue({ url, max: 1 }, { schema: params.get("schema")!, listen: false });
        try {
          const seen = await queue.get(params.get("id")!);
          const [claimed] = await queue.claim({ queues: ["default"], limit: 1, leaseMs: 30_000, workerId: "node-peer", now: Date.now() });
          const completed = claimed ? await queue.complete(claimed, { by: "node", echoed: claimed.job.payload }, Date.now()) : false;
          return Response.json({ seen, claimed: claimed?.job ?? null, completed });
        } finally {
          await queue.close();
        }
      }
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        if (path === "/connections") {
          const [row] = await sql`SELECT count(*)::int AS open FROM pg_stat_activity WHERE application_name = ${params.get("name")!}`;
          return Response.json({ open: row!.open });
        }
        if (path === "/drop") {
          await sql.unsafe(`DROP SCHEMA IF EXISTS "${params.get("schema")!.replace(/"/g, '""')}" CASCADE`);
          return Response.json({ dropped: true });
        }
      } finally {
        await sql.end();
      }
      return Response.json({ error: "no route" }, { status: 404 });
    } catch (error) {
      return Response.json({ error: String((error as Error)?.stack ?? error) }, { status: 500 });
    }
  };
}
