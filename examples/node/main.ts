/**
 * A small job service on Node: a webhook that accepts jobs with a bearer token, a cron schedule,
 * and two handlers (one of them flaky, so you can watch a retry and a dead-letter). Jobs are
 * stored in ./.portico/jobs.sqlite, or in PostgreSQL when DATABASE_URL is set, and survive
 * restarts. The handlers live in ../shared/demo-service.ts.
 *
 * Run: npm start
 *      env: PORT (default 3000), PORTICO_TOKEN (default a local dev token),
 *           DATABASE_URL (postgres://user:pass@host:port/db: store the jobs there, schema "portico")
 * Stop: Ctrl-C (running jobs finish first)
 */
import { serve } from "portico-jobs/node";
import { PostgresJobQueue } from "portico-jobs/postgres";
import { demoServeOptions, startDemo } from "../shared/demo-service.ts";

const token = process.env.PORTICO_TOKEN ?? "local-dev-token";
const databaseUrl = process.env.DATABASE_URL;
// Any number of processes started with the same DATABASE_URL share its jobs.
const queue = databaseUrl ? new PostgresJobQueue({ url: databaseUrl }) : undefined;
const app = await serve({ ...demoServeOptions(token, Number(process.env.PORT ?? 3000)), queue });
await startDemo(app, token, process.env.PORTICO_TOKEN !== undefined, databaseUrl ? `PostgreSQL at ${redact(databaseUrl)} (DATABASE_URL), schema "portico"` : undefined);

/** The URL without its password, for printing. */
function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
