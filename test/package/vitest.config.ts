import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

const root = fileURLToPath(new URL("../..", import.meta.url));

// The package as users get it: the packed tarball in fresh projects, and every TypeScript block
// of the README and docs compiled. Slow steps (npm install, tsc) run in child processes.
export default defineProject({
  test: {
    name: "package",
    root,
    include: ["test/package/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 240_000,
  },
});
