import { defineConfig } from "vitest/config";

// One project per environment; each project's config lives next to its tests.
export default defineConfig({
  test: {
    projects: [
      "./test/node/vitest.config.ts",
      "./test/types/vitest.config.ts",
      "./test/browser/vitest.config.ts",
      "./test/workers/vitest.config.ts",
      "./test/package/vitest.config.ts",
    ],
  },
});
