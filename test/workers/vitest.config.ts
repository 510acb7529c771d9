import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

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

// Tests that run inside workerd against the root wrangler.toml (the example Worker and its
// JobQueueDurableObject), so they exercise exactly what `wrangler dev` serves.
export default defineProject({
  plugins: [cloudflareTest({ wrangler: { configPath: fromRoot("wrangler.toml") } })],
  resolve: { alias },
  test: {
    name: "workers",
    root,
    include: ["test/workers/**/*.test.ts"],
    testTimeout: 120_000,
  },
});
