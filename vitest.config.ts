import { defineConfig } from "vitest/config";

// One project per environment; each lives in its own config file.
export default defineConfig({
  test: {
    projects: ["./vitest.node.config.ts", "./vitest.browser.config.ts", "./vitest.workers.config.ts"],
  },
});
