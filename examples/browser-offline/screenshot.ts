/**
 * Renders docs/browser-offline.png: the example page with items in every column.
 * Run: npx tsx examples/browser-offline/screenshot.ts   (needs /usr/bin/chromium or CHROMIUM_PATH)
 */
import { fileURLToPath } from "node:url";
import { chromium, type Page } from "playwright-core";
import { startExampleServer } from "./server.ts";

const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];
const out = fileURLToPath(new URL("../../docs/browser-offline.png", import.meta.url));

const server = await startExampleServer({ port: 0 });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args });
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 400 } });
  await page.goto(`${server.url}/?retries=1&backoff=100`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  const add = async (text: string) => {
    await page.fill("#item-text", text);
    await page.click("#add");
  };
  const until = (column: string, n: number) =>
    page.waitForFunction(([c, k]) => Number(document.querySelector(`#col-${c} .count`)?.textContent) === k, [column, n] as const);

  for (const text of ["Buy oat milk", "Call the plumber", "Book the train to Lyon"]) await add(text);
  await until("done", 3);
  server.setChaos("fail");
  await add("Renew passport");
  await until("dead", 1);
  server.setChaos("hold");
  for (const text of ["Send invoice #42", "Water the plants"]) await add(text);
  await until("running", 2);
  for (const text of ["Pick up the parcel", "Email Sam about Friday"]) await add(text);
  await until("waiting", 2);
  await settle(page);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.stop();
}

/** Lets the 1 s redraw tick pass so every column shows its final state. */
async function settle(page: Page): Promise<void> {
  await page.waitForTimeout(1_200);
}
