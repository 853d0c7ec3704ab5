/**
 * Access tokens: short-lived JWTs (HS256 pinned) carrying the user and the session family.
 * Refresh tokens: opaque random strings; only their SHA-256 is stored (in `sessions`).
 */
import { createHash, randomBytes } from "node:crypto";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";

export interface AccessClaims {
  userId: string;
  /** The session family the token was issued for (logout revokes it). */
  sessionId: string;
  /** When the token expires (set by verifyAccess): an open WebSocket closes then. */
  expiresAt?: Date;
}

/**
 * Verified tokens kept, so a client's requests after its first skip the HMAC check (jose runs it
 * through WebCrypto on the thread pool: ≈ 3% of an API process's CPU under bench:load). A
 * token string verifies the same way every time under one secret; only its expiry moves, and
 * it is checked on every hit. Revocation is not the token's business: every request still checks
 * its session (auth-checker). Bounded: the oldest entries go first.
 */
const VERIFIED_CACHE_SIZE = 10_000;

export class TokenService {
  private readonly verified = new Map<string, AccessClaims & { expiresAt: Date }>();

  constructor(
    private readonly secret: Uint8Array,
    private readonly accessTtlSeconds: number,
    /** The clock tokens are checked against (tests move it). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** `notAfter`: the login's hard end, which the token may not outlive. */
  async issueAccess(claims: AccessClaims, notAfter: Date | null = null): Promise<{ token: string; expiresAt: Date }> {
    let expiresAt = new Date(Date.now() + this.accessTtlSeconds * 1000);
    if (notAfter && notAfter < expiresAt) expiresAt = notAfter;
    const token = await new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(claims.userId)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
      .sign(this.secret);
    return { token, expiresAt };
  }

  /** The claims of a valid token, or null for a missing, malformed, tampered or expired one. */
  async verifyAccess(token: string): Promise<AccessClaims | null> {
    const now = this.now();
    const known = this.verified.get(token);
    if (known) {
      // jose's rule: expired once now >= exp.
      if (now.getTime() < known.expiresAt.getTime()) return { ...known };
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: ["HS256"], currentDate: now });
      if (typeof payload.sub !== "string" || typeof payload.sid !== "string") return null;
      const claims: AccessClaims = { userId: payload.sub, sessionId: payload.sid };
      if (typeof payload.exp !== "number") return claims;
      const expiring = { ...claims, expiresAt: new Date(payload.exp * 1000) };
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, expiring);
      return { ...expiring };
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) return null;
      throw err;
    }
  }
}

/** 32 random bytes, URL-safe: refresh tokens and password reset tokens. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** The token from an `Authorization: Bearer …` value, or null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m ? m[1] : null;
}
