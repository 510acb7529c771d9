import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "node",
    include: ["test/node/**/*.test.ts", "test/types/**/*.test.ts"],
    testTimeout: 60_000,
    // Starts a throwaway PostgreSQL for a hand run that has none (npm test brings its own).
    globalSetup: ["./test/setup/postgres.ts"],
    typecheck: { enabled: true, include: ["test/types/**/*.test.ts"], tsconfig: "./tsconfig.json" },
  },
});
