import { playwright } from "@vitest/browser-playwright";
import { defineProject } from "vitest/config";

// Real IndexedDB in Debian's Chromium (no browser download works on the build machines).
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export default defineProject({
  test: {
    name: "browser",
    include: ["test/browser/**/*.test.ts"],
    testTimeout: 60_000,
    browser: {
      enabled: true,
      headless: true,
      instances: [{ browser: "chromium" }],
      provider: playwright({ launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args } }),
    },
  },
});
