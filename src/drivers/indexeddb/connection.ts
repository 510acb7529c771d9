/**
 * The connection of an IndexedDB job queue: opening (lazily, and again after a failure), the
 * schema upgrade and what blocks it, stepping aside for another tab's upgrade, and the read and
 * readwrite transaction wrappers that turn IndexedDB failures into StorageErrors.
 */
import { openDB, type IDBPDatabase, type IDBPTransaction } from "idb";
import { StorageError } from "../../core/index.ts";
import { toStorageError } from "./errors.ts";
import { SCHEMA_VERSION, migrate } from "./schema.ts";

/** A readwrite transaction over some of the queue's stores. */
export type WriteTx = IDBPTransaction<unknown, string[], "readwrite">;

/** One database of one queue handle. */
export class Connection {
  readonly dbName: string;
  readonly #blockedTimeoutMs: number;
  #db: Promise<IDBPDatabase> | null = null;
  #closed = false;

  constructor(dbName: string, blockedTimeoutMs: number) {
    this.dbName = dbName;
    this.#blockedTimeoutMs = blockedTimeoutMs;
  }

  /** Throws once the queue is closed. */
  assertOpen(): void {
    if (this.#closed) throw new StorageError(`IndexedDBJobQueue "${this.dbName}" is closed`);
  }

  /** Closes the database (waiting for an open in flight); later calls are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const db = this.#db;
    this.#db = null;
    if (db) await db.then((d) => d.close(), () => undefined);
  }

  /** Runs a read; its failure becomes a StorageError naming `action`. */
  async read<T>(action: string, body: (db: IDBPDatabase) => Promise<T>): Promise<T> {
    const db = await this.#open();
    try {
      return await body(db);
    } catch (error) {
      throw toStorageError(error, this.dbName, action);
    }
  }

  /**
   * Runs `body` in one readwrite transaction and resolves once it has committed. `body` must
   * await only requests of `tx`; if it throws, the transaction is aborted and nothing is kept.
   */
  async write<T>(action: string, stores: string[], body: (tx: WriteTx) => Promise<T>): Promise<T> {
    const db = await this.#open();
    let tx: WriteTx;
    try {
      tx = db.transaction(stores, "readwrite", { durability: "relaxed" }) as unknown as WriteTx;
    } catch (error) {
      throw toStorageError(error, this.dbName, action);
    }
    // Observed from the start so that an abort never surfaces as an unhandled rejection.
    const done = tx.done.then(
      () => null,
      (error: unknown) => ({ error: error ?? tx.error }),
    );
    let value: T;
    try {
      value = await body(tx);
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // already aborted by the failed request
      }
      await done;
      throw toStorageError(error, this.dbName, action);
    }
    const outcome = await done;
    if (outcome) throw toStorageError(outcome.error, this.dbName, action);
    return value;
  }

  #open(): Promise<IDBPDatabase> {
    this.assertOpen();
    if (this.#db) return this.#db;
    if (typeof indexedDB === "undefined" || indexedDB === null) {
      return Promise.reject(
        new StorageError(
          `IndexedDB is not available in this environment (private browsing, an old browser, or a non-browser runtime); IndexedDBJobQueue "${this.dbName}" cannot store jobs. Use MemoryJobQueue here instead.`,
        ),
      );
    }
    const opening = this.#connect();
    this.#db = opening;
    // A failed open is not cached: the next call tries again.
    opening.catch(() => {
      if (this.#db === opening) this.#db = null;
    });
    return opening;
  }

  #connect(): Promise<IDBPDatabase> {
    const dbName = this.dbName;
    return new Promise<IDBPDatabase>((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const request: Promise<IDBPDatabase> = openDB(dbName, SCHEMA_VERSION, {
        upgrade: (db, oldVersion, newVersion, tx) => migrate(db, oldVersion, newVersion ?? SCHEMA_VERSION, tx as never),
        blocked: (currentVersion) => {
          timer = setTimeout(() => {
            settled = true;
            reject(
              new StorageError(
                `IndexedDB "${dbName}": upgrading the schema from version ${currentVersion} to ${SCHEMA_VERSION} is blocked by another tab that keeps the old version open; close or reload the other tabs of this app.`,
              ),
            );
          }, this.#blockedTimeoutMs);
        },
        // Another tab needs a newer schema: step aside so it can upgrade; the next call here reopens.
        blocking: (): void => this.#dropConnection(request),
        terminated: (): void => this.#dropConnection(request),
      });
      request.then(
        (db: IDBPDatabase) => {
          clearTimeout(timer);
          if (settled) db.close(); // we already reported the blocked upgrade
          else resolve(db);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!settled) reject(toStorageError(error, dbName, "open the database"));
        },
      );
    });
  }

  #dropConnection(request: Promise<IDBPDatabase>): void {
    void request.then((db) => db.close(), () => undefined);
    this.#db = null;
  }
}
