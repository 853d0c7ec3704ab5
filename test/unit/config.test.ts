/** Config is parsed once and validated; a bad value names the variable. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults for development", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ env: "development", port: 4000, mongodbUri: null, redisUrl: null, introspection: true, accessTokenTtlSeconds: 900, uploadMaxBytes: 25 * 1024 * 1024, jwtSecretGenerated: true });
    expect(c.jwtSecret.length).toBe(32);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads every variable", () => {
    const c = loadConfig({
      NODE_ENV: "production", PORT: "8080", MONGODB_URI: "mongodb://db:27017/x", REDIS_URL: "redis://r:6379", JWT_SECRET: "s".repeat(40),
      ACCESS_TOKEN_TTL_SECONDS: "60", REFRESH_TOKEN_TTL_SECONDS: "3600", GRAPHQL_INTROSPECTION: "false", UPLOAD_MAX_BYTES: "1000", LOG_LEVEL: "warn",
    });
    expect(c).toMatchObject({ env: "production", port: 8080, mongodbUri: "mongodb://db:27017/x", redisUrl: "redis://r:6379", accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 3600, introspection: false, uploadMaxBytes: 1000, logLevel: "warn", jwtSecretGenerated: false });
  });

  it.each([
    [{ PORT: "eighty" }, "PORT"],
    [{ PORT: "70000" }, "PORT"],
    [{ MONGODB_URI: "postgres://x" }, "MONGODB_URI"],
    [{ REDIS_URL: "not a url" }, "REDIS_URL"],
    [{ NODE_ENV: "production" }, "JWT_SECRET"],
    [{ JWT_SECRET: "short" }, "JWT_SECRET"],
    [{ GRAPHQL_INTROSPECTION: "maybe" }, "GRAPHQL_INTROSPECTION"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ UPLOAD_MAX_BYTES: "-1" }, "UPLOAD_MAX_BYTES"],
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
