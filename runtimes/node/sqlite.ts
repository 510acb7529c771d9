/**
 * Opens a SQLite database on Node with what is there: `node:sqlite` (built in from Node 22.13),
 * else the optional peer `better-sqlite3`.
 * @module
 */
import { PorticoError } from "../../src/core/errors.ts";
import type { SqliteDatabase } from "../../src/drivers/sqlite/database.ts";
import { busyTimeoutOf, configure, ensureParentDir, type OpenSqliteOptions } from "./sqlite-setup.ts";

export type { OpenSqliteOptions } from "./sqlite-setup.ts";

/** No SQLite engine could be loaded; the message names the command that installs one. */
export class SqliteUnavailableError extends PorticoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("sqlite_unavailable", message, options);
    this.name = "SqliteUnavailableError";
  }
}

type Engine = new (path: string) => SqliteDatabase;

// In a variable: Node 20's types do not know node:sqlite (better-sqlite3's come from
// better-sqlite3.d.ts next to this file).
const NODE_SQLITE = "node:sqlite";

/** True when this Node has `node:sqlite` without a flag (22.13 and later). */
function hasNodeSqlite(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 13);
}

async function loadEngine(): Promise<{ engine: Engine; name: string }> {
  if (hasNodeSqlite(process.versions.node)) {
    const { DatabaseSync } = (await import(NODE_SQLITE)) as { DatabaseSync: Engine };
    return { engine: DatabaseSync, name: "node:sqlite" };
  }
  let module: { default: Engine };
  try {
    module = await import("better-sqlite3");
  } catch (error) {
    const missing = (error as { code?: string }).code === "ERR_MODULE_NOT_FOUND";
    throw new SqliteUnavailableError(
      missing
        ? `SQLite on Node ${process.versions.node} needs the package better-sqlite3 (node:sqlite is built in only from Node 22.13): ` +
            "install it with `npm install better-sqlite3`, or upgrade Node to 22.13 or later"
        : `better-sqlite3 is installed but failed to load on Node ${process.versions.node} (${(error as Error).message}); ` +
            "reinstall it with `npm rebuild better-sqlite3`",
      { cause: error },
    );
  }
  return { engine: module.default, name: "better-sqlite3" };
}

/**
 * Opens (creating it and its directory if needed) the SQLite database at `path`, in WAL mode with
 * a busy timeout, ready for `new SqliteJobQueue({ database })`. Several processes may open the
 * same file.
 * @throws SqliteUnavailableError on Node < 22.13 without better-sqlite3 (the message says how to install it)
 * @example
 * ```ts
 * const database = await openSqliteDatabase("./.portico/jobs.sqlite");
 * ```
 */
export async function openSqliteDatabase(path: string, options: OpenSqliteOptions = {}): Promise<SqliteDatabase> {
  if (typeof path !== "string") throw new TypeError(`openSqliteDatabase(): path must be a string, got ${typeof path}`);
  const busyTimeoutMs = busyTimeoutOf(options);
  const { engine } = await loadEngine();
  ensureParentDir(path);
  return configure(new engine(path), path, busyTimeoutMs);
}

/** Which engine `openSqliteDatabase()` uses on this Node ("node:sqlite" or "better-sqlite3"). */
export async function sqliteEngineName(): Promise<string> {
  return (await loadEngine()).name;
}
