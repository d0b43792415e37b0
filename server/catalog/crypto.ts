import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Upstream credentials at rest: AES-256-GCM with a 96-bit random IV, stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url). The listing id is the additional
 * authenticated data, so a ciphertext copied onto another listing fails to decrypt.
 */

const VERSION = "v1";

/** A 32-byte key from 64 hex characters or base64/base64url text; throws Error naming the problem. */
export function parseEncryptionKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (key.length !== 32 || (!/^[0-9a-fA-F]{64}$/.test(t) && !/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(t))) {
    throw new Error("must be 32 bytes, as 64 hex characters or base64");
  }
  return key;
}

export function encryptCredential(plaintext: string, key: Buffer, listingId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(listingId));
  const data = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString("base64url"), tag.toString("base64url"), data.toString("base64url")].join(".");
}

/** Throws when the key, the listing id or the ciphertext do not match (GCM authentication). */
export function decryptCredential(stored: string, key: Buffer, listingId: string): string {
  const [version, iv, tag, data] = stored.split(".");
  if (version !== VERSION || !iv || !tag || data === undefined) throw new Error("not an encrypted credential");
  // Pinned: otherwise GCM accepts a truncated tag, and a 4-byte tag can be forged by trying.
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(listingId));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString("utf8");
}

/** What people see of a saved credential: `••••` and its last 4 characters. */
export function maskCredential(last4: string | null): string | null {
  return last4 === null ? null : `••••${last4}`;
}

/** The last 4 characters kept in clear for the mask (fewer if the credential is very short). */
export function credentialLast4(plaintext: string): string {
  // A credential of 8 characters or fewer would be half revealed by its last 4.
  return plaintext.length > 8 ? plaintext.slice(-4) : "";
}
