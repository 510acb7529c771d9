/**
 * Every ```ts block of README.md and docs/*.md compiles (tsc, the repo's strict settings, the
 * public entry points through tsconfig paths), so a snippet that would not type-check in a
 * user's project fails CI.
 *
 * A block may be preceded (on the line just above its fence) by one HTML comment:
 *   <!-- ts-snippet
 *   declare const mailer: { send(...): Promise<string> };   (a preamble: what the prose assumes)
 *   -->
 *   <!-- ts-snippet env=workers -->                           (compiled with the Workers types)
 *   <!-- ts-snippet skip: the reason -->                      (the only way out, with a reason)
 * A block that imports portico-jobs/cloudflare compiles with the Workers types; others with
 * Node's and the DOM's.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

type Env = "node" | "workers";
interface Snippet {
  /** "README.md:69": the file and the line of the opening fence. */
  where: string;
  file: string;
  fenceLine: number;
  code: string;
  preamble: string;
  env: Env;
  skip: string | null;
}

/** The ```ts blocks of one markdown file, with their markers. */
export function snippetsOf(file: string, text: string): Snippet[] {
  const lines = text.split("\n");
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```ts") continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === "```");
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed \`\`\`ts block`);
    let marker: string | null = null;
    if (lines[i - 1]?.trim().endsWith("-->")) {
      let start = i - 1;
      while (start > 0 && !lines[start]!.includes("<!--")) start--;
      const comment = lines.slice(start, i).join("\n");
      const m = comment.match(/<!--\s*ts-snippet\b([\s\S]*?)-->/);
      if (m) marker = m[1]!;
    }
    const head = marker?.split("\n")[0] ?? "";
    const code = lines.slice(i + 1, end).join("\n");
    const skip = head.match(/^\s*skip:\s*(.+?)\s*$/)?.[1] ?? null;
    if (marker !== null && /^\s*skip\b/.test(head) && !skip) throw new Error(`${file}:${i + 1}: a skip marker must give its reason ("skip: why")`);
    const env: Env = /\benv=workers\b/.test(head) || /from "portico-jobs\/cloudflare"/.test(code) ? "workers" : "node";
    out.push({
      where: `${file}:${i + 1}`,
      file,
      fenceLine: i + 1,
      code,
      preamble: marker === null ? "" : marker.split("\n").slice(1).join("\n").trim(),
      env,
      skip,
    });
    i = end;
  }
  return out;
}

const files = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const snippets = files.flatMap((f) => snippetsOf(f, readFileSync(join(root, f), "utf8")));
const compiled = snippets.filter((s) => !s.skip);

/** Writes each snippet as a module under node_modules/.cache (so node_modules resolves) and runs tsc once per env. */
async function compileAll(): Promise<Map<string, string[]>> {
  const dir = join(root, "node_modules", ".cache", "portico-snippets");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const byName = new Map<string, { snippet: Snippet; codeStart: number }>();
  const envs = new Map<Env, string[]>();
  for (const [n, s] of compiled.entries()) {
    const name = `s${n}-${s.file.replace(/[^\w]+/g, "-")}-${s.fenceLine}.ts`;
    // The preamble first, then the block; `export {}` makes every file a module (top-level await, own scope).
    const preamble = s.preamble ? `${s.preamble}\n` : "";
    await writeFile(join(dir, name), `${preamble}${s.code}\nexport {};\n`);
    byName.set(name, { snippet: s, codeStart: preamble ? s.preamble.split("\n").length + 1 : 1 });
    envs.set(s.env, [...(envs.get(s.env) ?? []), name]);
  }
  // What a user's project has beyond this repo's devDependencies: @types/better-sqlite3 (its
  // docs/sqlite.md block imports the engine), reduced to the constructor the snippet uses.
  await writeFile(
    join(dir, "user-types.d.ts"),
    'declare module "better-sqlite3" {\n  const Database: new (path: string) => import("portico-jobs/sqlite").SqliteDatabase;\n  export default Database;\n}\n',
  );
  const errors = new Map<string, string[]>(compiled.map((s) => [s.where, []]));
  for (const [env, names] of envs) {
    const config = join(dir, `tsconfig.${env}.json`);
    const base = join(root, env === "workers" ? "tsconfig.workers.json" : "tsconfig.json");
    await writeFile(config, JSON.stringify({ extends: base, compilerOptions: { noEmit: true }, files: [...names, "user-types.d.ts"], include: [] }));
    const output = await run(join(root, "node_modules", ".bin", "tsc"), ["-p", config, "--pretty", "false"], { cwd: dir }).then(
      () => "",
      (e: Error & { stdout?: string }) => e.stdout || e.message,
    );
    let last: string[] = [];
    for (const line of output.split("\n").filter((l) => l.trim())) {
      if (/^\s/.test(line) && last.length > 0) {
        last[last.length - 1] += `\n    ${line.trim()}`; // a continuation of the previous message
        continue;
      }
      const m = line.match(/^(.+?)\((\d+),(\d+)\): (.*)$/);
      const hit = m && byName.get(m[1]!.split("/").at(-1)!);
      if (!m || !hit) {
        // An error outside the snippets (e.g. in the sources) is reported against every snippet of that env.
        for (const name of names) errors.get(byName.get(name)!.snippet.where)!.push(line);
        last = errors.get(byName.get(names[0]!)!.snippet.where)!;
        continue;
      }
      const lineInCode = Number(m[2]) - hit.codeStart + 1;
      const at = lineInCode >= 1 ? `${hit.snippet.file}:${hit.snippet.fenceLine + lineInCode}` : `${hit.snippet.where} (preamble line ${m[2]})`;
      last = errors.get(hit.snippet.where)!;
      last.push(`${at}: ${m[4]}`);
    }
  }
  return errors;
}

describe("TypeScript snippets in README.md and docs/", () => {
  test("every ```ts block is found, and a skipped one says why", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(10);
    for (const s of snippets) if (s.skip !== null) expect(s.skip.length, s.where).toBeGreaterThan(3);
    console.log(`snippets: ${compiled.length} compiled, ${snippets.length - compiled.length} skipped (${snippets.filter((s) => s.skip).map((s) => `${s.where}: ${s.skip}`).join("; ") || "none"})`);
  });

  test("every ```ts block compiles", async () => {
    const errors = await compileAll();
    const failures = [...errors].filter(([, e]) => e.length > 0).map(([where, e]) => `${where}\n  ${e.join("\n  ")}`);
    expect(failures, failures.join("\n")).toEqual([]);
  });

  test("the marker parser: preamble, env and skip", () => {
    const md = [
      "<!-- ts-snippet env=workers",
      "declare const x: number;",
      "-->",
      "```ts",
      "x;",
      "```",
      "<!-- ts-snippet skip: needs a browser extension API -->",
      "```ts",
      "chrome.runtime;",
      "```",
      "```ts",
      "const y = 1;",
      "```",
    ].join("\n");
    const [a, b, c] = snippetsOf("x.md", md);
    expect(a).toMatchObject({ where: "x.md:4", env: "workers", preamble: "declare const x: number;", skip: null, code: "x;" });
    expect(b).toMatchObject({ where: "x.md:8", skip: "needs a browser extension API" });
    expect(c).toMatchObject({ where: "x.md:11", env: "node", preamble: "", skip: null });
    expect(() => snippetsOf("y.md", "<!-- ts-snippet skip -->\n```ts\nx\n```")).toThrow(/reason/);
  });
});
