/**
 * The key that encrypts upstream credentials at rest (server/catalog/crypto.ts), as
 * ENCRYPTION_KEY gives it. A leaf module, so env validation needs no cipher code.
 */

/** A 32-byte key from 64 hex characters or base64/base64url text; throws Error naming the problem. */
export function parseEncryptionKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && !/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(t))) {
    throw new Error("must be 32 bytes, as 64 hex characters or base64");
  }
  return key;
}
