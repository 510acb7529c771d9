/**
 * The Worker of postgres.test.ts: its fetch handler reaches PostgreSQL through the HYPERDRIVE
 * binding, with a client (and a queue) per request, as a Worker must: a socket belongs to the
 * request that opened it. `listen: false`, since nothing of a request outlives it to hear a NOTIFY.
 *   POST /jobs?schema=S          body { jobType, payload } -> 202 the job (a `{ url }` queue)
 *   GET  /jobs/:id?schema=S      -> the job, or 404 (a queue on the caller's own `postgres` client)
 */
import postgres from "postgres";
import { JobService } from "../../src/core/index.ts";
import { PostgresJobQueue } from "../../src/drivers/postgres/index.ts";
import { postgresSocket } from "../../runtimes/cloudflare/index.ts";

/** Names the Worker's connections, so the test can see them closed after each request. */
export const APPLICATION_NAME = "portico-workerd-test";

export default {
  async fetch(request: Request, env: Cloudflare.Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const schema = url.searchParams.get("schema") ?? "portico";
    const connection = { application_name: APPLICATION_NAME };
    if (!env.HYPERDRIVE) return Response.json({ error: { code: "no_database", message: "no HYPERDRIVE binding" } }, { status: 500 });
    const { connectionString } = env.HYPERDRIVE;
    if (request.method === "POST" && url.pathname === "/jobs") {
      // The queue makes the client and ends it on close().
      const queue = new PostgresJobQueue(
        { url: connectionString, max: 1, client: { socket: postgresSocket, connection } },
        { schema, listen: false },
      );
      try {
        const { jobType, payload } = (await request.json()) as { jobType: string; payload: unknown };
        const job = await new JobService({ queue }).createJob(jobType, payload);
        return Response.json(job, { status: 202 });
      } finally {
        ctx.waitUntil(queue.close());
      }
    }
    const id = /^\/jobs\/([^/]+)$/.exec(url.pathname)?.[1];
    if (request.method === "GET" && id) {
      // The caller's client: the queue leaves it open, so the Worker ends it.
      const sql = postgres(connectionString, { max: 1, onnotice: () => {}, connection, ...{ socket: postgresSocket } });
      const queue = new PostgresJobQueue({ sql }, { schema, listen: false });
      try {
        const job = await new JobService({ queue }).getJob(id);
        return job ? Response.json(job) : Response.json({ error: { code: "not_found", message: `no job ${id}` } }, { status: 404 });
      } finally {
        ctx.waitUntil(queue.close().then(() => sql.end()));
      }
    }
    return Response.json({ error: { code: "not_found", message: "no route" } }, { status: 404 });
  },
};
