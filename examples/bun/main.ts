/**
 * A small job service on Bun: a webhook that accepts jobs with a bearer token, a cron schedule,
 * and two handlers (one of them flaky, so you can watch a retry and a dead-letter). Jobs are
 * stored under ./.portico and survive restarts. The handlers live in ../shared/demo-service.ts.
 *
 * Run: npm run example:bun   (or: bun examples/bun/main.ts)
 *      env: PORT (default 3000), PORTICO_TOKEN (default a local dev token)
 * Stop: Ctrl-C (running jobs finish first)
 */
import { serve } from "portico-jobs/bun";
import { demoServeOptions, startDemo } from "../shared/demo-service.ts";

const token = Bun.env.PORTICO_TOKEN ?? "local-dev-token";
const app = await serve(demoServeOptions(token, Number(Bun.env.PORT ?? 3000)));
await startDemo(app, token, Bun.env.PORTICO_TOKEN !== undefined);
