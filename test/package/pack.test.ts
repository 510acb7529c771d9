/**
 * The package as a user gets it: `npm pack`, then for each line of the README's Install section a
 * fresh project that installs the tarball plus exactly the peers that line names (from the npm
 * cache, pinned to the versions this repo tests), imports each entry point of that line in the
 * runtime it is for; one more project with every peer type-checks all entries from the published
 * .d.ts files. A peer missing
 * from the README, a file missing from the tarball or a broken export map fails here.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadEntryPoints, readmeInstallLines, specifierOf } from "../../scripts/entry-points.mjs";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const bin = (name: string) => join(root, "node_modules", ".bin", name);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string;
  devDependencies: Record<string, string>;
};

// Where each entry point loads in this test; the rest load under Node. /cloudflare needs workerd
// (its `cloudflare:workers` import), so it is only type-checked here; test/workers runs it.
const loadWith: Record<string, "deno" | "bun" | null> = { "./deno": "deno", "./bun": "bun", "./cloudflare": null };
// Types a Worker project has anyway (the .d.ts of /cloudflare imports `cloudflare:workers`).
const workerTypes = "@cloudflare/workers-types";

interface Group {
  command: string;
  peers: string[];
  subpaths: string[];
  dir: string;
}

let work: string;
let tarball: string;
const groups: Group[] = [];
let typesGroup: Group;

/** Builds dist/ when an entry's output is missing or older than any source file (npm test has just built it). */
async function ensureBuilt(): Promise<void> {
  const newest = (dir: string): number =>
    readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith(".ts"))
      .reduce((max, e) => Math.max(max, statSync(join(e.parentPath, e.name)).mtimeMs), 0);
  const sources = Math.max(newest("src"), newest("runtimes"));
  const stale = loadEntryPoints().some(([, { source }]) => {
    const out = join(root, "dist", source.replace(/\.ts$/, ".js"));
    return !existsSync(out) || statSync(out).mtimeMs < sources;
  });
  if (stale) await run("npm", ["run", "--silent", "build"], { cwd: root });
}

/** Runs `task` over `items` with at most `limit` in flight (2 cores); rethrows the first failure. */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  // Every task runs to its end (even after a failure), so no child process outlives the test.
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item).catch((e: unknown) => void errors.push(e));
    }),
  );
  if (errors.length > 0) throw errors[0];
}

const pinned = (name: string): string => {
  const version = pkg.devDependencies[name];
  if (!version) throw new Error(`${name} is not a devDependency, so its tested version is unknown`);
  return `${name}@${version}`;
};

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), "portico-pack-"));
  await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", work], { cwd: root });
  const [file] = (await readdir(work)).filter((f) => f.endsWith(".tgz"));
  if (!file) throw new Error("npm pack wrote no tarball");
  tarball = join(work, file);

  // One project per distinct Install line.
  const byCommand = new Map<string, Group>();
  const lines = readmeInstallLines();
  for (const [subpath] of loadEntryPoints()) {
    const line = lines.get(specifierOf(pkg.name, subpath));
    if (!line) throw new Error(`README.md has no Install line for ${specifierOf(pkg.name, subpath)}`);
    let group = byCommand.get(line.command);
    if (!group) {
      group = { command: line.command, peers: line.packages, subpaths: [], dir: join(work, `p${byCommand.size}`) };
      byCommand.set(line.command, group);
    }
    group.subpaths.push(subpath);
  }
  groups.push(...byCommand.values());

  // One more project with every peer (and the Workers types), for the type check of all entries.
  const everyPeer = [...new Set(groups.flatMap((g) => g.peers))];
  typesGroup = { command: `npm i portico-jobs ${everyPeer.join(" ")}`, peers: everyPeer, subpaths: loadEntryPoints().map(([s]) => s), dir: join(work, "types") };

  await inParallel([...groups, typesGroup], 2, async (group) => {
    await mkdir(group.dir);
    await writeFile(join(group.dir, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
    const extra = group === typesGroup ? [pinned(workerTypes)] : [];
    // The cache holds every version this repo installs (npm ci ran); the network is only a fallback.
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", tarball, ...group.peers.map(pinned), ...extra], {
      cwd: group.dir,
    });
  });
}, 240_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true, maxRetries: 3 });
});

describe("the packed tarball", () => {
  test("holds LICENSE, README.md, the built entry points, and no tests", async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = new Set(stdout.split("\n").map((f) => f.replace(/^package\//, "")));
    for (const f of ["LICENSE", "README.md", "package.json"]) expect(files, f).toContain(f);
    for (const [, { source }] of loadEntryPoints()) {
      expect(files, source).toContain(`dist/${source.replace(/\.ts$/, ".js")}`);
      expect(files, source).toContain(`dist/${source.replace(/\.ts$/, ".d.ts")}`);
    }
    expect([...files].filter((f) => f.startsWith("test/") || f.includes(".test."))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.license).toBe("MIT");
  });

  test("each Install line installs only the package and the peers it names", () => {
    for (const group of groups) {
      const installed = new Set([...Object.keys(JSON.parse(readFileSync(join(group.dir, "package.json"), "utf8")).dependencies ?? {})]);
      const wanted = new Set([pkg.name, ...group.peers]);
      expect(installed, group.command).toEqual(wanted);
      // Optional peers are not pulled in: a peer the line does not name is absent.
      for (const peer of ["hono", "valibot", "croner", "unstorage", "idb", "@hono/node-server"]) {
        if (!group.peers.includes(peer)) expect(existsSync(join(group.dir, "node_modules", peer)), `${peer} after "${group.command}"`).toBe(false);
      }
    }
  });

  test("every entry point imports in its runtime from a project with only its README peers", async () => {
    const loaded: string[] = [];
    await inParallel(groups, 2, async (group) => {
      for (const subpath of group.subpaths) {
        const runtime = subpath in loadWith ? loadWith[subpath] : "node";
        if (runtime === null) continue;
        const spec = specifierOf(pkg.name, subpath);
        const code = `const m = await import(${JSON.stringify(spec)}); console.log(JSON.stringify(Object.keys(m).sort()));`;
        const argv: [string, string[]] =
          runtime === "node"
            ? ["node", ["--input-type=module", "-e", code]]
            : runtime === "bun"
              ? [bin("bun"), ["-e", code]]
              : [bin("deno"), ["eval", "--ext=js", code]];
        const { stdout } = await run(argv[0], argv[1], {
          cwd: group.dir,
          env: { ...process.env, DENO_DIR: join(root, ".deno"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
        }).catch((error: Error & { stderr?: string }) => {
          throw new Error(`${runtime}: import("${spec}") after "${group.command}" failed:\n${error.stderr ?? error.message}`);
        });
        const keys = JSON.parse(stdout.trim().split("\n").at(-1)!) as string[];
        expect(keys.length, spec).toBeGreaterThan(0);
        if (runtime === "node") {
          // The same names as the repo's own build exports.
          const own = await import(join(root, "dist", loadEntryPoints().find(([s]) => s === subpath)![1].source.replace(/\.ts$/, ".js")));
          expect(keys, spec).toEqual(Object.keys(own).sort());
        } else {
          expect(keys, spec).toContain("serve");
        }
        loaded.push(`${spec} (${runtime})`);
      }
    });
    expect(loaded.length).toBe(loadEntryPoints().length - Object.values(loadWith).filter((r) => r === null).length);
  });

  test("every entry point type-checks from its published .d.ts files (strict, skipLibCheck off)", async () => {
    // Two programs: the Workers entries with the Workers types (they clash with the DOM lib), the
    // rest with the DOM lib, in one project that has every peer (the import test above already
    // proved each entry needs no more than its README peers).
    const workers = new Set(["./cloudflare", "./durable-object"]);
    const programs = [
      { name: "workers", subpaths: typesGroup.subpaths.filter((s) => workers.has(s)), lib: ["ES2022"], types: [workerTypes] },
      { name: "web", subpaths: typesGroup.subpaths.filter((s) => !workers.has(s)), lib: ["ES2022", "DOM", "DOM.Iterable"], types: [] },
    ];
    await inParallel(programs, 2, async (program) => {
      const imports = program.subpaths.map((s, i) => `import * as m${i} from ${JSON.stringify(specifierOf(pkg.name, s))};`);
      const uses = `export const modules = [${program.subpaths.map((_, i) => `m${i}`).join(", ")}];`;
      await writeFile(join(typesGroup.dir, `${program.name}.ts`), `${imports.join("\n")}\n${uses}\n`);
      await writeFile(
        join(typesGroup.dir, `tsconfig.${program.name}.json`),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "nodenext",
            moduleResolution: "nodenext",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            skipDefaultLibCheck: true,
            lib: program.lib,
            types: program.types,
          },
          files: [`${program.name}.ts`],
        }),
      );
      // skipLibCheck is off so the published .d.ts files are checked in full; errors inside a
      // peer's own .d.ts (unstorage's drivers for services not installed) are the peer's business.
      const output = await run(bin("tsc"), ["-p", `tsconfig.${program.name}.json`], { cwd: typesGroup.dir }).then(
        () => "",
        (error: Error & { stdout?: string }) => error.stdout ?? error.message,
      );
      const located = output.split("\n").filter((l) => l.trim() && !/^\s/.test(l));
      const ours = located.filter((line) => line.startsWith(`${program.name}.ts`) || line.startsWith(`node_modules/${pkg.name}/`));
      const peers = located.filter((line) => /^node_modules\//.test(line) && !line.startsWith(`node_modules/${pkg.name}/`));
      expect(ours, `tsc for ${program.subpaths.join(", ")}`).toEqual([]);
      // Anything else tsc said must be a located error in a peer's .d.ts (no config or usage problem).
      expect(located.length, output).toBe(ours.length + peers.length);
    });
  });
});
