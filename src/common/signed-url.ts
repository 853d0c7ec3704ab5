/**
 * Signed, expiring URLs for downloads: HMAC-SHA256 over the path and expiry, with a key derived
 * from JWT_SECRET for this purpose only. A tampered or expired URL fails verification.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export class UrlSigner {
  private readonly key: Buffer;

  constructor(secret: Uint8Array, private readonly ttlSeconds: number, private readonly base: string) {
    this.key = createHmac("sha256", Buffer.from(secret)).update("letsapp:url-signing:v1").digest();
  }

  private mac(path: string, exp: number): string {
    return createHmac("sha256", this.key).update(`${path}\n${exp}`).digest("base64url");
  }

  /** `path` is absolute (starts with "/"); the result is prefixed with the public base URL, if any. */
  sign(path: string, now = Date.now()): string {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    return `${this.base}${path}?exp=${exp}&sig=${this.mac(path, exp)}`;
  }

  /** True when the signature is the server's and the expiry has not passed. */
  verify(path: string, exp: string | null, sig: string | null, now = Date.now()): boolean {
    if (!exp || !sig || !/^\d+$/.test(exp)) return false;
    const expected = Buffer.from(this.mac(path, Number(exp)));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return false;
    return Number(exp) * 1000 > now;
  }
}
