/**
 * The dashboard page in Debian's Chromium (playwright-core): sign in with the token, see the
 * counts, pause and resume a queue, retry a dead letter and watch it complete, page through 250
 * jobs, and no console errors. A real server (serve() on Node) over loopback HTTP.
 * PORTICO_SCREENSHOT=docs/dashboard.png writes the screenshot the README shows.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { silentLogger, type JobHandler } from "../../src/core/index.ts";
import { MemoryJobQueue } from "../../src/drivers/memory.ts";
import { serve, type ServeHandle } from "../../runtimes/node/index.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];
const TOKEN = "browser-dashboard-token";

let browser: Browser;
let app: ServeHandle;
let fixed = false;

const task: JobHandler<{ fail?: boolean; ms?: number }, { ok: true }> = {
  jobType: "task",
  async handle(job, context) {
    await context.progress(50);
    if (job.payload.ms) await new Promise((r) => setTimeout(r, job.payload.ms));
    if (job.payload.fail && !fixed) throw new Error("the backend is down");
    return { success: true, resultData: { ok: true } };
  },
};

beforeAll(async () => {
  app = await serve({
    handlers: [task],
    queue: new MemoryJobQueue(),
    queues: ["default", "emails"],
    port: 0,
    handleSignals: false,
    logger: silentLogger,
    webhook: false,
    dashboard: { auth: { bearerToken: TOKEN }, statsIntervalMs: 200 },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

async function confirm(page: Page): Promise<void> {
  await page.locator("#confirm[open]").waitFor();
  await page.click("#confirm-ok");
}

test("sign in, counts, pause/resume, retry a dead letter until it completes, 250 jobs in pages, no console errors", async () => {
  const { jobService } = app;
  // History for the charts: completions and a dead letter in "default", a few in "emails".
  for (let i = 0; i < 12; i++) await jobService.createJob("task", {}, { queueName: i % 3 ? "default" : "emails" });
  const dead = await jobService.createJob("task", { fail: true }, { maxRetries: 0, idempotencyKey: "order-1042" });
  expect((await jobService.waitForJob(dead.id, { timeoutMs: 10_000 })).status).toBe("dead_letter");
  // 250 jobs in a queue no worker serves.
  await jobService.createJobs(Array.from({ length: 250 }, (_, i) => ({ jobType: "task", payload: { i }, options: { queueName: "backfill" } })));

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  try {
    await page.goto(app.dashboardUrl!);
    await page.locator("#signin").waitFor();
    await page.fill("#token", "wrong-token");
    await page.click("#signin-form button[type=submit]");
    await expect.poll(() => page.textContent("#signin-error")).toContain("refused");
    // The refused token's 401 is the one error Chromium logs on purpose here.
    expect(problems).toEqual(["Failed to load resource: the server responded with a status of 401 (Unauthorized)"]);
    problems.length = 0;
    await page.fill("#token", TOKEN);
    await page.click("#signin-form button[type=submit]");
    await page.locator("#app").waitFor();
    expect(await page.evaluate(() => document.cookie)).toBe("");

    // Counts per queue.
    const card = page.locator('.queue-card[data-queue="default"]');
    await expect.poll(() => card.locator('[data-status="dead_letter"] b').textContent()).toBe("1");
    await expect.poll(async () => Number(await page.locator('.queue-card[data-queue="backfill"] [data-status="pending"] b').textContent())).toBe(250);
    expect(await card.locator("svg").count()).toBe(2);

    // Pause and resume through the page.
    await card.locator("button.pause").click();
    await confirm(page);
    await card.locator(".badge-paused").waitFor();
    expect((await jobService.stats()).paused).toEqual(["default"]);
    await card.locator("button.resume").click();
    await confirm(page);
    await expect.poll(() => card.getAttribute("data-paused")).toBe("false");
    expect((await jobService.stats()).paused).toEqual([]);

    // Find the dead letter by its idempotency key, retry it, watch it complete (live updates).
    fixed = true;
    await page.fill("#f-search", "order-1042");
    await page.click("#filters button[type=submit]");
    const row = page.locator(`tr[data-id="${dead.id}"]`);
    await expect.poll(() => row.getAttribute("data-status")).toBe("dead_letter");
    await row.locator("button.retry").click();
    await confirm(page);
    await page.locator(`tr[data-id="${dead.id}"][data-status="completed"]`).waitFor({ timeout: 15_000 });
    await row.locator("a.open").click();
    await expect.poll(() => page.textContent('#job-view [data-field="status"]')).toBe("completed");
    expect(await page.textContent('#job-view pre[data-field="progress"]')).toBe("50");

    // Keyset pages through the 250 backfill jobs.
    await page.fill("#f-search", "");
    await page.fill("#f-queue", "backfill");
    await page.click("#filters button[type=submit]");
    const ids = new Set<string>();
    for (let p = 0; p < 5; p++) {
      await expect.poll(() => page.textContent("#page-info")).toBe(`page ${p + 1} · 50 job(s)`);
      for (const id of await page.locator("#job-rows tr").evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.id!))) ids.add(id);
      if (p < 4) await page.click("#next-page");
    }
    expect(ids.size).toBe(250);
    expect(await page.isDisabled("#next-page")).toBe(true);
    // A waiting job's view says why it is not running (no worker takes the backfill queue).
    await page.locator("#job-rows tr a.open").first().click();
    await expect.poll(() => page.textContent('#job-view [data-field="waiting because"]')).toBe("nothing holds it: it waits for a free worker");

    const shot = process.env.PORTICO_SCREENSHOT;
    if (shot) {
      await page.fill("#f-queue", "default");
      await page.click("#filters button[type=submit]");
      await row.waitFor();
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shot, fullPage: false });
    }
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
}, 90_000);
