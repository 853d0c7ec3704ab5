/**
 * Signed, expiring URLs (downloads and upload targets): HMAC-SHA256 over the path, the user
 * the URL was made for and the expiry, with a key derived from JWT_SECRET for this purpose
 * only. The user is part of the signature so a download can re-check, when it happens, that
 * this user may still read the item (a URL outlives neither a deletion nor a lost access).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export type Verdict = "ok" | "expired" | "invalid";

export interface SignedParams {
  /** The user the URL was made for. */
  u: string | null;
  exp: string | null;
  sig: string | null;
}

export class UrlSigner {
  private readonly key: Buffer;

  constructor(
    secret: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly base: string,
  ) {
    this.key = createHmac("sha256", Buffer.from(secret)).update("letsapp:url-signing:v2").digest();
  }

  private mac(path: string, subject: string, exp: number): string {
    return createHmac("sha256", this.key).update(`${path}\n${subject}\n${exp}`).digest("base64url");
  }

  /** `path` is absolute (starts with "/"); the result is prefixed with the public base URL, if any. */
  sign(path: string, subject: string, now = Date.now()): { url: string; expiresAt: Date } {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    return { url: `${this.base}${path}?u=${subject}&exp=${exp}&sig=${this.mac(path, subject, exp)}`, expiresAt: new Date(exp * 1000) };
  }

  /** "ok" when the signature is the server's and the expiry has not passed. */
  verify(path: string, params: SignedParams, now = Date.now()): Verdict {
    const { u, exp, sig } = params;
    if (!u || !exp || !sig || !/^\d{1,12}$/.test(exp)) return "invalid";
    const expected = Buffer.from(this.mac(path, u, Number(exp)));
    const given = Buffer.from(sig);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return "invalid";
    return Number(exp) * 1000 > now ? "ok" : "expired";
  }

  static params(url: URL): SignedParams {
    return { u: url.searchParams.get("u"), exp: url.searchParams.get("exp"), sig: url.searchParams.get("sig") };
  }
}
