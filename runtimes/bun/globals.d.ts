/**
 * The part of bun:sqlite the SQLite opener uses, for type checks with tsc (Bun never loads this
 * file: nothing imports it). The `Bun` global is declared in index.ts, where it is used.
 */
declare module "bun:sqlite" {
  export class Database {
    constructor(path: string);
    exec(sql: string): void;
    prepare(sql: string): {
      run(...params: unknown[]): { changes: number | bigint };
      all(...params: unknown[]): unknown[];
      get(...params: unknown[]): unknown;
    };
    close(): void;
  }
}
