/**
 * IndexedDB benchmark in Debian's Chromium: bundles bench/indexeddb/page.ts, serves it with a
 * /sink endpoint over loopback, runs it in a headless page and prints a markdown table.
 * Run: npm run bench:indexeddb     (CHROMIUM_PATH overrides /usr/bin/chromium)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import type { BenchRow } from "./page.ts";

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--js-flags=--expose-gc"];

const bundle = await build({
  entryPoints: [here("./page.ts")],
  bundle: true,
  write: false,
  format: "esm",
  target: "es2022",
  platform: "browser",
  define: { "process.env.NODE_ENV": '"production"' },
  tsconfig: here("../../tsconfig.json"),
  logLevel: "silent",
});
const script = bundle.outputFiles[0]!.text;
const html = `<!doctype html><meta charset="utf-8"><title>portico-jobs IndexedDB bench</title><script type="module" src="/bench.js"></script>`;

let sinkHits = 0;
const server = createServer((req, res) => {
  if (req.url === "/bench.js") return void res.writeHead(200, { "content-type": "text/javascript" }).end(script);
  if (req.url === "/sink") {
    sinkHits++;
    req.resume();
    req.on("end", () => res.writeHead(202, { "content-type": "application/json" }).end('{"status":"accepted"}'));
    return;
  }
  res.writeHead(200, { "content-type": "text/html" }).end(html);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args });
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => typeof window.runIndexedDBBench === "function");
  const rows = (await page.evaluate(() => window.runIndexedDBBench!())) as BenchRow[];
  const version = browser.version();
  console.log(`IndexedDB benchmark, Chromium ${version}, ${new Date().toISOString().slice(0, 10)}\n`);
  console.log("| operation | portico-jobs | baseline | ratio | baseline is |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.name} | ${r.portico} | ${r.baseline || "–"} | ${r.ratio || "–"} | ${r.note} |`);
  // Both delivery rows send 1,000 requests each; anything else means one side lost or repeated some.
  console.log(`\n/sink received ${sinkHits} requests (expected 2000).`);
} finally {
  await browser.close();
  server.closeAllConnections();
  server.close();
}
