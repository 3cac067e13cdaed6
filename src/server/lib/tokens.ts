import { hash, randomBytes, timingSafeEqual } from "node:crypto";

/** A URL-safe random token of `bytes` bytes (default 32 = 256 bits) from the CSPRNG. */
export function newToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * Tokens are high-entropy, so a plain SHA-256 is the right storage hash (no salt, no slow hash
 * needed). The one-shot `crypto.hash` runs on every authenticated request: it costs about half
 * of createHash().update().digest() there.
 */
export function hashToken(token: string): string {
  return hash("sha256", token, "hex");
}

export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}
