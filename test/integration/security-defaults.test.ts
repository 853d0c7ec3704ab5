/**
 * Security defaults of issue 9 §4 over real HTTP: only the newest password-reset token works;
 * a production instance without SMTP_URL never logs a reset link; introspection is off in
 * production unless asked for; the embedded database binds loopback addresses only.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { loadConfig } from "../../src/config.js";
import { connectDatabase } from "../../src/database.js";
import { createServer } from "../../src/server.js";
import { createMailer } from "../../src/mail/mailer.js";
import { startEmbeddedMongo } from "../../src/embedded-mongo/index.js";

const REQUEST = `mutation($e: String!) { requestPasswordReset(email: $e) }`;
const RESET = `mutation($t: String!, $p: String!) { resetPassword(token: $t, newPassword: $p) }`;
const SECRET = "test-secret-that-is-long-enough-0123456789";

describe("security defaults", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const requestToken = async (email: string): Promise<string> => {
    expect((await api.gql(REQUEST, { e: email })).data).toEqual({ requestPasswordReset: true });
    return /token=([A-Za-z0-9_-]+)/.exec(api.mailer.outbox.at(-1)!.text)![1];
  };

  it("voids every older reset token on a new request, a password change and a reset", async () => {
    const ivy = await registerUser(api, "ivy_s");
    // A password change voids a pending token.
    const beforeChange = await requestToken("ivy_s@example.com");
    expect((await api.gql(`mutation { changePassword(currentPassword: "password-123", newPassword: "password-456") }`, {}, ivy.token)).errors).toBeUndefined();
    expect((await api.gql(RESET, { t: beforeChange, p: "password-789" })).errors?.[0]?.extensions?.code).toBe("INVALID_TOKEN");
    // A new request voids the one before it.
    const first = await requestToken("ivy_s@example.com");
    const second = await requestToken("ivy_s@example.com");
    expect((await api.gql(RESET, { t: first, p: "password-789" })).errors?.[0]?.extensions?.code).toBe("INVALID_TOKEN");
    expect((await api.gql(RESET, { t: second, p: "password-789" })).data).toEqual({ resetPassword: true });
    // A reset voids any token still unused (one stored before this rule existed, say).
    const third = await requestToken("ivy_s@example.com");
    await api.db.models.PasswordReset.updateMany({}, { $set: { used: false } });
    const fourth = await requestToken("ivy_s@example.com");
    await api.db.models.PasswordReset.updateMany({}, { $set: { used: false } });
    expect((await api.gql(RESET, { t: fourth, p: "password-abc" })).data).toEqual({ resetPassword: true });
    expect((await api.gql(RESET, { t: third, p: "password-def" })).errors?.[0]?.extensions?.code).toBe("INVALID_TOKEN");
    expect(await api.db.models.PasswordReset.countDocuments({ used: false })).toBe(0);
  });

  it("in production without SMTP_URL, logs that a mail was not sent but never its link", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const uploadDir = await mkdtemp(path.join(tmpdir(), "letsapp-prod-"));
    const config = loadConfig({ NODE_ENV: "production", JWT_SECRET: SECRET, MONGODB_URI: api.mongo.uri, UPLOAD_DIR: uploadDir });
    const db = await connectDatabase({ uri: api.mongo.uri, dbName: api.mongo.dbName });
    const server = await createServer(config, db, { mailer: createMailer(config, log), log });
    try {
      const port = await server.listen(0);
      await registerUser(api, "jon_s");
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: REQUEST, variables: { e: "jon_s@example.com" } }),
      });
      expect(await res.json()).toEqual({ data: { requestPasswordReset: true } });
      const logged = lines.join("\n");
      expect(logged).toContain("jon_s@example.com");
      expect(logged).not.toMatch(/token=|reset-password/);
      expect(await db.models.PasswordReset.countDocuments({ used: false })).toBe(1);
    } finally {
      await server.stop();
      await db.close();
      await rm(uploadDir, { recursive: true, force: true });
    }
  });

  it("switches introspection off in production unless GRAPHQL_INTROSPECTION=true", async () => {
    const query = `{ __schema { queryType { name } } }`;
    const closed = await startTestApi({ NODE_ENV: "production", MONGODB_URI: api.mongo.uri }, { shared: { mongo: api.mongo } });
    const open = await startTestApi({ NODE_ENV: "production", MONGODB_URI: api.mongo.uri, GRAPHQL_INTROSPECTION: "true" }, { shared: { mongo: api.mongo } });
    try {
      expect((await closed.gql(query)).errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
      expect((await open.gql(query)).data).toEqual({ __schema: { queryType: { name: "Query" } } });
    } finally {
      await closed.stop();
      await open.stop();
    }
  });

  it("never lets the embedded database listen beyond loopback (it has no authentication)", async () => {
    await expect(startEmbeddedMongo({ host: "0.0.0.0" })).rejects.toThrow(/loopback/);
    const local = await startEmbeddedMongo({ host: "localhost" });
    await local.stop();
  });
});
