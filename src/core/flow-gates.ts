/**
 * FlowGates: concurrency keys and rate limits for the in-memory index (memory and unstorage),
 * without head-of-line blocking and in O(log n) per claim.
 *
 * A job whose key is full when the claim reaches it is parked in its key's own heap (in claim
 * order) instead of being skipped again by every later claim; one parked job goes back to the
 * ready heap each time the key may have room again: a running job of the key finished or its lease
 * expired, a claim left room, or the rate window moved on (a heap of rate wake times). So a queue
 * full of one busy key costs each claim O(log n), and the parked jobs keep their order.
 */
import { Heap } from "./heap.ts";
import type { Job } from "./job.ts";
import { JobStatus } from "./job.ts";
import { rateAllowedAt } from "./transitions.ts";

/** What the gates need of an index entry. */
export interface GatedEntry {
  job: Job;
  leaseExpiresAt: number;
}

interface Gate<E, S> {
  /** Entries RUNNING with this concurrency key (expired leases included until they settle). */
  running: Set<E>;
  /** Start times of this rate key, ascending; `from` is the first one still in a window. */
  starts: number[];
  from: number;
  parked: Heap<S>;
  /** The rate wake time queued for this gate (0: none). */
  wakeAt: number;
}

interface Wake<E, S> {
  gate: Gate<E, S>;
  at: number;
}

/** Hooks into the index that owns the slots. */
export interface FlowGateHooks<E, S> {
  /** Claim order of two slots. */
  before(a: S, b: S): boolean;
  /** False for a slot whose entry changed since it was made. */
  live(slot: S): boolean;
  /** Puts a parked slot back where claims look (its queue's ready heap). */
  unpark(slot: S): void;
}

/** The gates of every key, shared by all queues (a key limits jobs of every queue). */
export class FlowGates<E extends GatedEntry, S> {
  readonly #concurrency = new Map<string, Gate<E, S>>();
  readonly #rate = new Map<string, Gate<E, S>>();
  readonly #wakes = new Heap<Wake<E, S>>((a, b) => a.at < b.at);
  readonly #hooks: FlowGateHooks<E, S>;
  /** Set when a slot was unparked since the last {@link takeUnparked}: idle workers should look. */
  #unparked = false;

  constructor(hooks: FlowGateHooks<E, S>) {
    this.#hooks = hooks;
  }

  /** The gate that keeps `e` from starting at `now`, after queuing its rate wake; null when it may start. */
  blocked(e: E, now: number): Gate<E, S> | null {
    const job = e.job;
    if (job.concurrencyKey !== undefined) {
      const gate = this.#gate(this.#concurrency, job.concurrencyKey);
      if (liveCount(gate.running, e, now) >= (job.concurrencyLimit ?? 1)) return gate;
    }
    const rate = job.rateLimit;
    if (rate !== undefined) {
      const gate = this.#gate(this.#rate, rate.key);
      trim(gate, now - rate.periodMs);
      const at = rateAllowedAt(gate.starts, gate.from, rate.limit, rate.periodMs, now);
      if (at !== null) {
        this.#wakeAt(gate, at);
        return gate;
      }
    }
    return null;
  }

  park(gate: Gate<E, S>, slot: S): void {
    gate.parked.push(slot);
  }

  /** `e` was claimed at `now`: it holds a slot of its key and a start of its rate key. */
  claimed(e: E, now: number): void {
    const job = e.job;
    if (job.concurrencyKey !== undefined) {
      const gate = this.#gate(this.#concurrency, job.concurrencyKey);
      gate.running.add(e);
      if (liveCount(gate.running, null, now) < (job.concurrencyLimit ?? 1)) this.#release(gate);
    }
    const rate = job.rateLimit;
    if (rate !== undefined) {
      const gate = this.#gate(this.#rate, rate.key);
      gate.starts.push(now);
      const at = rateAllowedAt(gate.starts, gate.from, rate.limit, rate.periodMs, now);
      // Room left: the next parked job may start too. None: the parked ones wake when the window moves.
      if (at === null) this.#release(gate);
      else this.#wakeAt(gate, at);
    }
  }

  /** Records a start seen while loading a store (starts must come in ascending order per key). */
  loadStart(e: E): void {
    const job = e.job;
    if (job.status === JobStatus.RUNNING && job.concurrencyKey !== undefined) this.#gate(this.#concurrency, job.concurrencyKey).running.add(e);
    if (job.rateLimit !== undefined && job.startedAt) this.#gate(this.#rate, job.rateLimit.key).starts.push(job.startedAt.getTime());
  }

  /** Sorts loaded start times (after {@link loadStart} calls in any order). */
  sortStarts(): void {
    for (const gate of this.#rate.values()) gate.starts.sort((a, b) => a - b);
  }

  /** A RUNNING entry stopped running (completed, failed, released): its key has room for one more. */
  settled(e: E): void {
    const key = e.job.concurrencyKey;
    if (key === undefined) return;
    const gate = this.#concurrency.get(key);
    if (gate && gate.running.delete(e)) this.#release(gate);
  }

  /** A RUNNING entry's lease expired: its slot is free until someone claims it again. */
  expired(e: E): void {
    const key = e.job.concurrencyKey;
    const gate = key === undefined ? undefined : this.#concurrency.get(key);
    if (gate) this.#release(gate);
  }

  /** Unparks one job of every rate key whose window has moved on by `now`. */
  wake(now: number): void {
    for (let w = this.#wakes.peek(); w && w.at <= now; w = this.#wakes.peek()) {
      this.#wakes.pop();
      if (w.gate.wakeAt !== w.at) continue;
      w.gate.wakeAt = 0;
      this.#release(w.gate);
    }
  }

  /** The earliest instant a rate-limited key may start again, or null. */
  nextWake(): number | null {
    for (let w = this.#wakes.peek(); w; w = this.#wakes.peek()) {
      if (w.gate.wakeAt === w.at && top(w.gate.parked, this.#hooks.live)) return w.at;
      this.#wakes.pop();
      if (w.gate.wakeAt === w.at) w.gate.wakeAt = 0;
    }
    return null;
  }

  /** True (once) when jobs were unparked since the last call. */
  takeUnparked(): boolean {
    const u = this.#unparked;
    this.#unparked = false;
    return u;
  }

  /** Queues a rate wake of `gate` at `at` unless an earlier one is queued. */
  #wakeAt(gate: Gate<E, S>, at: number): void {
    if (gate.wakeAt === 0 || at < gate.wakeAt) {
      gate.wakeAt = at;
      this.#wakes.push({ gate, at });
    }
  }

  /** Moves the gate's best live parked job back to its ready heap. */
  #release(gate: Gate<E, S>): void {
    const slot = top(gate.parked, this.#hooks.live);
    if (!slot) return;
    gate.parked.pop();
    this.#hooks.unpark(slot);
    this.#unparked = true;
  }

  #gate(map: Map<string, Gate<E, S>>, key: string): Gate<E, S> {
    let gate = map.get(key);
    if (!gate) {
      gate = { running: new Set(), starts: [], from: 0, parked: new Heap(this.#hooks.before), wakeAt: 0 };
      map.set(key, gate);
    }
    return gate;
  }
}

/** Running entries of a key holding a live lease at `now`, not counting `except`. */
function liveCount<E extends GatedEntry>(running: Set<E>, except: E | null, now: number): number {
  let n = 0;
  for (const r of running) if (r !== except && r.job.status === JobStatus.RUNNING && r.leaseExpiresAt > now) n++;
  return n;
}

/** Drops start times at or before `cutoff` (they left every window that ends now); compacts now and then. */
function trim<E, S>(gate: Gate<E, S>, cutoff: number): void {
  const s = gate.starts;
  while (gate.from < s.length && s[gate.from]! <= cutoff) gate.from++;
  if (gate.from > 64 && gate.from * 2 > s.length) {
    s.splice(0, gate.from);
    gate.from = 0;
  }
}

function top<S>(heap: Heap<S>, live: (s: S) => boolean): S | undefined {
  let s = heap.peek();
  while (s !== undefined && !live(s)) {
    heap.pop();
    s = heap.peek();
  }
  return s;
}
