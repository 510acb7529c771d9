/**
 * End-to-end tests of the offline-first example (examples/browser-offline) in Debian's
 * Chromium, driven by playwright-core: the real page, its service worker, real IndexedDB shared
 * by tabs, and the real server (started as `npm run example:browser` starts it) over loopback HTTP.
 */
import type { ChildProcess } from "node:child_process";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ChaosMode, ExampleServer, ReceivedItem } from "../../examples/browser-offline/server.ts";
import { startExampleServer, stopExampleServer } from "./example-server.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

let browser: Browser;
let child: ChildProcess;
let baseUrl = "";

/** The example server's view of things, read over HTTP. */
interface ServerState {
  items: ReceivedItem[];
  counters: ExampleServer["counters"];
}

const server = {
  get url() {
    return baseUrl;
  },
  async state(): Promise<ServerState> {
    return (await fetch(`${baseUrl}/api/items`)).json() as Promise<ServerState>;
  },
  async chaos(mode: ChaosMode, latencyMs?: number): Promise<void> {
    const res = await fetch(`${baseUrl}/api/chaos`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode, latencyMs }) });
    if (!res.ok) throw new Error(`chaos: ${res.status} ${await res.text()}`);
  },
  async reset(): Promise<void> {
    await fetch(`${baseUrl}/api/reset`, { method: "POST" });
  },
};

beforeAll(async () => {
  ({ baseUrl, child } = await startExampleServer());
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stopExampleServer(child);
}, 30_000);

/** Polls `check` until it returns true; fails with `what` after `timeoutMs` (a hang guard, not a speed check). */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A fresh browser profile (own IndexedDB) with the server reset. */
async function freshContext(): Promise<BrowserContext> {
  await server.reset();
  return browser.newContext();
}

const itemCount = async () => (await server.state()).items.length;

async function openApp(context: BrowserContext, query = ""): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server.url}/${query}`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  return page;
}

const count = async (page: Page, column: "waiting" | "running" | "done" | "dead") =>
  Number(await page.locator(`#col-${column} .count`).textContent());

async function addViaForm(page: Page, text: string): Promise<void> {
  await page.fill("#item-text", text);
  await page.click("#add");
}

const handledHere = (page: Page) => page.evaluate(() => Object.fromEntries(window.porticoExample.handledHere));

test("offline: 20 items across a reload reach the server exactly once when back online", async () => {
  const context = await freshContext();
  try {
    const page = await openApp(context, "?backoff=200");
    // The service worker must hold the page before the network goes away, or the reload fails.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await context.setOffline(true);
    await waitFor("the page to see it is offline", () => page.evaluate(() => !navigator.onLine));
    const texts = Array.from({ length: 20 }, (_, i) => `offline item ${i + 1}`);
    for (const text of texts.slice(0, 10)) await addViaForm(page, text);
    await waitFor("10 waiting items", async () => (await count(page, "waiting")) === 10);

    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === "true");
    expect(await page.locator("#connection").textContent()).toMatch(/offline/);
    for (const text of texts.slice(10)) await addViaForm(page, text);
    await waitFor("20 waiting items", async () => (await count(page, "waiting")) === 20);
    expect((await server.state()).counters.posts).toBe(0);

    await context.setOffline(false);
    await waitFor("20 items on the server", async () => (await itemCount()) === 20);
    await waitFor("20 done in the page", async () => (await count(page, "done")) === 20);

    const { items: received, counters } = await server.state();
    expect(received.map((i) => i.text).sort()).toEqual([...texts].sort());
    expect(received.every((i) => i.saves === 1)).toBe(true);
    expect(counters.accepted).toBe(20);
    expect(new Set(received.map((i) => i.browserJobId)).size).toBe(20);
    expect(await count(page, "waiting")).toBe(0);
    expect(await count(page, "dead")).toBe(0);
  } finally {
    await context.close();
  }
});

test("two tabs drain one queue at once, every job handled once", async () => {
  const context = await freshContext();
  try {
    const [a, b] = [await openApp(context), await openApp(context)];
    await server.chaos("ok", 25); // keeps tab A's two slots busy so tab B has something to take
    const total = 40;
    await a.evaluate((n) => Promise.all(Array.from({ length: n }, (_, i) => window.porticoExample.addItem(`shared ${i}`))).then(() => undefined), total);
    await waitFor(`${total} items on the server`, async () => (await itemCount()) === total);
    await waitFor("both tabs show every job done", async () => (await count(a, "done")) === total && (await count(b, "done")) === total);

    const [ha, hb] = [await handledHere(a), await handledHere(b)];
    const runs = new Map<string, number>();
    for (const h of [ha, hb]) for (const [id, n] of Object.entries(h)) runs.set(id, (runs.get(id) ?? 0) + n);
    expect(runs.size).toBe(total);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect(Object.keys(ha).length).toBeGreaterThan(0);
    expect(Object.keys(hb).length).toBeGreaterThan(0);
    const state = await server.state();
    expect(state.items.every((i) => i.saves === 1)).toBe(true);
    expect(state.counters.accepted).toBe(total);
    expect(state.counters.duplicates).toBe(0);
  } finally {
    await context.close();
  }
});

test("a tab closed mid-job: another tab finishes the job once the lease runs out", async () => {
  const context = await freshContext();
  const lease = 1_500;
  try {
    const a = await openApp(context, `?lease=${lease}`);
    await server.chaos("hold"); // the server takes the request and never answers tab A
    const id = await a.evaluate(() => window.porticoExample.addItem("survivor").then((j) => j.id));
    await waitFor("tab A's request to reach the server", async () => (await server.state()).counters.held === 1);
    const first = await a.evaluate(async (jobId) => {
      const job = await window.porticoExample.queue.get(jobId);
      return { status: job?.status, startedAt: job?.startedAt?.getTime() ?? 0 };
    }, id);
    expect(first.status).toBe("running");

    const b = await openApp(context, `?lease=${lease}`);
    await a.close();
    await server.chaos("ok");
    await waitFor("tab B to finish the job", () =>
      b.evaluate(async (jobId) => (await window.porticoExample.queue.get(jobId))?.status === "completed", id),
    );
    const done = await b.evaluate(async (jobId) => {
      const job = await window.porticoExample.queue.get(jobId);
      return { attempts: job?.attempts, startedAt: job?.startedAt?.getTime() ?? 0 };
    }, id);
    expect(done.attempts).toBe(2);
    // Tab B could only claim the job after tab A's lease ran out.
    expect(done.startedAt).toBeGreaterThanOrEqual(first.startedAt + lease);
    expect((await handledHere(b))[id]).toBe(1);
    const { items } = await server.state();
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ text: "survivor", saves: 1, browserJobId: id });
  } finally {
    await context.close();
  }
});

test("5xx answers are retried, then dead-lettered; the Retry button sends the item", async () => {
  const context = await freshContext();
  try {
    const page = await openApp(context, "?retries=2&backoff=50");
    await server.chaos("fail");
    await addViaForm(page, "stubborn");
    await waitFor("the item to be dead-lettered", async () => (await count(page, "dead")) === 1);
    const before = await server.state();
    expect(before.counters.failedByChaos).toBe(3); // the first attempt and two retries
    expect(before.items).toHaveLength(0);
    await expect(page.locator("#col-dead li .meta").textContent()).resolves.toMatch(/server answered 503/);

    await server.chaos("ok");
    await page.click("#col-dead button.retry");
    await waitFor("the retried item on the server", async () => (await itemCount()) === 1);
    await waitFor("the item done in the page", async () => (await count(page, "done")) === 1);
    expect((await server.state()).items[0]).toMatchObject({ text: "stubborn", saves: 1 });
  } finally {
    await context.close();
  }
});
