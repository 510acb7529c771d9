import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../..", import.meta.url));

// Type tests of the public API (expectTypeOf, @ts-expect-error), type-checked with tsconfig.json
// and also run, so a runtime assertion in them counts too.
export default defineProject({
  test: {
    name: "types",
    root,
    include: ["test/types/**/*.test.ts"],
    typecheck: { enabled: true, include: ["test/types/**/*.test.ts"], tsconfig: "./tsconfig.json" },
  },
});
