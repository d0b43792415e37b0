import { createHash, randomBytes } from "node:crypto";

// Random bytes drawn 4 KiB at a time: one crypto call per 256 ids instead of one per id
// (the proxy makes an id per request). Same CSPRNG, same bits.
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = POOL_SIZE;
function randomInto(b: Buffer) {
  if (offset + 16 > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  pool.copy(b, 0, offset, offset + 16);
  offset += 16;
}

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered
 * ids keep B-tree inserts at the right edge of the index (~20% faster here than v4).
 */
export function uuidv7(now: number = Date.now()): string {
  const b = Buffer.allocUnsafe(16);
  randomInto(b);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Milliseconds since the epoch encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.replace(/-/g, "").slice(0, 12), 16);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * A deterministic UUID (version 8, SHA-256 based) for a name: the same source
 * object always maps to the same id, which makes ledger writes derived from
 * redelivered events idempotent.
 */
export function nameUuid(...parts: string[]): string {
  const b = createHash("sha256").update(parts.join("\u0000")).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
