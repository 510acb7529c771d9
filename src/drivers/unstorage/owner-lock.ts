/**
 * The owner lock of an unstorage job store: one key holding the owner's id and an expiry that a
 * heartbeat keeps renewing. unstorage has no transactions, so the queue keeps its index in one
 * process's memory, and this lock is what makes that process the only writer.
 */
import type { Storage } from "unstorage";
import { StoreLockedError, type Clock, type Logger } from "../../core/index.ts";

/** Format of the lock value. */
interface LockRecord {
  owner: string;
  label: string | null;
  acquiredAt: number;
  expiresAt: number;
}

/** Options of {@link OwnerLock}. */
export interface OwnerLockOptions {
  storage: Storage;
  /** The lock's key. */
  key: string;
  /** Names the store in lock errors (its prefix), or "" for none. */
  storeName: string;
  ownerId: string;
  ownerLabel: string | null;
  ttlMs: number;
  waitMs: number;
  settleMs: number;
  logger: Logger;
  clock: Clock;
}

/** Takes, renews, checks and gives up the owner lock of one store. */
export class OwnerLock {
  readonly #o: OwnerLockOptions;
  #heartbeat: ReturnType<typeof setInterval> | null = null;
  #renewing: Promise<void> | null = null;
  #expiresAt = 0;
  /** Set once another owner took the store over: the message every later write is refused with. */
  #lost: string | null = null;
  #stopped = false;

  constructor(options: OwnerLockOptions) {
    this.#o = options;
  }

  /** Takes the lock, waiting up to `waitMs` for another owner's lock to expire. */
  async acquire(): Promise<void> {
    const { clock, ownerId, ownerLabel, ttlMs, settleMs, waitMs } = this.#o;
    const deadline = clock() + waitMs;
    for (;;) {
      let current = await this.#read();
      const now = clock();
      if (!current || current.expiresAt <= now || current.owner === ownerId) {
        const mine: LockRecord = { owner: ownerId, label: ownerLabel, acquiredAt: now, expiresAt: now + ttlMs };
        await this.#write(mine);
        // Two processes may both have seen a free lock; the later write wins and the other backs off.
        if (settleMs > 0) await sleep(settleMs);
        const check = await this.#read();
        if (check?.owner === ownerId) {
          this.#expiresAt = mine.expiresAt;
          return;
        }
        current = check;
      }
      if (clock() >= deadline) throw this.#lockedError(current);
      // Sleep until the holder's lock would expire (it may be renewed meanwhile: then go round again).
      const untilExpiry = current ? current.expiresAt - clock() + 1 : settleMs;
      await sleep(Math.min(Math.max(untilExpiry, 5), Math.max(deadline - clock(), 1)));
    }
  }

  /** Starts renewing the lock every third of its lifetime. */
  startHeartbeat(): void {
    this.#heartbeat = setInterval(() => {
      // Kept so that release() can wait for it: a lock write landing after release's unlink would
      // leave a stale lock that locks the next process out until it expires.
      const renewal = this.#renew().catch(() => {});
      this.#renewing = renewal;
      void renewal.finally(() => {
        if (this.#renewing === renewal) this.#renewing = null;
      });
    }, Math.max(1, Math.floor(this.#o.ttlMs / 3)));
    // Never keep a process alive just for the heartbeat (Node/Bun timers have unref, Deno ids do not).
    (this.#heartbeat as { unref?: () => void }).unref?.();
  }

  /** Refuses to write without a live lock; renews it first when the heartbeat fell behind. */
  async assertOwner(): Promise<void> {
    if (!this.#lost && this.#o.clock() >= this.#expiresAt) await this.#renew();
    if (this.#lost) throw new StoreLockedError(`This process lost the job store: ${this.#lost}`);
  }

  /** The queue is closing: renewals stop (writes already queued still check the lock). */
  stopRenewals(): void {
    this.#stopped = true;
  }

  /** Removes the lock key whoever holds it (after a failed open that took it). Best effort. */
  async drop(): Promise<void> {
    await this.#o.storage.removeItem(this.#o.key).catch(() => {});
  }

  /** Stops the heartbeat, waits for a renewal in flight and removes the lock if it is still ours. */
  async release(): Promise<void> {
    this.#stopped = true;
    this.#stopHeartbeat();
    await this.#renewing;
    if (this.#lost) return;
    try {
      const lock = await this.#read();
      if (lock?.owner === this.#o.ownerId) await this.#o.storage.removeItem(this.#o.key);
    } catch (error) {
      // The lock then simply expires.
      this.#o.logger.warn("unstorage.unlock_failed", { error });
    }
  }

  /** Heartbeat: confirms the lock is still ours and pushes its expiry; notices a takeover. */
  async #renew(): Promise<void> {
    if (this.#lost || this.#stopped) return;
    const { clock, ownerId, ownerLabel, ttlMs, logger } = this.#o;
    try {
      const current = await this.#read();
      if (current && current.owner !== ownerId) {
        this.#lose(current);
        return;
      }
      const now = clock();
      const expiresAt = now + ttlMs;
      await this.#write({ owner: ownerId, label: ownerLabel, acquiredAt: current?.acquiredAt ?? now, expiresAt });
      this.#expiresAt = expiresAt;
    } catch (error) {
      logger.warn("unstorage.lock_renew_failed", { error });
      throw error;
    }
  }

  #lose(current: LockRecord | null): void {
    this.#lost = this.#lockedError(current).message;
    this.#stopHeartbeat();
    this.#o.logger.error("unstorage.lock_lost", { ownerId: this.#o.ownerId, newOwner: current?.owner ?? null });
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  #lockedError(lock: LockRecord | null): StoreLockedError {
    const who = lock ? `${lock.owner}${lock.label ? ` (${lock.label})` : ""}` : "another process";
    const until = lock ? ` until ${new Date(lock.expiresAt).toISOString()} unless renewed` : "";
    const name = this.#o.storeName;
    return new StoreLockedError(
      `The job store${name ? ` "${name}"` : ""} is owned by ${who}${until}. ` +
        `Only one process may use an unstorage job store at a time: stop the other process, point this one at another ` +
        `store, or set lockWaitMs to wait for a crashed owner's lock to expire.`,
    );
  }

  async #read(): Promise<LockRecord | null> {
    const value = await this.#o.storage.getItem<LockRecord>(this.#o.key);
    return value && typeof value === "object" && typeof value.owner === "string" && typeof value.expiresAt === "number" ? value : null;
  }

  #write(lock: LockRecord): Promise<void> {
    return this.#o.storage.setItem(this.#o.key, lock);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
