import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Upstream credentials at rest: AES-256-GCM with a 96-bit random IV, stored as
 * `v1.<iv>.<tag>.<ciphertext>` (base64url). The listing id is the additional
 * authenticated data, so a ciphertext copied onto another listing fails to decrypt.
 */

const VERSION = "v1";

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
