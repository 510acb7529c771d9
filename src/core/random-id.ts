/**
 * Random identifiers for jobs, leases and workers: version 4 UUIDs (122 random bits, 8-4-4-4-12).
 *
 * The bytes come from `crypto.getRandomValues`, which every runtime has, in secure and non-secure
 * contexts alike (`crypto.randomUUID` is missing on pages served over plain http). They are drawn
 * in blocks, like Node's own randomUUID does, and formatted straight into one flat string: Node's
 * randomUUID builds each id from ~20 concatenated pieces (~700 bytes of garbage per id, and a
 * ~450-byte string tree for each stored job until flattened), which made ids a visible share of
 * job creation.
 */

/** Char codes of the hex digits. */
const HEX = Array.from({ length: 16 }, (_, i) => "0123456789abcdef".charCodeAt(i));
const DASH = 45;

/** 256 ids' worth of random bytes per getRandomValues call (its limit is 65,536). */
const POOL_BYTES = 16 * 256;
const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

/** A random (version 4) UUID, in secure and non-secure contexts alike. */
export function randomId(): string {
  // Filled on first use, not at load: some runtimes (Workers) refuse randomness at global scope.
  if (used === POOL_BYTES) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  const id = format(pool, used);
  used += 16;
  return id;
}

/** Formats 16 random bytes as a version 4, variant 1 UUID (exported for tests). */
export function uuidFromBytes(b: Uint8Array): string {
  return format(b, 0);
}

// Module-level (not closures in format): nothing to allocate per id.
const hi = (b: Uint8Array, i: number): number => HEX[b[i]! >> 4]!;
const lo = (b: Uint8Array, i: number): number => HEX[b[i]! & 15]!;

/** The UUID of the 16 bytes at `p`, with the version and variant bits set; one flat string. */
function format(b: Uint8Array, p: number): string {
  const version = (b[p + 6]! & 0x0f) | 0x40;
  const variant = (b[p + 8]! & 0x3f) | 0x80;
  return String.fromCharCode(
    hi(b, p), lo(b, p), hi(b, p + 1), lo(b, p + 1), hi(b, p + 2), lo(b, p + 2), hi(b, p + 3), lo(b, p + 3), DASH,
    hi(b, p + 4), lo(b, p + 4), hi(b, p + 5), lo(b, p + 5), DASH,
    HEX[version >> 4]!, HEX[version & 15]!, hi(b, p + 7), lo(b, p + 7), DASH,
    HEX[variant >> 4]!, HEX[variant & 15]!, hi(b, p + 9), lo(b, p + 9), DASH,
    hi(b, p + 10), lo(b, p + 10), hi(b, p + 11), lo(b, p + 11), hi(b, p + 12), lo(b, p + 12),
    hi(b, p + 13), lo(b, p + 13), hi(b, p + 14), lo(b, p + 14), hi(b, p + 15), lo(b, p + 15),
  );
}
