/**
 * A small job service on Deno: a webhook that accepts jobs with a bearer token, a cron schedule,
 * and two handlers (one of them flaky, so you can watch a retry and a dead-letter). Jobs are
 * stored under ./.portico and survive restarts. The handlers live in ../shared/demo-service.ts.
 *
 * Run: npm run example:deno   (or: deno run -A examples/deno/main.ts)
 *      env: PORT (default 3000), PORTICO_TOKEN (default a local dev token)
 * Stop: Ctrl-C (running jobs finish first)
 */
import { serve } from "portico-jobs/deno";
import { demoServeOptions, startDemo } from "../shared/demo-service.ts";

const token = Deno.env.get("PORTICO_TOKEN") ?? "local-dev-token";
const app = await serve(demoServeOptions(token, Number(Deno.env.get("PORT") ?? 3000)));
await startDemo(app, token, Deno.env.get("PORTICO_TOKEN") !== undefined);
