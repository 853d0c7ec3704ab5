/**
 * Configuration from the environment, parsed and validated once at start-up into one frozen,
 * typed object. A bad value stops start-up with a message naming the variable.
 */
import { randomBytes } from "node:crypto";
import proxyaddr from "proxy-addr";
import type { Bucket, RateRule } from "./auth/rate-limiter.js";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface Config {
  readonly env: "production" | "development" | "test";
  readonly port: number;
  /** Null: start the embedded MongoDB-compatible server. */
  readonly mongodbUri: string | null;
  readonly redisUrl: string | null;
  readonly jwtSecret: Uint8Array;
  /** True when JWT_SECRET was not set and a random one is in use (development only). */
  readonly jwtSecretGenerated: boolean;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Absolute lifetime of a login, however often its refresh token is rotated. */
  readonly sessionMaxAgeSeconds: number;
  /** WebSockets one user may hold; the oldest beyond it is closed with 4429. */
  readonly maxConnectionsPerUser: number;
  readonly passwordResetTtlSeconds: number;
  readonly introspection: boolean;
  readonly uploadMaxBytes: number;
  /** Lifetime of signed download URLs. */
  readonly downloadUrlTtlSeconds: number;
  readonly logLevel: LogLevel;
  readonly publicUrl: string | null;
  readonly smtpUrl: string | null;
  readonly mailFrom: string;
  /** Seconds a call may ring before it is MISSED (CALL_RING_TIMEOUT). */
  readonly callRingTimeoutSeconds: number;
  /** How long after a user's last WebSocket closes they turn OFFLINE (a reconnect within it changes nothing). */
  readonly presenceGraceMs: number;
  /** Lifetime of an instance's presence heartbeat in Redis: a crashed instance's users go OFFLINE after it. */
  readonly presenceInstanceTtlSeconds: number;
  /** Where uploaded bytes live when S3 is not configured. */
  readonly uploadDir: string;
  /** Lifetime of a signed upload URL. */
  readonly uploadUrlTtlSeconds: number;
  /** Uploads one user may start per 10 minutes. */
  readonly uploadRateLimit: number;
  /** S3-compatible storage, when S3_BUCKET is set. */
  readonly s3: S3Config | null;
  /** Which peers may set X-Forwarded-For (TRUST_PROXY): a hop count or addresses/CIDRs; null: none. */
  readonly trustProxy: number | string[] | null;
  readonly limits: AbuseLimits;
  /** Largest image accepted at completeUpload, in pixels (width × height). */
  readonly imageMaxPixels: number;
  /** Days a security event is kept. */
  readonly auditRetentionDays: number;
  /** Where the development JWT secret file lives (DATA_DIR). */
  readonly dataDir: string;
  /** The embedded database's data directory without MONGODB_URI (EMBEDDED_DB_PATH); null: in memory. */
  readonly embeddedDbPath: string | null;
  /** SIGTERM/SIGINT: the longest a graceful stop may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  /** Origins allowed by CORS on /graphql and the byte routes; ["*"] for any (not in production); [] for none. */
  readonly corsOrigins: readonly string[];
  /** GET /metrics: null serves it openly; a token requires `Authorization: Bearer <token>`. */
  readonly metricsToken: string | null;
  /** GET /metrics is served at all (METRICS_ENABLED). */
  readonly metricsEnabled: boolean;
  /** How often live messageAdded streams compare what they delivered with `last_seq` (one query per instance). */
  readonly streamHwmIntervalMs: number;
  /** Seconds after sending during which a message may be edited (MESSAGE_EDIT_WINDOW_SECONDS); null: no limit. */
  readonly messageEditWindowSeconds: number | null;
  /** Admission control and dead-peer detection (README "Reliability"). */
  readonly reliability: ReliabilityConfig;
  readonly requests: RequestLimits;
}

/** Limits on what one request or WebSocket may carry (HTTP and graphql-ws alike). */
export interface RequestLimits {
  /** Largest accepted request body: GraphQL documents and variables; uploads go elsewhere (MAX_BODY_BYTES). */
  readonly maxBodyBytes: number;
  /** Largest accepted WebSocket message (MAX_WS_PAYLOAD_BYTES). */
  readonly maxWsPayloadBytes: number;
  /** Subscriptions one WebSocket connection may hold at once (MAX_WS_OPERATIONS). */
  readonly maxWsOperations: number;
  /** Largest GraphQL document, in tokens (MAX_DOCUMENT_TOKENS). */
  readonly maxTokens: number;
  /** Deepest selection (MAX_QUERY_DEPTH). */
  readonly maxDepth: number;
  /** graphql-armor's cost limit (MAX_QUERY_COST). */
  readonly maxCost: number;
  /** Aliases per document (MAX_QUERY_ALIASES). */
  readonly maxAliases: number;
  /** Directives per document (MAX_QUERY_DIRECTIVES). */
  readonly maxDirectives: number;
}

/** How an instance protects itself past capacity and notices peers that went away. */
export interface ReliabilityConfig {
  /** GraphQL HTTP requests executing at once; beyond it a request gets 503 + Retry-After at once (MAX_IN_FLIGHT_REQUESTS). */
  readonly maxInFlightRequests: number;
  /** Event-loop delay (p99 over the last second, ms) past which new requests are shed; 0: off (MAX_EVENT_LOOP_DELAY_MS). */
  readonly maxEventLoopDelayMs: number;
  /** A standing queue: the fastest request of the last half second took longer (ms); 0: off (MAX_REQUEST_DELAY_MS). */
  readonly maxRequestDelayMs: number;
  /** The Retry-After (seconds) of a shed request (SHED_RETRY_AFTER_SECONDS). */
  readonly shedRetryAfterSeconds: number;
  /**
   * The longest a request may wait for a slot, oldest retry first, before it gets its 503;
   * 0: no waiting, refused at once (ADMISSION_QUEUE_MS).
   */
  readonly admissionQueueMs: number;
  /** Requests waiting for a slot at most; past it the youngest is refused at once (ADMISSION_QUEUE_SIZE). */
  readonly admissionQueueSize: number;
  /** WebSocket ping interval; a socket that has not answered the previous ping is terminated (WS_PING_INTERVAL_MS). */
  readonly wsPingIntervalMs: number;
  /** Time a new graphql-ws socket has to send connection_init (WS_CONNECTION_INIT_TIMEOUT_MS). */
  readonly wsConnectionInitTimeoutMs: number;
  /** Bytes a socket may have queued unsent (WS_MAX_BUFFERED_BYTES)... */
  readonly wsMaxBufferedBytes: number;
  /** ...for at most this long before it is closed with 1013 (WS_SLOW_CONSUMER_MS). */
  readonly wsSlowConsumerMs: number;
}

/** Abuse limits (README "Security and privacy"); buckets are "capacity/seconds to refill it". */
export interface AbuseLimits {
  /** Failed logins per account and IP before each further failure blocks that pair, exponentially longer. */
  readonly loginFreeFailures: number;
  readonly loginBackoffBaseSeconds: number;
  readonly loginBackoffMaxSeconds: number;
  /** Failed logins per IP (any account) per window. */
  readonly loginIpFailures: RateRule;
  readonly registerPerIp: Bucket;
  readonly messages: Bucket;
  /** Per sender and conversation, when the recipient has not accepted the sender as a contact. */
  readonly strangerMessages: Bucket;
  readonly typing: Bucket;
  /** addReaction and removeReaction, per user. */
  readonly reactions: Bucket;
  /** Edits, deletes, hides, message pins and the member's own conversation state, per user. */
  readonly memberActions: Bucket;
  readonly callSignals: Bucket;
  readonly contactRequests: Bucket;
  /** createGroup and addGroupMembers calls. */
  readonly groupChanges: Bucket;
}

export interface S3Config {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint: string | null;
  readonly accessKeyId: string | null;
  readonly secretAccessKey: string | null;
  readonly forcePathStyle: boolean;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A whole number within [min, max], or null when the variable is unset or empty (no limit). */
function optionalInt(env: Env, name: string, min: number, max: number): number | null {
  const raw = env[name];
  return raw === undefined || raw.trim() === "" ? null : int(env, name, 0, min, max);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${env[name]}"`);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must use ${protocols.join(" or ")}, got ${parsed.protocol}`);
  return raw;
}

function s3(env: Env): S3Config | null {
  const bucket = env.S3_BUCKET?.trim();
  if (!bucket) {
    for (const name of ["S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"]) {
      if (env[name]?.trim()) throw new ConfigError("S3_BUCKET", `is required when ${name} is set`);
    }
    return null;
  }
  const accessKeyId = env.S3_ACCESS_KEY_ID?.trim() || null;
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY?.trim() || null;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) throw new ConfigError("S3_SECRET_ACCESS_KEY", "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together");
  return {
    bucket,
    region: env.S3_REGION?.trim() || "us-east-1",
    endpoint: url(env, "S3_ENDPOINT", ["http:", "https:"]),
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, "S3_FORCE_PATH_STYLE", Boolean(env.S3_ENDPOINT?.trim())),
  };
}

/** "N/S": N per S seconds (a bucket of N refilled every S seconds, or N per window of S). */
function rate(env: Env, name: string, fallback: string): Bucket & RateRule {
  const raw = env[name]?.trim() || fallback;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(raw);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 1_000_000 || Number(m[2]) < 1 || Number(m[2]) > 7 * 24 * 3600) {
    throw new ConfigError(name, `must be "count/seconds" such as 30/10 (count 1 to 1000000, seconds 1 to 604800), got "${raw}"`);
  }
  const [count, seconds] = [Number(m[1]), Number(m[2])];
  return { capacity: count, perSeconds: seconds, limit: count, windowSeconds: seconds };
}

/** TRUST_PROXY: unset/false: none; a number: that many proxy hops; else addresses or CIDRs (proxy-addr names such as loopback too). */
function trustProxy(env: Env): number | string[] | null {
  const raw = env.TRUST_PROXY?.trim();
  if (!raw || ["false", "0", "no", "off"].includes(raw.toLowerCase())) return null;
  if (/^\d+$/.test(raw)) {
    if (Number(raw) > 20) throw new ConfigError("TRUST_PROXY", `a hop count must be at most 20, got ${raw}`);
    return Number(raw);
  }
  const list = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    proxyaddr.compile(list);
  } catch (err) {
    throw new ConfigError("TRUST_PROXY", `must be a hop count or a comma-separated list of addresses/CIDRs: ${(err as Error).message}`);
  }
  return list;
}

function abuseLimits(env: Env): AbuseLimits {
  const base = int(env, "LOGIN_BACKOFF_BASE_SECONDS", 1, 1, 3600);
  return {
    loginFreeFailures: int(env, "LOGIN_FREE_FAILURES", 5, 1, 1000),
    loginBackoffBaseSeconds: base,
    loginBackoffMaxSeconds: Math.max(base, int(env, "LOGIN_BACKOFF_MAX_SECONDS", 900, 1, 24 * 3600)),
    loginIpFailures: rate(env, "LOGIN_IP_FAILURE_LIMIT", "100/900"),
    registerPerIp: rate(env, "REGISTER_RATE_LIMIT", "10/3600"),
    messages: rate(env, "MESSAGE_RATE_LIMIT", "30/10"),
    strangerMessages: rate(env, "STRANGER_MESSAGE_RATE_LIMIT", "5/5"),
    typing: rate(env, "TYPING_RATE_LIMIT", "30/10"),
    reactions: rate(env, "REACTION_RATE_LIMIT", "60/10"),
    memberActions: rate(env, "MEMBER_ACTION_RATE_LIMIT", "60/10"),
    callSignals: rate(env, "CALL_SIGNAL_RATE_LIMIT", "300/10"),
    contactRequests: rate(env, "CONTACT_REQUEST_RATE_LIMIT", "30/3600"),
    groupChanges: rate(env, "GROUP_RATE_LIMIT", "30/600"),
  };
}

/** EMBEDDED_DB_PATH: default `<DATA_DIR>/db`; ":memory:" keeps the embedded database in memory. */
function embeddedDbPath(env: Env): string | null {
  const raw = env.EMBEDDED_DB_PATH?.trim();
  if (raw === ":memory:") return null;
  return raw || path.join(env.DATA_DIR?.trim() || "./data", "db");
}

/**
 * CORS_ORIGINS: a comma list of exact origins (scheme://host[:port]). `*` (any origin) is for
 * development only: in production the allowed browsers are named.
 */
function corsOrigins(env: Env, production: boolean): string[] {
  const raw = env.CORS_ORIGINS?.trim();
  if (!raw) return production ? [] : ["*"];
  const list = raw
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  if (list.includes("*")) {
    if (production) throw new ConfigError("CORS_ORIGINS", '"*" is not allowed in production: list the origins');
    return ["*"];
  }
  for (const origin of list) {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError("CORS_ORIGINS", `"${origin}" is not an origin (scheme://host[:port])`);
    }
    if (parsed.origin !== origin.replace(/\/$/, "")) throw new ConfigError("CORS_ORIGINS", `"${origin}" is not an origin (scheme://host[:port], no path)`);
  }
  return list.map((o) => o.replace(/\/$/, ""));
}

const LOG_LEVELS: LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = env.NODE_ENV ?? "development";
  if (!["production", "development", "test"].includes(nodeEnv)) {
    throw new ConfigError("NODE_ENV", `must be production, development or test, got "${nodeEnv}"`);
  }
  const production = nodeEnv === "production";

  const secret = env.JWT_SECRET;
  if (production && !secret) throw new ConfigError("JWT_SECRET", "is required in production");
  if (secret !== undefined && secret.length < 32) throw new ConfigError("JWT_SECRET", "must be at least 32 characters");

  // In-memory data in production would be lost at the first restart.
  if (production && !env.MONGODB_URI?.trim())
    throw new ConfigError("MONGODB_URI", "is required in production (without it the embedded in-memory database would lose every write on restart)");

  const logLevel = (env.LOG_LEVEL ?? (nodeEnv === "test" ? "silent" : "info")) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError("LOG_LEVEL", `must be one of ${LOG_LEVELS.join(", ")}`);

  return Object.freeze({
    env: nodeEnv as Config["env"],
    port: int(env, "PORT", 4000, 0, 65535),
    mongodbUri: url(env, "MONGODB_URI", ["mongodb:", "mongodb+srv:"]),
    redisUrl: url(env, "REDIS_URL", ["redis:", "rediss:"]),
    jwtSecret: secret ? new TextEncoder().encode(secret) : new Uint8Array(randomBytes(32)),
    jwtSecretGenerated: !secret,
    accessTokenTtlSeconds: int(env, "ACCESS_TOKEN_TTL_SECONDS", 15 * 60, 30, 24 * 3600),
    refreshTokenTtlSeconds: int(env, "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600, 60, 365 * 24 * 3600),
    sessionMaxAgeSeconds: int(env, "SESSION_MAX_AGE_SECONDS", 90 * 24 * 3600, 60, 5 * 365 * 24 * 3600),
    maxConnectionsPerUser: int(env, "MAX_CONNECTIONS_PER_USER", 20, 1, 1000),
    passwordResetTtlSeconds: int(env, "PASSWORD_RESET_TTL_SECONDS", 3600, 60, 7 * 24 * 3600),
    // Playgrounds need it in development; production opts in explicitly.
    introspection: bool(env, "GRAPHQL_INTROSPECTION", !production),
    uploadMaxBytes: int(env, "UPLOAD_MAX_BYTES", 25 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    downloadUrlTtlSeconds: int(env, "DOWNLOAD_URL_TTL_SECONDS", 3600, 10, 7 * 24 * 3600),
    logLevel,
    publicUrl: url(env, "PUBLIC_URL", ["http:", "https:"]),
    smtpUrl: url(env, "SMTP_URL", ["smtp:", "smtps:"]),
    mailFrom: env.MAIL_FROM?.trim() || "LetsApp <no-reply@letsapp.local>",
    callRingTimeoutSeconds: int(env, "CALL_RING_TIMEOUT", 45, 1, 600),
    presenceGraceMs: int(env, "PRESENCE_GRACE_MS", 10_000, 0, 10 * 60_000),
    presenceInstanceTtlSeconds: int(env, "PRESENCE_INSTANCE_TTL_SECONDS", 30, 2, 45),
    uploadDir: env.UPLOAD_DIR?.trim() || "./data/uploads",
    uploadUrlTtlSeconds: int(env, "UPLOAD_URL_TTL_SECONDS", 15 * 60, 1, 24 * 3600),
    uploadRateLimit: int(env, "UPLOAD_RATE_LIMIT", 200, 1, 100_000),
    s3: s3(env),
    trustProxy: trustProxy(env),
    limits: abuseLimits(env),
    imageMaxPixels: int(env, "IMAGE_MAX_PIXELS", 50_000_000, 1, 1_000_000_000),
    auditRetentionDays: int(env, "AUDIT_RETENTION_DAYS", 90, 1, 3650),
    dataDir: env.DATA_DIR?.trim() || "./data",
    embeddedDbPath: embeddedDbPath(env),
    shutdownTimeoutMs: int(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 100, 10 * 60_000),
    corsOrigins: corsOrigins(env, production),
    metricsToken: metricsToken(env),
    metricsEnabled: bool(env, "METRICS_ENABLED", true),
    streamHwmIntervalMs: int(env, "STREAM_HWM_INTERVAL_MS", 1000, 50, 60_000),
    messageEditWindowSeconds: optionalInt(env, "MESSAGE_EDIT_WINDOW_SECONDS", 1, 10 * 365 * 24 * 3600),
    reliability: reliability(env),
    requests: requestLimits(env),
  });
}

function requestLimits(env: Env): RequestLimits {
  return Object.freeze({
    maxBodyBytes: int(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxWsPayloadBytes: int(env, "MAX_WS_PAYLOAD_BYTES", 256 * 1024, 1024, 64 * 1024 * 1024),
    maxWsOperations: int(env, "MAX_WS_OPERATIONS", 100, 1, 10_000),
    maxTokens: int(env, "MAX_DOCUMENT_TOKENS", 2000, 100, 1_000_000),
    maxDepth: int(env, "MAX_QUERY_DEPTH", 10, 1, 1000),
    maxCost: int(env, "MAX_QUERY_COST", 5000, 1, 10_000_000),
    maxAliases: int(env, "MAX_QUERY_ALIASES", 15, 0, 10_000),
    maxDirectives: int(env, "MAX_QUERY_DIRECTIVES", 50, 0, 10_000),
  });
}

function reliability(env: Env): ReliabilityConfig {
  return Object.freeze({
    maxInFlightRequests: int(env, "MAX_IN_FLIGHT_REQUESTS", 256, 1, 100_000),
    maxEventLoopDelayMs: int(env, "MAX_EVENT_LOOP_DELAY_MS", 1000, 0, 60_000),
    maxRequestDelayMs: int(env, "MAX_REQUEST_DELAY_MS", 1000, 0, 60_000),
    shedRetryAfterSeconds: int(env, "SHED_RETRY_AFTER_SECONDS", 1, 1, 600),
    admissionQueueMs: int(env, "ADMISSION_QUEUE_MS", 500, 0, 60_000),
    admissionQueueSize: int(env, "ADMISSION_QUEUE_SIZE", 128, 0, 100_000),
    wsPingIntervalMs: int(env, "WS_PING_INTERVAL_MS", 15_000, 100, 10 * 60_000),
    wsConnectionInitTimeoutMs: int(env, "WS_CONNECTION_INIT_TIMEOUT_MS", 10_000, 100, 10 * 60_000),
    wsMaxBufferedBytes: int(env, "WS_MAX_BUFFERED_BYTES", 4 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    wsSlowConsumerMs: int(env, "WS_SLOW_CONSUMER_MS", 10_000, 0, 10 * 60_000),
  });
}

function metricsToken(env: Env): string | null {
  const token = env.METRICS_TOKEN?.trim();
  if (!token) return null;
  if (token.length < 16) throw new ConfigError("METRICS_TOKEN", "must be at least 16 characters");
  return token;
}

/**
 * Without JWT_SECRET outside production, the secret is kept in `<DATA_DIR>/jwt-secret` (created
 * once, mode 0600) so tokens survive a restart of the API, instead of a random one per start.
 * Returns the config unchanged when the secret came from the environment.
 */
export function withDevSecretFile(config: Config): Config & { jwtSecretFile?: string } {
  if (!config.jwtSecretGenerated || config.env === "production") return config;
  const file = path.resolve(config.dataDir, "jwt-secret");
  let secret: string | null = null;
  try {
    secret = readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new ConfigError("DATA_DIR", `cannot read ${file}: ${(err as Error).message}`);
  }
  if (!secret || secret.length < 32) {
    secret = randomBytes(32).toString("hex");
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, secret + "\n", { mode: 0o600 });
      chmodSync(file, 0o600);
    } catch (err) {
      throw new ConfigError("DATA_DIR", `cannot write ${file}: ${(err as Error).message}`);
    }
  }
  return Object.freeze({ ...config, jwtSecret: new TextEncoder().encode(secret), jwtSecretGenerated: false, jwtSecretFile: file });
}
