import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../..", import.meta.url));

// Node tests: drivers, triggers, core, runtimes' host, chaos. Paths are relative to the repo root.
export default defineProject({
  test: {
    name: "node",
    root,
    include: ["test/node/**/*.test.ts"],
    testTimeout: 60_000,
    // Starts a throwaway PostgreSQL for a hand run that has none (npm test brings its own).
    globalSetup: ["./test/setup/postgres.ts"],
  },
});
