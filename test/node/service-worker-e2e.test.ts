/**
 * portico-jobs/service-worker in Debian's Chromium (playwright-core): the offline example in
 * service-worker mode, its real service worker woken by Background Sync with every tab closed,
 * real IndexedDB shared by the worker and tabs, and the example server over loopback HTTP.
 *
 * Each test uses its own persistent profile in a temp dir: Background Sync needs one (an
 * incognito context has none), and it keeps the worker and its database across closed tabs.
 *
 * The tests about the worker alone open the page with ?tabWorker=off, so the tab never sends:
 * under load, about one run in forty saw a send from a tab that was emulated offline (Playwright's
 * offline emulation, not a real network loss) reach the server before the tab was closed.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type CDPSession, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, expect, test, vi } from "vitest";
import type { ChaosMode, ExampleServer, PostRecord, ReportedItem } from "../../examples/browser-offline/server.ts";
import { startExampleServer, stopExampleServer } from "./example-server.ts";

// Longer than the waits below add up to, so that a stuck wait names itself in the failure.
vi.setConfig({ testTimeout: 150_000 });

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

let child: ChildProcess;
let baseUrl = "";

/** The example server's state, refreshed by {@link refresh} (the server runs as `npm run example:browser` runs it). */
let state: { items: ReportedItem[]; counters: ExampleServer["counters"]; posts: PostRecord[] } = { items: [], counters: {} as ExampleServer["counters"], posts: [] };

async function refresh(): Promise<typeof state> {
  state = (await (await fetch(`${baseUrl}/api/items`)).json()) as typeof state;
  return state;
}

async function chaos(mode: ChaosMode): Promise<void> {
  const res = await fetch(`${baseUrl}/api/chaos`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode }) });
  if (!res.ok) throw new Error(`chaos: ${res.status} ${await res.text()}`);
}

beforeAll(async () => {
  ({ baseUrl, child } = await startExampleServer());
}, 60_000);

afterAll(async () => {
  await stopExampleServer(child);
}, 30_000);

beforeEach(async () => {
  await fetch(`${baseUrl}/api/reset`, { method: "POST" });
});

/** Polls `check` until it returns true; fails with `what` after `timeoutMs` (a hang guard, not a speed check). */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}; the server saw ${JSON.stringify({ counters: state.counters, posts: state.posts })}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A browser with its own profile dir, removed afterwards. */
async function withProfile(run: (context: BrowserContext) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "portico-sw-"));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: ARGS, headless: true });
  if (process.env.SW_DEBUG) context.on("console", (m) => console.log("console:", m.text()));
  try {
    await run(context);
  } finally {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Opens the example in service-worker mode and waits until its service worker controls it. */
async function openApp(context: BrowserContext, query: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${baseUrl}/?mode=sw&${query}`);
  await page.waitForFunction(() => document.body.dataset.ready === "true");
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    // The registration's active worker must be the service-worker-mode script.
    if (!reg.active?.scriptURL.includes("mode=sw")) throw new Error(`unexpected worker ${reg.active?.scriptURL}`);
  });
  // A run may still be under way after "activated" (seen under load); it stops claiming once the
  // worker sees the browser offline, which goOffline waits for.
  await page.waitForFunction(async () => (await navigator.serviceWorker.ready).active?.state === "activated");
  // Playwright emulates offline only in the workers it has attached to: until then this worker
  // would stay online (and run jobs) while the test believes the browser is offline.
  await waitFor("Playwright to attach to the service worker", () => context.serviceWorkers().some((w) => w.url().includes("mode=sw")));
  return page;
}

/**
 * Takes the browser offline and waits until the page and the service worker both see it (each
 * has its own navigator.onLine, and Playwright sets them one after the other). Every caller
 * opens the page with ?tabWorker=off, so the tab runs no job to stop.
 */
async function goOffline(context: BrowserContext, page: Page): Promise<void> {
  await context.setOffline(true);
  await waitFor("the page to be offline", () => page.evaluate(() => !navigator.onLine));
  for (const worker of context.serviceWorkers()) await waitFor("the service worker to be offline", async () => !(await worker.evaluate(() => navigator.onLine)));
}

async function addItems(page: Page, texts: string[]): Promise<void> {
  for (const text of texts) {
    await page.fill("#item-text", text);
    await page.click("#add");
  }
  await waitFor(`${texts.length} jobs stored`, () => page.evaluate(async (n) => (await window.porticoExample.jobs.listJobs({ limit: 1000 })).length >= n, texts.length));
}

/** Closes every page of the context: from here on only the service worker can run jobs. */
async function closeAllPages(context: BrowserContext): Promise<void> {
  for (const page of context.pages()) await page.close();
  expect(context.pages()).toHaveLength(0);
}

/**
 * The DevTools protocol's ServiceWorker domain, on a blank page of another origin (a CDP session
 * needs a page; about:blank runs no jobs): fires sync events and stops the worker on demand.
 */
async function devtools(context: BrowserContext): Promise<{
  dispatchSync(): Promise<void>;
  syncUntil(what: string, check: () => Promise<boolean>): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}> {
  const page = await context.newPage();
  const cdp: CDPSession = await context.newCDPSession(page);
  let registrationId: string | null = null;
  const versions = new Map<string, { runningStatus: string; registrationId: string }>();
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
    for (const r of registrations) if (!r.isDeleted && r.scopeURL.startsWith(baseUrl)) registrationId = r.registrationId;
  });
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions: list }) => {
    for (const v of list) versions.set(v.versionId, { runningStatus: v.runningStatus, registrationId: v.registrationId });
  });
  await cdp.send("ServiceWorker.enable");
  await waitFor("the example's service worker registration", () => registrationId !== null);
  const dispatchSync = async () => {
    await cdp.send("ServiceWorker.dispatchSyncEvent", { origin: baseUrl, registrationId: registrationId!, tag: "portico-jobs", lastChance: false });
  };
  return {
    dispatchSync,
    /**
     * Fires a sync and waits for `check`, firing again every 2 s until it holds: a sync event
     * that reaches a worker while it starts or stops can be lost, and the browser would retry it.
     * A sync during a run only extends that run, so a repeat never runs a job twice.
     */
    async syncUntil(what, check) {
      let last = 0;
      await waitFor(what, async () => {
        if (await check()) return true;
        if (Date.now() - last >= 2_000) {
          last = Date.now();
          await dispatchSync();
        }
        return false;
      });
    },
    async stopWorker() {
      const running = [...versions].filter(([, v]) => v.registrationId === registrationId && v.runningStatus === "running");
      expect(running.length).toBeGreaterThan(0);
      for (const [versionId] of running) await cdp.send("ServiceWorker.stopWorker", { versionId });
      // A sync dispatched to a worker that is still stopping would be lost with it.
      await waitFor("the worker to stop", () => running.every(([id]) => versions.get(id)?.runningStatus === "stopped"));
    },
    async close() {
      await cdp.detach().catch(() => undefined);
      await page.close();
    },
  };
}

const postsOf = (jobId: string | null): PostRecord[] => state.posts.filter((p) => p.jobId === jobId);
const items = () => state.items;

test("offline items reach the server once, from the service worker, after every tab was closed", async () => {
  await withProfile(async (context) => {
    const page = await openApp(context, "backoff=200&tabWorker=off");
    await goOffline(context, page);
    const texts = Array.from({ length: 8 }, (_, i) => `offline item ${i + 1}`);
    await addItems(page, texts);
    await closeAllPages(context);
    expect((await refresh()).counters.posts).toBe(0);

    await context.setOffline(false);
    // Coming back online fires the registered sync in Chromium; where it does not (a network
    // change the emulation does not report), DevTools delivers the same event.
    const fired = await waitFor("the sync fired by going online", async () => (await refresh()).counters.posts > 0, 10_000).then(
      () => true,
      () => false,
    );
    if (!fired) {
      const cdp = await devtools(context);
      await cdp.syncUntil("8 items on the server", async () => (await refresh()).items.length === 8);
      await cdp.close();
    }
    await waitFor("8 items on the server", async () => (await refresh()).items.length === 8);

    expect(items().map((i) => i.text).sort()).toEqual([...texts].sort());
    expect(items().every((i) => i.saves === 1)).toBe(true);
    expect(state.counters.duplicates).toBe(0);
    // No job was sent twice, and every send came from the service worker (no tab was open).
    expect(state.posts).toHaveLength(8);
    expect(new Set(state.posts.map((p) => p.jobId)).size).toBe(8);
    expect(state.posts.every((p) => p.context === "service-worker" && p.status === 202)).toBe(true);

    // Reopened, the page shows every item done and who sent it.
    const again = await openApp(context, "backoff=200&tabWorker=off");
    await waitFor("8 done in the page", async () => Number(await again.locator("#col-done .count").textContent()) === 8);
    const metas = await again.locator("#col-done li .meta").allTextContents();
    expect(metas.every((m) => m.includes("sent by the service worker"))).toBe(true);
  });
});

test("a sync event while the worker is offline claims nothing: no attempt is used up, and the job is sent once online", async () => {
  await withProfile(async (context) => {
    const page = await openApp(context, "backoff=200&tabWorker=off");
    await goOffline(context, page);
    await addItems(page, ["sent once online"]);
    const jobId = await page.evaluate(async () => (await window.porticoExample.jobs.listJobs({ limit: 1 }))[0]!.id);
    await closeAllPages(context);
    const cdp = await devtools(context);
    // DevTools delivers a sync while the browser is offline. The worker sees itself offline and
    // claims nothing; an attempt made offline would have failed its fetch and counted a retry.
    await cdp.dispatchSync();
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await refresh()).counters.posts).toBe(0);

    await context.setOffline(false);
    await cdp.syncUntil("the item on the server", async () => (await refresh()).items.length === 1);
    expect(postsOf(jobId).map((p) => [p.context, p.status])).toEqual([["service-worker", 202]]);
    await cdp.close();
    const again = await openApp(context, "backoff=200&tabWorker=off");
    const job = await again.evaluate((id) => window.porticoExample.jobs.getJob(id), jobId);
    expect(job?.status).toBe("completed");
    expect(job?.retryCount).toBe(0);
    expect(job?.attempts).toBe(1);
  });
});

test("a tab and the service worker running the same queue at once: every job sent once, by both", async () => {
  await withProfile(async (context) => {
    const page = await openApp(context, "lease=20000");
    await chaos("hold");
    const texts = Array.from({ length: 10 }, (_, i) => `race item ${i + 1}`);
    await addItems(page, texts);
    // The tab's worker (concurrency 2) is stuck on two held requests; a sync run of the service
    // worker (concurrency 2) takes two others. Four held sends: both contexts hold jobs at once.
    await waitFor("the tab holding 2 jobs", async () => (await refresh()).counters.held >= 2);
    const cdp = await devtools(context);
    await cdp.syncUntil("4 held sends", async () => (await refresh()).counters.held === 4);
    const byContext = (c: string) => state.posts.filter((p) => p.context === c).length;
    expect(byContext("tab")).toBe(2);
    expect(byContext("service-worker")).toBe(2);

    await chaos("ok");
    await waitFor("10 items on the server", async () => (await refresh()).items.length === 10);
    await waitFor("10 done in the page", async () => Number(await page.locator("#col-done .count").textContent()) === 10);
    expect(items().every((i) => i.saves === 1)).toBe(true);
    expect(state.counters.duplicates).toBe(0);
    expect(state.posts).toHaveLength(10);
    expect(new Set(state.posts.map((p) => p.jobId)).size).toBe(10);
    const handledHere = await page.evaluate(() => [...window.porticoExample.handledHere.values()]);
    expect(handledHere.every((n) => n === 1)).toBe(true);
    // Every job ran in exactly one place: the tab's count plus the worker's is the total.
    expect(handledHere.length + byContext("service-worker")).toBe(10);
    expect(byContext("service-worker")).toBeGreaterThanOrEqual(2);
    await cdp.close();
  });
});

test("a sync run cut short (worker stopped mid-job) leaves the job to a later run, which sends it once", async () => {
  const lease = 2_000;
  await withProfile(async (context) => {
    const page = await openApp(context, `lease=${lease}&tabWorker=off`);
    await goOffline(context, page);
    await addItems(page, ["cut short"]);
    const jobId = await page.evaluate(async () => (await window.porticoExample.jobs.listJobs({ limit: 1 }))[0]!.id);
    await closeAllPages(context);
    await chaos("hold");
    const cdp = await devtools(context);
    await context.setOffline(false);
    await cdp.syncUntil("the worker's send held by the server", async () => (await refresh()).counters.held === 1);
    // One send so far, the worker's, held (status 0 until the server answers).
    expect(postsOf(jobId).map((p) => [p.context, p.status])).toEqual([["service-worker", 0]]);

    // The browser kills the worker mid-job (what it does when an event overruns its time).
    await cdp.stopWorker();
    await waitFor("the held request to be cut off", async () => (await refresh()).counters.abortedWhileHeld === 1);
    await chaos("ok");
    expect((await refresh()).items).toHaveLength(0);

    // A later sync: the job is claimable again once the dead worker's lease runs out.
    await cdp.syncUntil("the item on the server", async () => (await refresh()).items.length === 1);
    const sends = postsOf(jobId);
    expect(sends.map((p) => p.status)).toEqual([408, 202]);
    expect(sends.map((p) => p.context)).toEqual(["service-worker", "service-worker"]);
    // A restarted worker: the second send came from another worker instance.
    expect(sends[0]!.run!.split("#")[0]).not.toBe(sends[1]!.run!.split("#")[0]);
    expect(items()[0]!.saves).toBe(1);
    await cdp.close();

    const again = await openApp(context, `lease=${lease}&tabWorker=off`);
    const job = await again.evaluate((id) => window.porticoExample.jobs.getJob(id), jobId);
    expect(job?.status).toBe("completed");
    expect(job?.attempts).toBe(2);
    expect(job?.retryCount).toBe(0); // a lost lease is not a failed attempt
  });
});

test("a failing job is retried by a later sync event, not before its backoff, with every tab closed", async () => {
  const backoff = 3_000;
  await withProfile(async (context) => {
    // A sync run claims for 1 s only, so the retry (due 1.5-3 s after the failure) falls to a
    // later sync event.
    const page = await openApp(context, `backoff=${backoff}&syncBudget=1000&tabWorker=off`);
    await goOffline(context, page);
    await addItems(page, ["flaky"]);
    const jobId = await page.evaluate(async () => (await window.porticoExample.jobs.listJobs({ limit: 1 }))[0]!.id);
    await closeAllPages(context);
    await chaos("fail");
    const cdp = await devtools(context);
    await context.setOffline(false);
    await cdp.syncUntil("the first send answered 503", async () => (await refresh()).counters.failedByChaos === 1);
    await chaos("ok");

    // With no tab open the worker cannot register a sync itself; it fails the event, and the
    // browser retries the sync minutes later. DevTools stands in for those retries, firing sync
    // events every 500 ms: the ones before the retry is due must not send the item early.
    let events = 1;
    await waitFor("the item on the server", async () => {
      if ((await refresh()).items.length === 1) return true;
      await new Promise((r) => setTimeout(r, 500));
      await cdp.dispatchSync();
      events++;
      return false;
    });
    expect(events).toBeGreaterThan(1);
    const sends = postsOf(jobId);
    expect(sends.map((p) => p.status)).toEqual([503, 202]);
    // Not before its backoff (full jitter spreads it over [backoff/2, backoff]) ...
    expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(backoff / 2);
    // ... and by another sync event than the first attempt's.
    expect(sends[0]!.run).not.toBe(sends[1]!.run);
    expect(items()[0]!.saves).toBe(1);
    await cdp.close();

    const again = await openApp(context, `backoff=${backoff}&syncBudget=1000&tabWorker=off`);
    const job = await again.evaluate((id) => window.porticoExample.jobs.getJob(id), jobId);
    expect(job?.status).toBe("completed");
    expect(job?.retryCount).toBe(1);
    expect(job?.attempts).toBe(2);
  });
});
