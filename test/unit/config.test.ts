/** Config is parsed once and validated; a bad value names the variable. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, withDevSecretFile } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults for development", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      env: "development",
      port: 4000,
      mongodbUri: null,
      redisUrl: null,
      introspection: true,
      accessTokenTtlSeconds: 900,
      uploadMaxBytes: 25 * 1024 * 1024,
      jwtSecretGenerated: true,
    });
    expect(c).toMatchObject({
      callRingTimeoutSeconds: 45,
      presenceGraceMs: 10_000,
      presenceInstanceTtlSeconds: 30,
      uploadDir: "./data/uploads",
      uploadUrlTtlSeconds: 900,
      s3: null,
    });
    expect(c.jwtSecret.length).toBe(32);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads every variable", () => {
    const c = loadConfig({
      NODE_ENV: "production",
      PORT: "8080",
      MONGODB_URI: "mongodb://db:27017/x",
      REDIS_URL: "redis://r:6379",
      JWT_SECRET: "s".repeat(40),
      ACCESS_TOKEN_TTL_SECONDS: "60",
      REFRESH_TOKEN_TTL_SECONDS: "3600",
      GRAPHQL_INTROSPECTION: "false",
      UPLOAD_MAX_BYTES: "1000",
      LOG_LEVEL: "warn",
    });
    const s3 = loadConfig({
      S3_BUCKET: "media",
      S3_ENDPOINT: "http://minio:9000",
      S3_ACCESS_KEY_ID: "k",
      S3_SECRET_ACCESS_KEY: "s",
      CALL_RING_TIMEOUT: "30",
      PRESENCE_GRACE_MS: "0",
      UPLOAD_DIR: "/var/up",
    });
    expect(s3).toMatchObject({
      callRingTimeoutSeconds: 30,
      presenceGraceMs: 0,
      uploadDir: "/var/up",
      s3: { bucket: "media", region: "us-east-1", endpoint: "http://minio:9000", accessKeyId: "k", secretAccessKey: "s", forcePathStyle: true },
    });
    expect(c).toMatchObject({
      env: "production",
      port: 8080,
      mongodbUri: "mongodb://db:27017/x",
      redisUrl: "redis://r:6379",
      accessTokenTtlSeconds: 60,
      refreshTokenTtlSeconds: 3600,
      introspection: false,
      uploadMaxBytes: 1000,
      logLevel: "warn",
      jwtSecretGenerated: false,
    });
  });

  it("reads the operations variables: shutdown timeout, CORS origins, metrics, data directory", () => {
    expect(loadConfig({})).toMatchObject({
      shutdownTimeoutMs: 10_000,
      corsOrigins: ["*"],
      metricsToken: null,
      metricsEnabled: true,
      dataDir: "./data",
      streamHwmIntervalMs: 1000,
    });
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "s".repeat(40), MONGODB_URI: "mongodb://db:27017/x" }).corsOrigins).toEqual([]);
    const c = loadConfig({
      SHUTDOWN_TIMEOUT_MS: "2500",
      CORS_ORIGINS: "https://app.example, http://localhost:5173/",
      METRICS_TOKEN: "t".repeat(20),
      METRICS_ENABLED: "false",
      DATA_DIR: "/var/letsapp",
    });
    expect(c).toMatchObject({
      shutdownTimeoutMs: 2500,
      corsOrigins: ["https://app.example", "http://localhost:5173"],
      metricsToken: "t".repeat(20),
      metricsEnabled: false,
      dataDir: "/var/letsapp",
    });
  });

  it("keeps the development JWT secret in DATA_DIR (mode 0600), the same on every start", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "letsapp-config-"));
    const first = withDevSecretFile(loadConfig({ DATA_DIR: dir }));
    const second = withDevSecretFile(loadConfig({ DATA_DIR: dir }));
    expect(first.jwtSecretGenerated).toBe(false);
    expect(Buffer.from(second.jwtSecret).equals(Buffer.from(first.jwtSecret))).toBe(true);
    const file = path.join(dir, "jwt-secret");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim().length).toBeGreaterThanOrEqual(32);
    // With JWT_SECRET set, or in production, no file is involved.
    const env = withDevSecretFile(loadConfig({ DATA_DIR: dir, JWT_SECRET: "e".repeat(40) }));
    expect(new TextDecoder().decode(env.jwtSecret)).toBe("e".repeat(40));
  });

  it.each([
    [{ SHUTDOWN_TIMEOUT_MS: "soon" }, "SHUTDOWN_TIMEOUT_MS"],
    [{ CORS_ORIGINS: "app.example" }, "CORS_ORIGINS"],
    [{ CORS_ORIGINS: "https://app.example/path" }, "CORS_ORIGINS"],
    [{ NODE_ENV: "production", JWT_SECRET: "s".repeat(40), CORS_ORIGINS: "*", MONGODB_URI: "mongodb://db:27017/x" }, "CORS_ORIGINS"],
    [{ METRICS_TOKEN: "short" }, "METRICS_TOKEN"],
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ MONGODB_URI: "postgres://x" }, "MONGODB_URI"],
    [{ REDIS_URL: "not a url" }, "REDIS_URL"],
    [{ NODE_ENV: "production" }, "JWT_SECRET"],
    [{ JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ GRAPHQL_INTROSPECTION: "maybe" }, "GRAPHQL_INTROSPECTION"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ UPLOAD_MAX_BYTES: "-1" }, "UPLOAD_MAX_BYTES"],
    [{ CALL_RING_TIMEOUT: "0" }, "CALL_RING_TIMEOUT"],
    [{ PRESENCE_INSTANCE_TTL_SECONDS: "120" }, "PRESENCE_INSTANCE_TTL_SECONDS"],
    [{ S3_ENDPOINT: "http://minio:9000" }, "S3_BUCKET"],
    [{ S3_BUCKET: "b", S3_ACCESS_KEY_ID: "k" }, "S3_SECRET_ACCESS_KEY"],
    [{ S3_BUCKET: "b", S3_ENDPOINT: "ftp://x" }, "S3_ENDPOINT"],
  ])("refuses %o naming %s", (env, variable) => {
    let error: unknown;
    try {
      loadConfig(env as Record<string, string>);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toContain(variable);
  });
});

describe("loadConfig: sessions and connections", () => {
  it("defaults to a 90-day login and 20 sockets per user, and reads both", () => {
    expect(loadConfig({})).toMatchObject({ sessionMaxAgeSeconds: 90 * 24 * 3600, maxConnectionsPerUser: 20 });
    expect(loadConfig({ SESSION_MAX_AGE_SECONDS: "86400", MAX_CONNECTIONS_PER_USER: "5" })).toMatchObject({
      sessionMaxAgeSeconds: 86400,
      maxConnectionsPerUser: 5,
    });
  });

  it.each([
    [{ SESSION_MAX_AGE_SECONDS: "10" }, "SESSION_MAX_AGE_SECONDS"],
    [{ MAX_CONNECTIONS_PER_USER: "0" }, "MAX_CONNECTIONS_PER_USER"],
    [{ MAX_CONNECTIONS_PER_USER: "many" }, "MAX_CONNECTIONS_PER_USER"],
  ])("refuses %o naming %s", (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
});

describe("loadConfig: security and abuse limits", () => {
  const prod = { NODE_ENV: "production", JWT_SECRET: "s".repeat(40), MONGODB_URI: "mongodb://db:27017/x" };

  it("has defaults a normal user never hits, and reads every limit", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ trustProxy: null, imageMaxPixels: 50_000_000, auditRetentionDays: 90 });
    expect(c.limits).toMatchObject({
      loginFreeFailures: 5,
      loginBackoffBaseSeconds: 1,
      loginBackoffMaxSeconds: 900,
      loginIpFailures: { limit: 100, windowSeconds: 900 },
      registerPerIp: { capacity: 10, perSeconds: 3600 },
      messages: { capacity: 30, perSeconds: 10 },
      strangerMessages: { capacity: 5, perSeconds: 5 },
      typing: { capacity: 30, perSeconds: 10 },
      callSignals: { capacity: 300, perSeconds: 10 },
      contactRequests: { capacity: 30, perSeconds: 3600 },
      groupChanges: { capacity: 30, perSeconds: 600 },
    });
    const set = loadConfig({
      TRUST_PROXY: "2",
      IMAGE_MAX_PIXELS: "1000",
      AUDIT_RETENTION_DAYS: "7",
      LOGIN_FREE_FAILURES: "3",
      LOGIN_BACKOFF_BASE_SECONDS: "2",
      LOGIN_BACKOFF_MAX_SECONDS: "60",
      LOGIN_IP_FAILURE_LIMIT: "10/60",
      REGISTER_RATE_LIMIT: "1/60",
      MESSAGE_RATE_LIMIT: "2 / 3",
      STRANGER_MESSAGE_RATE_LIMIT: "4/5",
      TYPING_RATE_LIMIT: "6/7",
      CALL_SIGNAL_RATE_LIMIT: "8/9",
      CONTACT_REQUEST_RATE_LIMIT: "10/11",
      GROUP_RATE_LIMIT: "12/13",
    });
    expect(set).toMatchObject({ trustProxy: 2, imageMaxPixels: 1000, auditRetentionDays: 7 });
    expect(set.limits).toMatchObject({
      loginFreeFailures: 3,
      loginBackoffBaseSeconds: 2,
      loginBackoffMaxSeconds: 60,
      loginIpFailures: { limit: 10, windowSeconds: 60 },
      registerPerIp: { capacity: 1, perSeconds: 60 },
      messages: { capacity: 2, perSeconds: 3 },
      strangerMessages: { capacity: 4, perSeconds: 5 },
      typing: { capacity: 6, perSeconds: 7 },
      callSignals: { capacity: 8, perSeconds: 9 },
      contactRequests: { capacity: 10, perSeconds: 11 },
      groupChanges: { capacity: 12, perSeconds: 13 },
    });
    expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, loopback" }).trustProxy).toEqual(["10.0.0.0/8", "loopback"]);
    expect(loadConfig({ TRUST_PROXY: "false" }).trustProxy).toBeNull();
  });

  it("switches introspection off in production unless GRAPHQL_INTROSPECTION=true", () => {
    expect(loadConfig(prod).introspection).toBe(false);
    expect(loadConfig({ ...prod, GRAPHQL_INTROSPECTION: "true" }).introspection).toBe(true);
    expect(loadConfig({}).introspection).toBe(true);
  });

  it("refuses production without MONGODB_URI (the embedded database is in memory)", () => {
    expect(() => loadConfig({ NODE_ENV: "production", JWT_SECRET: "s".repeat(40) })).toThrow(/MONGODB_URI: is required in production/);
  });

  it.each([
    [{ TRUST_PROXY: "not-an-ip" }, "TRUST_PROXY"],
    [{ TRUST_PROXY: "99" }, "TRUST_PROXY"],
    [{ MESSAGE_RATE_LIMIT: "30" }, "MESSAGE_RATE_LIMIT"],
    [{ STRANGER_MESSAGE_RATE_LIMIT: "0/5" }, "STRANGER_MESSAGE_RATE_LIMIT"],
    [{ REGISTER_RATE_LIMIT: "1/0" }, "REGISTER_RATE_LIMIT"],
    [{ LOGIN_IP_FAILURE_LIMIT: "x/y" }, "LOGIN_IP_FAILURE_LIMIT"],
    [{ LOGIN_FREE_FAILURES: "0" }, "LOGIN_FREE_FAILURES"],
    [{ LOGIN_BACKOFF_BASE_SECONDS: "0" }, "LOGIN_BACKOFF_BASE_SECONDS"],
    [{ IMAGE_MAX_PIXELS: "0" }, "IMAGE_MAX_PIXELS"],
    [{ AUDIT_RETENTION_DAYS: "0" }, "AUDIT_RETENTION_DAYS"],
  ])("refuses %o naming %s", (env, variable) => {
    expect(() => loadConfig(env as Record<string, string>)).toThrow(ConfigError);
    expect(() => loadConfig(env as Record<string, string>)).toThrow(new RegExp(`^${variable}:`));
  });

  it("reads the reliability settings (admission control, keep-alive, slow consumers)", () => {
    expect(loadConfig({}).reliability).toEqual({
      maxInFlightRequests: 256,
      maxEventLoopDelayMs: 1000,
      maxRequestDelayMs: 1000,
      shedRetryAfterSeconds: 1,
      admissionQueueMs: 500,
      admissionQueueSize: 128,
      wsPingIntervalMs: 15_000,
      wsConnectionInitTimeoutMs: 10_000,
      wsMaxBufferedBytes: 4 * 1024 * 1024,
      wsSlowConsumerMs: 10_000,
    });
    const c = loadConfig({
      MAX_IN_FLIGHT_REQUESTS: "8",
      MAX_EVENT_LOOP_DELAY_MS: "0",
      MAX_REQUEST_DELAY_MS: "0",
      SHED_RETRY_AFTER_SECONDS: "3",
      ADMISSION_QUEUE_MS: "0",
      ADMISSION_QUEUE_SIZE: "4",
      WS_PING_INTERVAL_MS: "500",
      WS_CONNECTION_INIT_TIMEOUT_MS: "2000",
      WS_MAX_BUFFERED_BYTES: "1024",
      WS_SLOW_CONSUMER_MS: "0",
    });
    expect(c.reliability).toEqual({
      maxInFlightRequests: 8,
      maxEventLoopDelayMs: 0,
      maxRequestDelayMs: 0,
      shedRetryAfterSeconds: 3,
      admissionQueueMs: 0,
      admissionQueueSize: 4,
      wsPingIntervalMs: 500,
      wsConnectionInitTimeoutMs: 2000,
      wsMaxBufferedBytes: 1024,
      wsSlowConsumerMs: 0,
    });
    expect(() => loadConfig({ MAX_IN_FLIGHT_REQUESTS: "0" })).toThrow(/MAX_IN_FLIGHT_REQUESTS: must be between 1 and 100000/);
    expect(() => loadConfig({ WS_PING_INTERVAL_MS: "fast" })).toThrow(/WS_PING_INTERVAL_MS: must be a whole number/);
    expect(() => loadConfig({ ADMISSION_QUEUE_MS: "60001" })).toThrow(/ADMISSION_QUEUE_MS: must be between 0 and 60000/);
  });
});

describe("loadConfig: the embedded database's data directory", () => {
  it("defaults to <DATA_DIR>/db, reads EMBEDDED_DB_PATH, and :memory: keeps nothing", () => {
    expect(loadConfig({}).embeddedDbPath).toBe(path.join("./data", "db"));
    expect(loadConfig({ DATA_DIR: "/var/lib/letsapp" }).embeddedDbPath).toBe("/var/lib/letsapp/db");
    expect(loadConfig({ EMBEDDED_DB_PATH: "/tmp/x" }).embeddedDbPath).toBe("/tmp/x");
    expect(loadConfig({ EMBEDDED_DB_PATH: ":memory:" }).embeddedDbPath).toBeNull();
  });
});
