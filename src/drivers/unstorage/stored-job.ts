/**
 * The stored format of an unstorage job store: one key per job holding its JSON record with the
 * lease state beside it, a `meta` key naming the format, and the key scheme. Reading accepts
 * records of earlier versions and upgrades them.
 */
import type { Storage } from "unstorage";
import { JOB_STATUSES, StorageError, type Clock } from "../../core/index.ts";
import type { IndexEntry } from "../../core/job-index.ts";
import { accountedAttempts } from "../../core/failure.ts";
import { fromJobRecord, toJobRecord, type JobRecord } from "../../core/job-record.ts";

/** Format of the stored job value. */
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

const META_FORMAT = "portico-jobs/unstorage";
const META_VERSION = 1;

/** An index entry as its stored value. */
export function toStored(e: Pick<IndexEntry, "seq" | "token" | "leaseExpiresAt" | "finishedAt" | "job">): StoredJob {
  return { v: 2, seq: e.seq, token: e.token, leaseExpiresAt: e.leaseExpiresAt, finishedAt: e.finishedAt, job: toJobRecord(e.job) };
}

/** A stored value as an index entry, or null when it is not a readable record (e.g. cut short by a crash). */
export function parseStored(value: unknown): IndexEntry | null {
  if (!value || typeof value !== "object") return null;
  const s = value as Partial<StoredJob>;
  const r = s.job;
  if ((s.v !== 1 && s.v !== 2) || typeof s.seq !== "number" || !r || typeof r !== "object" || typeof r.id !== "string") return null;
  if (!JOB_STATUSES.includes(r.status) || typeof r.runAt !== "number" || typeof r.createdAt !== "number") return null;
  const job = fromJobRecord(r);
  // Version 1 counted released claims as attempts and kept them across retryJob; as lost leases
  // they would now count toward maxStalls. Keep only the attempts that failures account for.
  if (s.v === 1) job.attempts = Math.min(job.attempts, accountedAttempts(job));
  return {
    job,
    seq: s.seq,
    token: typeof s.token === "string" ? s.token : null,
    leaseExpiresAt: typeof s.leaseExpiresAt === "number" ? s.leaseExpiresAt : 0,
    finishedAt: typeof s.finishedAt === "number" ? s.finishedAt : 0,
    gen: 0,
  };
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

/** Writes the meta key of a new store, or refuses a store of another format or version. */
export async function checkMeta(storage: Storage, key: string, clock: Clock): Promise<void> {
  const meta = await storage.getItem<{ format?: string; version?: number }>(key);
  if (meta === null || meta === undefined) {
    await storage.setItem(key, { format: META_FORMAT, version: META_VERSION, createdAt: clock() });
    return;
  }
  if (typeof meta !== "object" || meta.format !== META_FORMAT || meta.version !== META_VERSION) {
    throw new StorageError(
      `UnstorageJobQueue: the store's meta key holds ${JSON.stringify(meta)}, expected format "${META_FORMAT}" version ${META_VERSION}`,
    );
  }
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
  /** The base under which every job key lives (for getKeys). */
  get jobs(): string {
    return `${this.#prefix}jobs`;
  }
  /** Where an unreadable record found at `jobKey` (a key under {@link jobs}) is moved aside. */
  corruptOf(jobKey: string): string {
    return `${this.#prefix}corrupt:${jobKey.slice(this.#prefix.length)}`;
  }
  job(id: string): string {
    return `${this.#prefix}jobs:${safeKeySegment(id)}`;
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
