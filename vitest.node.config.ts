import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "node",
    include: ["test/node/**/*.test.ts", "test/types/**/*.test.ts"],
    testTimeout: 60_000,
    typecheck: { enabled: true, include: ["test/types/**/*.test.ts"], tsconfig: "./tsconfig.json" },
  },
});
