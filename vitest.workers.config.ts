import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests that run inside workerd against the root wrangler.toml (the example Worker and its
// JobQueueDurableObject), so they exercise exactly what `wrangler dev` serves.
export default defineProject({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  // The example imports the public entry points; point them at the sources (as tsconfig paths do).
  resolve: {
    alias: [
      { find: /^portico-jobs$/, replacement: src("./src/core/index.ts") },
      { find: /^portico-jobs\/cloudflare$/, replacement: src("./runtimes/cloudflare/index.ts") },
      { find: /^portico-jobs\/durable-object$/, replacement: src("./src/drivers/durable-object/index.ts") },
    ],
  },
  test: {
    name: "workers",
    include: ["test/workers/**/*.test.ts"],
    testTimeout: 60_000,
  },
});
