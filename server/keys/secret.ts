import { createHmac, randomBytes } from "node:crypto";

/**
 * API key secrets: `tm_` + 43 base62 characters encoding 32 random bytes (256 bits).
 * Stored only as HMAC-SHA256 under a server-side pepper.
 */
export const SECRET_PREFIX = "tm_";
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SECRET_BYTES = 32;
/** ceil(256 / log2(62)): every 32-byte value fits, so all secrets have the same length. */
export const SECRET_BODY_LENGTH = 43;
const SECRET_RE = new RegExp(`^${SECRET_PREFIX}[0-9A-Za-z]{${SECRET_BODY_LENGTH}}$`);
/** Characters of the random part shown after `tm_` in lists. */
const DISPLAY_PREFIX_CHARS = 8;

/** Base62 of the bytes as one big-endian number, left-padded with "0" to `length`. */
export function base62(bytes: Uint8Array, length: number): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  let out = "";
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  if (out.length > length) throw new RangeError(`${bytes.length} bytes do not fit ${length} base62 characters`);
  return out.padStart(length, "0");
}

/** A new secret from 32 bytes of the given source (crypto randomness unless a test or the demo seed passes bytes). */
export function generateSecret(bytes: Uint8Array = randomBytes(SECRET_BYTES)): string {
  if (bytes.length !== SECRET_BYTES) throw new RangeError(`a key secret needs exactly ${SECRET_BYTES} bytes`);
  return SECRET_PREFIX + base62(bytes, SECRET_BODY_LENGTH);
}

/** Whether `s` has the shape of a tokenmarket key (checked before hashing, so junk is "unknown" cheaply). */
export function isWellFormedSecret(s: string): boolean {
  return SECRET_RE.test(s);
}

/** Hex HMAC-SHA256 of the secret under the pepper: what the database stores and looks keys up by. */
export function hashSecret(secret: string, pepper: string): string {
  if (!pepper) throw new Error("KEY_PEPPER is empty");
  return createHmac("sha256", pepper).update(secret).digest("hex");
}

/** What lists show: `tm_` + 8 characters, and the last 4. Together 12 of 43 characters: ~184 unknown bits remain. */
export function displayParts(secret: string): { prefix: string; last4: string } {
  return { prefix: secret.slice(0, SECRET_PREFIX.length + DISPLAY_PREFIX_CHARS), last4: secret.slice(-4) };
}
