/** The SQLite opener of portico-jobs/node: better-sqlite3 on Node 20 (node:sqlite from 22.13). */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { openSqliteDatabase, sqliteEngineName } from "../../runtimes/node/index.ts";
import { defineSqliteOpenerSuite } from "../runtimes/sqlite-opener.ts";

defineSqliteOpenerSuite({ name: "node", test, open: openSqliteDatabase });

test("node sqlite opener: the engine is node:sqlite from Node 22.13, better-sqlite3 before", async () => {
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  expect(await sqliteEngineName()).toBe(major > 22 || (major === 22 && minor >= 13) ? "node:sqlite" : "better-sqlite3");
});

// A real Node process in which better-sqlite3 cannot be resolved (a resolve hook hides it), as on
// a machine where the optional peer was never installed. Before 22.13 that leaves no engine.
const builtIn = (([major, minor]) => major! > 22 || (major === 22 && minor! >= 13))(process.versions.node.split(".").map(Number));
test(
  builtIn
    ? "node sqlite opener: without better-sqlite3, node:sqlite opens the file"
    : "node sqlite opener: without an engine, a SqliteUnavailableError names the install command",
  async () => {
    const hooks = `export async function resolve(specifier, context, next) {
      if (specifier === "better-sqlite3") throw Object.assign(new Error("Cannot find package 'better-sqlite3'"), { code: "ERR_MODULE_NOT_FOUND" });
      return next(specifier, context);
    }`;
    const register = `import { register } from "node:module"; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    const script = `
      const { openSqliteDatabase, SqliteUnavailableError } = await import("./runtimes/node/index.ts");
      const { mkdtempSync } = await import("node:fs"); const { tmpdir } = await import("node:os");
      try { (await openSqliteDatabase(mkdtempSync(tmpdir() + "/portico-") + "/x.sqlite")).close(); console.log("opened"); }
      catch (e) { console.log(JSON.stringify({ typed: e instanceof SqliteUnavailableError, code: e.code, message: e.message })); }`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--import", `data:text/javascript,${encodeURIComponent(register)}`, "--input-type=module", "-e", script],
      { cwd: process.cwd() },
    );
    if (builtIn) return expect(stdout.trim().split("\n").pop()).toBe("opened");
    const result = JSON.parse(stdout.trim().split("\n").pop()!);
    expect(result).toMatchObject({ typed: true, code: "sqlite_unavailable" });
    expect(result.message).toContain("npm install better-sqlite3");
    expect(result.message).toContain(process.versions.node);
  },
);
