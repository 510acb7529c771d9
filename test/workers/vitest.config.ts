import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";
import { workerdPeer } from "../postgres/workerd-peer.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

// The example imports the public entry points; point each at its source (as tsconfig paths do),
// from the one subpath map.
const entries = JSON.parse(readFileSync(fromRoot("entry-points.json"), "utf8")).entries as Record<string, { source: string }>;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const alias = Object.entries(entries).map(([subpath, { source }]) => ({
  find: new RegExp(`^${escape(subpath === "." ? "portico-jobs" : `portico-jobs/${subpath.slice(2)}`)}$`),
  replacement: fromRoot(source),
}));

// The test run's PostgreSQL (scripts/test.sh exports it) as a Hyperdrive binding, which is what
// `localConnectionString` gives under `wrangler dev`. Miniflare wants a password in the URL; a
// trust-auth server never asks for it, so a placeholder stands in when the URL has none. Without
// the URL there is no binding, and test/workers/postgres.test.ts fails saying so.
const pgUrl = process.env.PORTICO_TEST_PG_URL;
const hyperdriveUrl = (() => {
  if (!pgUrl) return null;
  const url = new URL(pgUrl);
  if (!url.password) url.password = "unused";
  return url.toString();
})();

// Tests that run inside workerd against the root wrangler.toml (the example Worker and its
// JobQueueDurableObject), so they exercise exactly what `wrangler dev` serves; plus the
// PostgreSQL binding and its Node-side peer (a service bound to a function in this process).
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: fromRoot("wrangler.toml") },
      miniflare: {
        ...(hyperdriveUrl ? { hyperdrives: { HYPERDRIVE: hyperdriveUrl } } : {}),
        serviceBindings: { NODE_PEER: workerdPeer(pgUrl) },
      },
    }),
  ],
  resolve: { alias },
  test: {
    name: "workers",
    root,
    include: ["test/workers/**/*.test.ts"],
    testTimeout: 120_000,
  },
});
