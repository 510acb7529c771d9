// After `npm run build`: every entry point in package.json "exports" has its JS and .d.ts in
// dist/, and the ones meant for Node load through the package name (as a user's import would).
import { existsSync, readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
// These need their platform: cloudflare:workers, Deno's globals.
const platformOnly = new Set(["./cloudflare", "./deno"]);
let failures = 0;
const entries = Object.entries(pkg.exports).filter(([entry]) => entry !== "./package.json");
for (const [entry, target] of entries) {
  for (const file of [target.default, target.types]) {
    if (!existsSync(new URL(`../${file}`, import.meta.url))) {
      console.error(`missing ${file} for "${entry}"`);
      failures++;
    }
  }
  if (platformOnly.has(entry)) continue;
  const name = entry === "." ? pkg.name : `${pkg.name}/${entry.slice(2)}`;
  try {
    const mod = await import(name);
    if (Object.keys(mod).length === 0) throw new Error("no exports");
  } catch (error) {
    console.error(`import("${name}") failed: ${error.message}`);
    failures++;
  }
}
if (failures > 0) process.exit(1);
console.log(`dist: ${entries.length} entry points built, ${entries.length - platformOnly.size} of them loaded in Node`);
