/**
 * LISTEN for a store's channel on the client's dedicated listening connection, so a worker wakes
 * within milliseconds of an enqueue on any machine. The client re-listens after a dropped
 * connection by itself but gives up silently when the server is still down then; so after any
 * connection failure seen by a query, {@link Notifications.reconnect} listens again (with
 * backoff until it succeeds). Each (re)listen wakes the worker once, for anything missed meanwhile.
 * When the queue replaces its client ({@link Notifications.useClient}), the LISTEN moves with it.
 */
import type { Sql } from "postgres";

export class Notifications {
  #sql: Sql;
  readonly #channel: string;
  /** Called with each notification's payload, and with none after each (re)listen. */
  readonly #wake: (payload?: string) => void;
  #unlisten: (() => Promise<void>) | null = null;
  #active = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #attempt = 0;
  #pending: Promise<void> | null = null;
  /** Bumped by each listen: an answer from an earlier one (an old client's) is ignored. */
  #generation = 0;

  constructor(sql: Sql, channel: string, wake: (payload?: string) => void) {
    this.#sql = sql;
    this.#channel = channel;
    this.#wake = wake;
  }

  start(): void {
    if (this.#active) return;
    this.#active = true;
    this.#listen();
  }

  /** After a connection failure: drop the current LISTEN and make a new one. */
  reconnect(): void {
    if (!this.#active || this.#pending || this.#timer) return;
    const old = this.#unlisten;
    this.#unlisten = null;
    void old?.().catch(() => {});
    this.#listen();
  }

  /** The queue's client was replaced (the old one is being ended, its LISTEN with it): listen on `sql`. */
  useClient(sql: Sql): void {
    this.#sql = sql;
    this.#unlisten = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#active) this.#listen();
  }

  async stop(): Promise<void> {
    this.#active = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pending?.catch(() => {});
    const unlisten = this.#unlisten;
    this.#unlisten = null;
    await unlisten?.().catch(() => {});
  }

  #listen(): void {
    const generation = ++this.#generation;
    const pending: Promise<void> = this.#sql
      .listen(this.#channel, (payload) => this.#wake(payload), () => this.#wake())
      .then(async (meta) => {
        if (generation !== this.#generation) return;
        this.#attempt = 0;
        if (this.#active) this.#unlisten = meta.unlisten;
        else await meta.unlisten().catch(() => {});
      })
      .catch(() => {
        if (!this.#active || generation !== this.#generation) return;
        // The server is unreachable: try again, 100 ms doubling to 5 s.
        const delay = Math.min(5_000, 100 * 2 ** this.#attempt++);
        this.#timer = setTimeout(() => {
          this.#timer = null;
          if (this.#active) this.#listen();
        }, delay);
        (this.#timer as { unref?: () => void }).unref?.();
      })
      .finally(() => {
        if (this.#pending === pending) this.#pending = null;
      });
    this.#pending = pending;
  }
}
