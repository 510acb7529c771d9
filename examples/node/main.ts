/**
 * A small job service on Node: a webhook that accepts jobs with a bearer token, a cron schedule,
 * and two handlers (one of them flaky, so you can watch a retry and a dead-letter). Jobs are
 * stored under ./.portico and survive restarts. The handlers live in ../shared/demo-service.ts.
 *
 * Run: npm start
 *      env: PORT (default 3000), PORTICO_TOKEN (default a local dev token)
 * Stop: Ctrl-C (running jobs finish first)
 */
import { serve } from "portico-jobs/node";
import { demoServeOptions, startDemo } from "../shared/demo-service.ts";

const token = process.env.PORTICO_TOKEN ?? "local-dev-token";
const app = await serve(demoServeOptions(token, Number(process.env.PORT ?? 3000)));
await startDemo(app, token, process.env.PORTICO_TOKEN !== undefined);
