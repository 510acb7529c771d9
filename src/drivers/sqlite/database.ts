/**
 * The structural SQLite handle SqliteJobQueue runs on. bun:sqlite's Database, node:sqlite's
 * DatabaseSync and better-sqlite3's Database all satisfy it as they are, so this driver imports
 * no engine: the runtime shims open one for a path and pass it in.
 * @module
 */

/** A prepared statement. Parameters are positional (`?`), the form all three engines take. */
export interface SqliteStatement {
  /** Runs a write; `changes` counts the rows it changed. */
  run(...params: unknown[]): { changes: number | bigint };
  /** Every result row, as objects keyed by column name. */
  all(...params: unknown[]): unknown[];
  /** The first result row, or undefined/null when there is none. */
  get(...params: unknown[]): unknown;
}

/** An open SQLite database. */
export interface SqliteDatabase {
  /** Runs one or more statements without parameters (DDL, PRAGMA, BEGIN/COMMIT). */
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}
