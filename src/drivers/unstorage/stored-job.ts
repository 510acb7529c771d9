/**
 * The stored format of an unstorage job store: per job a small head key (the scheduling fields and
 * the lease state, all that opening reads) and a body key (the whole job record, read on claim and
 * get), a `meta` key naming the format, and the key scheme. Reading accepts the one-key records
 * of earlier versions, which opening upgrades.
 */
import type { Storage } from "unstorage";
import { JOB_STATUSES, StorageError, type Clock, type Job } from "../../core/index.ts";
import { accountedAttempts } from "../../core/failure.ts";
import { fromJobRecord, type JobRecord } from "../../core/job-record.ts";
import { LightJob, headOf, type HeadRecord } from "./light-job.ts";

/** Format 1 and 2 of a job key: the whole job with its lease state (read, then upgraded to 3). */
export interface StoredJob {
  /** 2 since attempts stopped counting released claims; 1 records are read and upgraded. */
  v: 1 | 2;
  /** Insertion order, the last claim tie-breaker. */
  seq: number;
  token: string | null;
  leaseExpiresAt: number;
  finishedAt: number;
  job: JobRecord;
}

/**
 * Format 3 of a job key, its head: the fields scheduling needs, read at open. The rest of the
 * job (payload, metadata, result...) is in its body key, a {@link JobRecord} read on claim and get,
 * whose copies of the head's fields may be older than the head's.
 */
export interface StoredHead {
  v: 3;
  seq: number;
  token: string | null;
  leaseExpiresAt: number;
  finishedAt: number;
  head: HeadRecord;
}

const META_FORMAT = "portico-jobs/unstorage";
/** 2 since jobs have head and body keys; a version 1 store is upgraded (see checkMeta). */
const META_VERSION = 2;

/** An index entry as its head key's value. */
export function toHead(e: LightJob): StoredHead {
  return { v: 3, seq: e.seq, token: e.token, leaseExpiresAt: e.leaseExpiresAt, finishedAt: e.finishedAt, head: e.head() };
}

/** What a job key held: an entry (its job a LightJob), plus the whole job when the key was of format 1 or 2. */
export interface ParsedKey {
  entry: LightJob;
  /** Set for a key of format 1 or 2, which opening upgrades (body written, then head). */
  legacy: Job | null;
}

/** A job key's value as an entry, or null when it is not a readable record (e.g. cut short by a crash). */
export function parseStored(value: unknown): ParsedKey | null {
  if (!value || typeof value !== "object") return null;
  const s = value as Partial<StoredJob> & Partial<Omit<StoredHead, "v">>;
  if (typeof s.seq !== "number") return null;
  let light: LightJob;
  let legacy: Job | null = null;
  if ((s.v as number) === 3) {
    const h = s.head;
    if (!h || typeof h !== "object" || typeof h.id !== "string" || typeof h.queueName !== "string" || typeof h.jobType !== "string") return null;
    if (!JOB_STATUSES.includes(h.status) || typeof h.runAt !== "number" || typeof h.createdAt !== "number") return null;
    light = new LightJob({ ...h, priority: h.priority ?? 0, attempts: h.attempts ?? 0, retryCount: h.retryCount ?? 0, idempotencyKey: h.idempotencyKey ?? null });
  } else {
    const r = s.job;
    if ((s.v !== 1 && s.v !== 2) || !r || typeof r !== "object" || typeof r.id !== "string") return null;
    if (!JOB_STATUSES.includes(r.status) || typeof r.runAt !== "number" || typeof r.createdAt !== "number") return null;
    legacy = fromJobRecord(r);
    // Version 1 counted released claims as attempts and kept them across retryJob; as lost leases
    // they would now count toward maxStalls. Keep only the attempts that failures account for.
    if (s.v === 1) legacy.attempts = Math.min(legacy.attempts, accountedAttempts(legacy));
    light = new LightJob(headOf(legacy));
  }
  light.seq = s.seq;
  light.token = typeof s.token === "string" ? s.token : null;
  light.leaseExpiresAt = typeof s.leaseExpiresAt === "number" ? s.leaseExpiresAt : 0;
  light.finishedAt = typeof s.finishedAt === "number" ? s.finishedAt : 0;
  return { entry: light, legacy };
}

/** A body key's value as a job, or null when it is not a readable record. */
export function parseBody(value: unknown): Job | null {
  if (!value || typeof value !== "object") return null;
  const r = value as Partial<JobRecord>;
  if (typeof r.id !== "string" || typeof r.createdAt !== "number" || typeof r.runAt !== "number") return null;
  return fromJobRecord(r as JobRecord);
}

/**
 * The raw value of a job key as its record. Records are read raw and parsed here because
 * unstorage's own parser (destr) drops `__proto__` keys, which are payload data; JSON.parse keeps
 * them as own properties. A driver that hands back a parsed object (or an earlier record stored
 * that way) is accepted as it is. Returns undefined when the value is not JSON text at all.
 */
export function decodeStored(raw: unknown): unknown {
  if (raw === null || raw === undefined) return undefined;
  let text: string;
  if (typeof raw === "string") text = raw;
  else if (raw instanceof Uint8Array) text = new TextDecoder().decode(raw);
  else if (raw instanceof ArrayBuffer) text = new TextDecoder().decode(new Uint8Array(raw));
  else return raw;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Writes the meta key of a new store, or refuses a store of another format or a later version.
 * A version 1 store (one key per job) is marked version 2 before any of its records is rewritten,
 * so an earlier release refuses it at open instead of setting the rewritten records aside.
 */
export async function checkMeta(storage: Storage, key: string, clock: Clock): Promise<void> {
  const meta = await storage.getItem<{ format?: string; version?: number }>(key);
  if (meta === null || meta === undefined) {
    await storage.setItem(key, { format: META_FORMAT, version: META_VERSION, createdAt: clock() });
    return;
  }
  if (typeof meta !== "object" || meta.format !== META_FORMAT || (meta.version !== META_VERSION && meta.version !== 1)) {
    throw new StorageError(
      `UnstorageJobQueue: the store's meta key holds ${JSON.stringify(meta)}, expected format "${META_FORMAT}" version ${META_VERSION} (or 1, which is upgraded)`,
    );
  }
  if (meta.version === 1) await storage.setItem(key, { ...meta, version: META_VERSION, upgradedAt: clock() });
}

/** The keys of one store under its prefix ("" or "name:"). */
export class StoreKeys {
  readonly #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
  }
  get lock(): string {
    return `${this.#prefix}lock`;
  }
  get meta(): string {
    return `${this.#prefix}meta`;
  }
  /** The sorted list of paused queue names. */
  get paused(): string {
    return `${this.#prefix}paused`;
  }
  /** The base under which every job's head key lives (for getKeys). */
  get jobs(): string {
    return `${this.#prefix}jobs`;
  }
  /** The base under which every job's body key lives. */
  get bodies(): string {
    return `${this.#prefix}bodies`;
  }
  /** Where an unreadable record found at `jobKey` (a key under {@link jobs}) is moved aside. */
  corruptOf(jobKey: string): string {
    return `${this.#prefix}corrupt:${jobKey.slice(this.#prefix.length)}`;
  }
  job(id: string): string {
    return `${this.#prefix}jobs:${safeKeySegment(id)}`;
  }
  body(id: string): string {
    return `${this.#prefix}bodies:${safeKeySegment(id)}`;
  }
  /** The body key of the job whose head is at `jobKey`, a key under {@link jobs}. */
  bodyOf(jobKey: string): string {
    return `${this.#prefix}bodies:${jobKey.slice(this.#prefix.length + "jobs:".length)}`;
  }
}

/**
 * Ids become one key segment. Anything unstorage or a file system could misread is hex-encoded
 * behind a "~", which plain ids never contain, so the two forms cannot collide.
 */
function safeKeySegment(id: string): string {
  if (/^[A-Za-z0-9_-]{1,128}$/.test(id)) return id;
  let hex = "";
  for (const byte of new TextEncoder().encode(id)) hex += byte.toString(16).padStart(2, "0");
  return `~${hex}`;
}
