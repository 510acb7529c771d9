/**
 * portico-jobs/dashboard: a web page and its JSON API over a {@link JobService}, as a Hono app
 * that runs on every runtime (Node, Deno, Bun, Workers, a service worker).
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { JobService } from "../core/index.ts";
import { createApi, errorBody } from "./api.ts";
import { CLIENT_SCRIPT } from "./client.ts";
import { renderPage } from "./page.ts";
import { STYLES } from "./styles.ts";

export { statsView, type QueueView } from "./api.ts";

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  jobService: JobService;
  /** Where the page lives (default "/admin"); the API is under `${basePath}/api`. */
  basePath?: string;
  /**
   * `{ bearerToken }`: every API call needs `Authorization: Bearer <token>` (the page asks for
   * it once and keeps it in sessionStorage; no cookies, so no CSRF). `false` must be said
   * explicitly and serves the API to anyone who can reach it.
   */
  auth: { bearerToken: string } | false;
  /** Hide and refuse (403 `read_only`) every mutation. */
  readOnly?: boolean;
  /** How often the event stream checks for fresh stats, in ms (default 2,000). */
  statsIntervalMs?: number;
}

/** The headers of every page response: the page runs only its own script and styles. */
const PAGE_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/**
 * Creates the dashboard: `GET {base}/` is the page, `{base}/api/*` the JSON API (stats, jobs,
 * operations, server-sent events). Mount it with `app.route("/", dashboard)`.
 * @example
 * ```ts
 * const dashboard = createDashboard({ jobService, auth: { bearerToken: env.ADMIN_TOKEN } });
 * export default { fetch: dashboard.fetch };
 * ```
 */
export function createDashboard(options: DashboardOptions): Hono {
  if (!options || typeof options !== "object") throw new TypeError("createDashboard: options are required");
  const { jobService } = options;
  if (!jobService || typeof jobService.getJob !== "function") throw new TypeError("createDashboard: options.jobService must be a JobService");
  const auth = options.auth;
  if (auth === undefined) {
    throw new TypeError("createDashboard: options.auth is required: { bearerToken: string }, or false to serve the dashboard without authentication");
  }
  if (auth !== false && (typeof auth !== "object" || auth === null || typeof auth.bearerToken !== "string" || auth.bearerToken.length < 1)) {
    throw new TypeError("createDashboard: options.auth.bearerToken must be a non-empty string");
  }
  const basePath = normaliseBase(options.basePath ?? "/admin");
  const readOnly = options.readOnly === true;
  const statsIntervalMs = options.statsIntervalMs ?? 2_000;
  if (!Number.isSafeInteger(statsIntervalMs) || statsIntervalMs < 50) throw new RangeError(`createDashboard: statsIntervalMs must be an integer >= 50, got ${statsIntervalMs}`);

  const app = new Hono();
  const page = async () => new Response(await renderPage({ basePath, auth: auth !== false, readOnly }), { headers: { "content-type": "text/html; charset=utf-8", ...PAGE_HEADERS } });
  app.get(basePath || "/", page);
  if (basePath) app.get(`${basePath}/`, page);
  app.get(`${basePath}/assets/app.js`, () => asset(CLIENT_SCRIPT, "text/javascript; charset=utf-8"));
  app.get(`${basePath}/assets/app.css`, () => asset(STYLES, "text/css; charset=utf-8"));
  if (auth !== false) app.use(`${basePath}/api/*`, bearer(auth.bearerToken));
  app.route(`${basePath}/api`, createApi({ jobService, readOnly, statsIntervalMs }));
  app.notFound((c) => c.json(errorBody("not_found", `No route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((_error, c) => c.json(errorBody("internal_error", "Internal server error"), 500));
  return app;
}

function asset(text: string, type: string): Response {
  return new Response(text, { headers: { "content-type": type, "x-content-type-options": "nosniff", "cache-control": "no-cache" } });
}

function normaliseBase(basePath: string): string {
  if (typeof basePath !== "string" || (basePath !== "" && !basePath.startsWith("/")) || /[?#\s*:]/.test(basePath)) {
    throw new TypeError(`createDashboard: basePath must be a path such as "/admin", got ${JSON.stringify(basePath)}`);
  }
  return basePath.replace(/\/+$/, "");
}

/** Bearer check of every API call; the token is compared in constant time. */
function bearer(token: string): MiddlewareHandler {
  const expected = new TextEncoder().encode(token);
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!match || !sameBytes(new TextEncoder().encode(match[1]!), expected)) {
      c.header("www-authenticate", 'Bearer realm="portico-jobs dashboard"');
      const message = match ? "The bearer token is not valid" : "An Authorization: Bearer <token> header is required";
      return c.json(errorBody("unauthorized", message), 401);
    }
    await next();
  };
}

/** Equal contents, in a time that depends on the lengths only. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ b[i]!;
  return diff === 0;
}
