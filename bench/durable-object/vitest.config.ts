import { fileURLToPath } from "node:url";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The Durable Object benchmark runs inside workerd like the tests, but only on demand
// (npm run bench:durable-object), never as part of npm test.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: fileURLToPath(new URL("../../wrangler.toml", import.meta.url)) } })],
  resolve: {
    alias: [
      { find: /^portico-jobs$/, replacement: fileURLToPath(new URL("../../src/core/index.ts", import.meta.url)) },
      { find: /^portico-jobs\/cloudflare$/, replacement: fileURLToPath(new URL("../../runtimes/cloudflare/index.ts", import.meta.url)) },
    ],
  },
  test: {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    include: ["bench/durable-object/**/*.bench-test.ts"],
    testTimeout: 300_000,
  },
});
