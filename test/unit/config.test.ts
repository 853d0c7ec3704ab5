/** Config is parsed once and validated; a bad value names the variable. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, withDevSecretFile } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults for development", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ env: "development", port: 4000, mongodbUri: null, redisUrl: null, introspection: true, accessTokenTtlSeconds: 900, uploadMaxBytes: 25 * 1024 * 1024, jwtSecretGenerated: true });
    expect(c).toMatchObject({ callRingTimeoutSeconds: 45, presenceGraceMs: 10_000, presenceInstanceTtlSeconds: 30, uploadDir: "./data/uploads", uploadUrlTtlSeconds: 900, s3: null });
    expect(c.jwtSecret.length).toBe(32);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads every variable", () => {
    const c = loadConfig({
      NODE_ENV: "production", PORT: "8080", MONGODB_URI: "mongodb://db:27017/x", REDIS_URL: "redis://r:6379", JWT_SECRET: "s".repeat(40),
      ACCESS_TOKEN_TTL_SECONDS: "60", REFRESH_TOKEN_TTL_SECONDS: "3600", GRAPHQL_INTROSPECTION: "false", UPLOAD_MAX_BYTES: "1000", LOG_LEVEL: "warn",
    });
    const s3 = loadConfig({ S3_BUCKET: "media", S3_ENDPOINT: "http://minio:9000", S3_ACCESS_KEY_ID: "k", S3_SECRET_ACCESS_KEY: "s", CALL_RING_TIMEOUT: "30", PRESENCE_GRACE_MS: "0", UPLOAD_DIR: "/var/up" });
    expect(s3).toMatchObject({ callRingTimeoutSeconds: 30, presenceGraceMs: 0, uploadDir: "/var/up", s3: { bucket: "media", region: "us-east-1", endpoint: "http://minio:9000", accessKeyId: "k", secretAccessKey: "s", forcePathStyle: true } });
    expect(c).toMatchObject({ env: "production", port: 8080, mongodbUri: "mongodb://db:27017/x", redisUrl: "redis://r:6379", accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 3600, introspection: false, uploadMaxBytes: 1000, logLevel: "warn", jwtSecretGenerated: false });
  });

  it("reads the operations variables: shutdown timeout, CORS origins, metrics, data directory", () => {
    expect(loadConfig({})).toMatchObject({ shutdownTimeoutMs: 10_000, corsOrigins: ["*"], metricsToken: null, metricsEnabled: true, dataDir: "./data" });
    expect(loadConfig({ NODE_ENV: "production", JWT_SECRET: "s".repeat(40) }).corsOrigins).toEqual([]);
    const c = loadConfig({ SHUTDOWN_TIMEOUT_MS: "2500", CORS_ORIGINS: "https://app.example, http://localhost:5173/", METRICS_TOKEN: "t".repeat(20), METRICS_ENABLED: "false", DATA_DIR: "/var/letsapp" });
    expect(c).toMatchObject({ shutdownTimeoutMs: 2500, corsOrigins: ["https://app.example", "http://localhost:5173"], metricsToken: "t".repeat(20), metricsEnabled: false, dataDir: "/var/letsapp" });
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
    [{ NODE_ENV: "production", JWT_SECRET: "s".repeat(40), CORS_ORIGINS: "*" }, "CORS_ORIGINS"],
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
