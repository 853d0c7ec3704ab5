/**
 * Storage true to seed 004: documents written through the API validate against the seed's
 * definitions (every test file checks its own database on stop; this file shows the check
 * sees the documents and catches a bad one).
 */
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser } from "../helpers/users.js";
import { validateSeedCollections } from "../helpers/seed-schema.js";
import { sharedPath } from "../helpers/shared.js";
import { MediaType } from "../../src/modules/media/media.entity.js";

describe.skipIf(!sharedPath("seeds"))("seed 004 conformance", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.stop();
  });

  it("validates users, contacts, reset tokens, media and files written by the API", async () => {
    const a = await registerUser(api, "seeda", { fullName: "Seed A", phoneNumber: "+15550100" });
    const b = await registerUser(api, "seedb");
    await api.gql(`mutation($u: ID!) { requestContact(userId: $u) { id } }`, { u: b.id }, a.token);
    await api.gql(`mutation($u: ID!) { acceptContact(userId: $u) { id } }`, { u: a.id }, b.token);
    await api.gql(`mutation($u: ID!) { updateContact(userId: $u, input: { notes: "n", isFavorite: true }) { id } }`, { u: b.id }, a.token);
    await api.gql(`mutation { requestPasswordReset(email: "seedb@example.com") }`);
    await api.gql(`mutation { changePassword(currentPassword: "password-123", newPassword: "password-456") }`, {}, a.token);
    await api.db.models.Media.create({
      filename: "f.png",
      original_filename: "o.png",
      file_size: 1,
      media_type: MediaType.IMAGE,
      mime_type: "image/png",
      uploader_id: new Types.ObjectId(a.id),
    });
    await api.db.models.File.create({
      filename: "f.txt",
      original_filename: "o.txt",
      file_size: 1,
      mime_type: "text/plain",
      uploader_id: new Types.ObjectId(a.id),
    });

    const result = await validateSeedCollections(api.db.connection);
    expect(result?.failures).toEqual([]);
    expect(result?.checked).toBeGreaterThanOrEqual(2 + 2 + 1 + 1 + 1);
  });

  it("catches a document that is not true to the seed", async () => {
    const id = new Types.ObjectId();
    await api.db.connection.db!.collection("contacts").insertOne({
      _id: id,
      user_id: new Types.ObjectId(),
      contact_id: new Types.ObjectId(),
      status: "friend",
      created_at: new Date(),
      updated_at: new Date(),
    });
    const result = await validateSeedCollections(api.db.connection);
    expect(result?.failures).toEqual([expect.objectContaining({ collection: "contacts", id: id.toHexString() })]);
    await api.db.connection.db!.collection("contacts").deleteOne({ _id: id });
  });
});
