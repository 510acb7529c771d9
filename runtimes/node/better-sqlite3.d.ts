/**
 * The part of better-sqlite3 (an optional peer, without bundled types) the Node SQLite opener
 * uses: its Database satisfies the structural SqliteDatabase handle as it is.
 */
declare module "better-sqlite3" {
  const Database: new (path: string) => import("../../src/drivers/sqlite/database.ts").SqliteDatabase;
  export default Database;
}
