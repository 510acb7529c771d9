// The subpath map has one source of truth, entry-points.json. This script derives package.json
// "exports", deno.json "exports"/"imports" and tsconfig.base.json "paths" from it (--write), and
// otherwise checks (npm test) that:
//   - those three files agree with it;
//   - every entry file is `<folder>/index.ts` or a single file with no folder of the same name;
//   - each entry's peers are exactly the packages its module graph imports (type-only imports
//     count: a user needs them to type-check), so the README's peers column cannot under-list;
//   - the README entry-point table lists those same peers.
// Usage: node scripts/entry-points.mjs [--write]
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { builtinModules } from "node:module";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const read = (file) => readFileSync(join(root, file), "utf8");
const readJson = (file) => JSON.parse(read(file));

/** The map: [[subpath, { source, peers }]] in file order. */
export function loadEntryPoints() {
  return Object.entries(readJson("entry-points.json").entries);
}

/** "./memory" -> "portico-jobs/memory"; "." -> "portico-jobs". */
export const specifierOf = (name, subpath) => (subpath === "." ? name : `${name}/${subpath.slice(2)}`);
const distOf = (source, ext) => `./dist/${source.replace(/\.ts$/, ext)}`;

/** What package.json, deno.json and tsconfig.base.json must hold, derived from the map. */
function expected(entries, pkgName, peerDependencies = {}) {
  const exports = {};
  for (const [subpath, { source }] of entries) exports[subpath] = { types: distOf(source, ".d.ts"), default: distOf(source, ".js") };
  exports["./package.json"] = "./package.json";
  const denoExports = {};
  const denoImports = {};
  const paths = {};
  for (const [subpath, { source }] of entries) {
    denoExports[subpath] = `./${source}`;
    denoImports[specifierOf(pkgName, subpath)] = `./${source}`;
    paths[specifierOf(pkgName, subpath)] = [`./${source}`];
  }
  // Deno resolves the peers through npm: specifiers (subpaths such as hono/body-limit follow), so
  // the repo's deno.json works without node_modules, and JSR can publish the sources.
  for (const [name, range] of Object.entries(peerDependencies)) denoImports[name] = `npm:${name}@${range}`;
  return { exports, denoExports, denoImports, paths };
}

const isOwn = (name, specifier) => specifier === name || specifier.startsWith(`${name}/`);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** JSON with two-space indents, short arrays of strings kept on one line (as the files are written by hand). */
function format(value) {
  return (
    JSON.stringify(value, null, 2).replace(/\[\n\s*("[^"\n]*"(?:,\n\s*"[^"\n]*")*)\n\s*\]/g, (whole, items) => {
      const line = `[${items.split(/,\n\s*/).join(", ")}]`;
      return line.length <= 80 ? line : whole;
    }) + "\n"
  );
}

function write(entries) {
  const pkg = readJson("package.json");
  const want = expected(entries, pkg.name, pkg.peerDependencies);
  pkg.exports = want.exports;
  pkg.main = want.exports["."].default;
  pkg.types = want.exports["."].types;
  writeFileSync(join(root, "package.json"), JSON.stringify(pkg, null, 2) + "\n");

  const deno = readJson("deno.json");
  deno.exports = want.denoExports;
  // Keep other mappings (test-only ones); replace the package's own specifiers and the peers'.
  const others = Object.fromEntries(Object.entries(deno.imports ?? {}).filter(([k]) => !(k in want.denoImports) && !isOwn(pkg.name, k)));
  deno.imports = { ...want.denoImports, ...others };
  writeFileSync(join(root, "deno.json"), format(deno));

  const ts = readJson("tsconfig.base.json");
  ts.compilerOptions.paths = want.paths;
  writeFileSync(join(root, "tsconfig.base.json"), format(ts));
  console.log(`entry points: wrote package.json, deno.json and tsconfig.base.json for ${entries.length} entries`);
}

const builtins = new Set(builtinModules);
/** A bare specifier's package name, or null for relative paths, node:/bun:/cloudflare: and builtins. */
function packageOf(spec) {
  if (spec.startsWith(".") || spec.startsWith("/") || /^[a-z]+:/.test(spec)) return null;
  const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
  return builtins.has(name) ? null : name;
}

// import/export ... from "x", import "x", import("x"), import type; comments are stripped first so
// TSDoc examples (`import ... from "portico-jobs/..."`) do not count.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g;
const stripComments = (code) => code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");

/** Every package the module graph of `source` imports (runtime and type-only), with one importer each. */
function packagesImportedBy(source) {
  const found = new Map();
  const seen = new Set();
  const stack = [join(root, source)];
  while (stack.length > 0) {
    const file = stack.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const code = stripComments(readFileSync(file, "utf8"));
    for (const [, spec] of code.matchAll(SPECIFIER)) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target) && statSync(target).isFile()) stack.push(target);
        else throw new Error(`${relative(root, file)}: cannot resolve ${spec}`);
        continue;
      }
      const name = packageOf(spec);
      if (name && !found.has(name)) found.set(name, relative(root, file));
    }
  }
  return found;
}

/** The README's entry-point table: import -> peers listed in its last column. */
export function readmePeers() {
  const rows = new Map();
  const lines = read("README.md").split("\n");
  const start = lines.findIndex((l) => /^\| import \| what \| peers/.test(l));
  if (start < 0) throw new Error('README.md: no entry-point table (a header row "| import | what | peers ... |")');
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const imports = [...cells[0].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    const peers = cells.at(-1) === "none" ? [] : [...cells.at(-1).matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    // "`portico-jobs/node`, `/deno`" style: a leading "/" continues the package name.
    for (const spec of imports) rows.set(spec.startsWith("/") ? `portico-jobs${spec}` : spec, peers);
  }
  return rows;
}

/**
 * The README's Install section: the `npm i` line for each import, as
 * `{ command, packages: [peers...] }` ("npm i portico-jobs a b  # portico-jobs/x, /y").
 */
export function readmeInstallLines() {
  const text = read("README.md");
  const section = text.split(/^## Install$/m)[1];
  if (!section) throw new Error("README.md: no \"## Install\" section");
  const block = section.match(/```sh\n([\s\S]*?)```/);
  if (!block) throw new Error("README.md: the Install section has no ```sh block");
  const lines = new Map();
  for (const line of block[1].split("\n").filter((l) => l.trim())) {
    const m = line.match(/^(npm i portico-jobs((?: [@\w./-]+)*))\s*#\s*(.+)$/);
    if (!m) throw new Error(`README.md: Install line not of the form "npm i portico-jobs <peers>  # <imports>": ${line}`);
    const packages = m[2].trim() ? m[2].trim().split(/\s+/) : [];
    for (const [, spec] of m[3].matchAll(/(?:^|,\s*)((?:portico-jobs)?\/?[\w-]*)/g)) {
      if (!spec) continue;
      const name = spec.startsWith("/") ? `portico-jobs${spec}` : spec;
      if (lines.has(name)) throw new Error(`README.md: ${name} has two Install lines`);
      lines.set(name, { command: m[1], packages });
    }
  }
  return lines;
}

function check(entries) {
  const problems = [];
  const pkg = readJson("package.json");
  const want = expected(entries, pkg.name, pkg.peerDependencies);
  const fix = "(run `node scripts/entry-points.mjs --write` after editing entry-points.json)";
  if (!same(pkg.exports, want.exports)) problems.push(`package.json "exports" differs from entry-points.json ${fix}`);
  if (pkg.main !== want.exports["."].default || pkg.types !== want.exports["."].types) problems.push(`package.json "main"/"types" differ from the "." entry ${fix}`);
  const deno = readJson("deno.json");
  if (!same(deno.exports, want.denoExports)) problems.push(`deno.json "exports" differs from entry-points.json ${fix}`);
  for (const [specifier, target] of Object.entries(want.denoImports)) {
    if (deno.imports?.[specifier] !== target) problems.push(`deno.json "imports" maps ${specifier} to ${deno.imports?.[specifier]}, expected ${target} ${fix}`);
  }
  for (const specifier of Object.keys(deno.imports ?? {})) {
    if (isOwn(pkg.name, specifier) && !(specifier in want.denoImports)) problems.push(`deno.json "imports" maps ${specifier}, which is no entry point ${fix}`);
  }
  const paths = readJson("tsconfig.base.json").compilerOptions.paths;
  if (!same(paths, want.paths)) problems.push(`tsconfig.base.json "paths" differ from entry-points.json ${fix}`);

  const declared = new Set([...Object.keys(pkg.peerDependencies ?? {})]);
  const table = readmePeers();
  const install = readmeInstallLines();
  for (const [subpath, { source, peers }] of entries) {
    if (!existsSync(join(root, source))) {
      problems.push(`${subpath}: ${source} does not exist`);
      continue;
    }
    const base = basename(source, ".ts");
    if (base !== "index" && existsSync(join(root, dirname(source), base))) {
      problems.push(`${subpath}: ${source} sits next to a folder ${base}/; an entry is <folder>/index.ts or a single file`);
    }
    const imported = packagesImportedBy(source);
    for (const [name, importer] of imported) {
      if (name === pkg.name) problems.push(`${subpath}: ${importer} imports ${name} by name; use a relative import`);
      else if (!peers.includes(name)) problems.push(`${subpath}: imports ${name} (in ${importer}) but entry-points.json does not list it as a peer`);
    }
    for (const name of peers) {
      if (!imported.has(name)) problems.push(`${subpath}: lists peer ${name}, which its module graph never imports`);
      if (!declared.has(name)) problems.push(`${subpath}: peer ${name} is not in package.json peerDependencies`);
    }
    const spec = specifierOf(pkg.name, subpath);
    const listed = table.get(spec);
    if (!listed) problems.push(`README.md: the entry-point table has no row for \`${spec}\``);
    else if (!same([...listed].sort(), [...peers].sort())) {
      problems.push(`README.md: the peers of \`${spec}\` are [${listed.join(", ")}], entry-points.json says [${peers.join(", ")}]`);
    }
  }
  for (const [subpath, { peers }] of entries) {
    const spec = specifierOf(pkg.name, subpath);
    const line = install.get(spec);
    if (!line) problems.push(`README.md: the Install section has no line for ${spec}`);
    else if (!same([...line.packages].sort(), [...peers].sort())) problems.push(`README.md: the Install line for ${spec} installs [${line.packages.join(", ")}], its peers are [${peers.join(", ")}]`);
  }
  for (const spec of install.keys()) {
    if (!entries.some(([subpath]) => specifierOf(pkg.name, subpath) === spec)) problems.push(`README.md: the Install section names ${spec}, which is no entry point`);
  }
  for (const spec of table.keys()) {
    if (!entries.some(([subpath]) => specifierOf(pkg.name, subpath) === spec)) problems.push(`README.md: the table lists \`${spec}\`, which is no entry point`);
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`entry points: ${p}`);
    process.exit(1);
  }
  console.log(`entry points: ${entries.length} entries agree across entry-points.json, package.json, deno.json, tsconfig paths, README peers and Install lines`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entries = loadEntryPoints();
  if (process.argv.includes("--write")) write(entries);
  else check(entries);
}
