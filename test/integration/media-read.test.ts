/**
 * Media and files, read side: access rules, signed URLs, profile pictures through a per-request
 * loader (the number of database commands does not grow with the number of users).
 */
import { Types } from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countCommands, startTestApi, type TestApi } from "../helpers/api.js";
import { registerUser, type TestUser } from "../helpers/users.js";
import { UrlSigner } from "../../src/common/signed-url.js";
import { MediaType } from "../../src/modules/media/media.entity.js";
import { Visibility } from "../../src/modules/user/privacy.js";

describe("media and files (read side)", () => {
  let api: TestApi;
  let owner: TestUser, other: TestUser;
  let imageId: string, fileId: string;

  beforeAll(async () => {
    api = await startTestApi();
    owner = await registerUser(api, "owner");
    other = await registerUser(api, "other");
    // Uploads arrive with issue 5; the stored shape is what they will write.
    const image = await api.db.models.Media.create({
      filename: "a1b2c3.png",
      original_filename: "me.png",
      file_size: 1234,
      media_type: MediaType.IMAGE,
      mime_type: "image/png",
      uploader_id: new Types.ObjectId(owner.id),
      width: 64,
      height: 48,
      thumbnail: "a1b2c3.thumb.webp",
      optimized: true,
    });
    const file = await api.db.models.File.create({
      filename: "d4e5f6.pdf",
      original_filename: "report.pdf",
      file_size: 999,
      mime_type: "application/pdf",
      uploader_id: new Types.ObjectId(owner.id),
    });
    imageId = image._id.toHexString();
    fileId = file._id.toHexString();
  });
  afterAll(async () => {
    await api?.stop();
  });

  const MEDIA = `query($id: ID!) { media(id: $id) { id filename originalFilename fileSize mediaType mimeType width height viewCount optimized url thumbnailUrl uploader { username } } }`;

  it("shows media and files to the uploader with signed, expiring URLs", async () => {
    const res = await api.gql<{ media: Record<string, unknown> }>(MEDIA, { id: imageId }, owner.token);
    expect(res.data?.media).toMatchObject({
      id: imageId,
      originalFilename: "me.png",
      mediaType: "IMAGE",
      width: 64,
      height: 48,
      viewCount: 0,
      optimized: true,
      uploader: { username: "owner" },
    });
    const url = new URL(String(res.data?.media.url), "http://x");
    expect(url.pathname).toBe(`/files/media/${imageId}`);
    const signer = new UrlSigner(api.config.jwtSecret, api.config.downloadUrlTtlSeconds, "");
    const params = UrlSigner.params(url);
    expect(params.u).toBe(owner.id);
    expect(signer.verify(url.pathname, params)).toBe("ok");
    expect(signer.verify(url.pathname + "x", params)).toBe("invalid");
    expect(signer.verify(url.pathname, { ...params, u: other.id })).toBe("invalid");
    expect(signer.verify(url.pathname, params, Date.now() + 2 * 3600 * 1000)).toBe("expired");
    expect(String(res.data?.media.thumbnailUrl)).toContain(`/files/media/${imageId}/thumbnail?`);
    const file = await api.gql<{ file: Record<string, unknown> }>(
      `query($id: ID!) { file(id: $id) { originalFilename downloadCount url } }`,
      { id: fileId },
      owner.token,
    );
    const node = await api.gql(
      `query($a: ID!, $b: ID!) { a: node(id: $a) { __typename id } b: node(id: $b) { __typename id } }`,
      { a: imageId, b: fileId },
      owner.token,
    );
    expect(node.data).toEqual({ a: { __typename: "Media", id: imageId }, b: { __typename: "File", id: fileId } });
    expect(file.data?.file).toMatchObject({
      originalFilename: "report.pdf",
      downloadCount: 0,
      url: expect.stringContaining(`/files/file/${fileId}?u=${owner.id}&exp=`),
    });
  });

  it("hides them from others (NOT_FOUND) until the image is a profile picture", async () => {
    expect((await api.gql(MEDIA, { id: imageId }, other.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(`query($id: ID!) { file(id: $id) { id } }`, { id: fileId }, other.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(MEDIA, { id: "zz" }, other.token)).errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    // Only the uploader's own image can become their profile picture.
    const foreign = await api.gql(`mutation($p: ID) { updateProfile(input: { profilePictureId: $p }) { id } }`, { p: imageId }, other.token);
    expect(foreign.errors?.[0].extensions?.code).toBe("NOT_FOUND");
    const set = await api.gql<{ updateProfile: { profilePicture: { id: string } } }>(
      `mutation($p: ID) { updateProfile(input: { profilePictureId: $p }) { profilePicture { id } } }`,
      { p: imageId },
      owner.token,
    );
    expect(set.data?.updateProfile.profilePicture.id).toBe(imageId);
    // other is not owner's contact: the picture shows (on the profile and by its id) once owner
    // shows it to everyone; the default is contacts only.
    expect((await api.gql(`query($id: ID!) { user(id: $id) { profilePicture { url } } }`, { id: owner.id }, other.token)).data).toEqual({
      user: { profilePicture: null },
    });
    expect((await api.gql(MEDIA, { id: imageId }, other.token)).errors?.[0].extensions?.code).toBe("NOT_FOUND");
    expect((await api.gql(`mutation { updateSettings(input: { profilePictureVisibility: EVERYONE }) { id } }`, {}, owner.token)).errors).toBeUndefined();
    expect((await api.gql(MEDIA, { id: imageId }, other.token)).data).toMatchObject({ media: { id: imageId } });
    const seen = await api.gql(`query($id: ID!) { user(id: $id) { profilePicture { url } } }`, { id: owner.id }, other.token);
    expect(seen.data).toMatchObject({ user: { profilePicture: { url: expect.stringContaining(imageId) } } });
  });

  it("loads 50 users' profile pictures with the same number of commands as 5", async () => {
    const uploader = new Types.ObjectId(owner.id);
    for (let i = 0; i < 50; i++) {
      const m = await api.db.models.Media.create({
        filename: `p${i}.png`,
        original_filename: `p${i}.png`,
        file_size: 10,
        media_type: MediaType.IMAGE,
        mime_type: "image/png",
        uploader_id: uploader,
      });
      await api.db.models.User.create({
        username: `crowd${String(i).padStart(2, "0")}`,
        email: `crowd${i}@example.com`,
        password: "x",
        search_keys: [`crowd${String(i).padStart(2, "0")}`],
        profile_picture: m._id.toHexString(),
        settings: { profile_picture_visibility: Visibility.EVERYONE },
      });
    }
    const query = (n: number) =>
      api.gql<{ searchUsers: { edges: Array<{ node: { profilePicture: { url: string; uploader: { username: string } } } }> } }>(
        `query($n: Int) { searchUsers(query: "crowd", first: $n) { edges { node { username profilePicture { url width uploader { username } } } } } }`,
        { n },
        other.token,
      );
    let five: Awaited<ReturnType<typeof query>> | undefined;
    let fifty: Awaited<ReturnType<typeof query>> | undefined;
    const c5 = await countCommands(api, async () => {
      five = await query(5);
    });
    const c50 = await countCommands(api, async () => {
      fifty = await query(50);
    });
    expect(five?.data?.searchUsers.edges).toHaveLength(5);
    expect(fifty?.data?.searchUsers.edges).toHaveLength(50);
    expect(fifty?.data?.searchUsers.edges.every((e) => e.node.profilePicture.uploader.username === "owner")).toBe(true);
    expect(c50.count).toBe(c5.count);
    expect(c50.names).toEqual(c5.names);
  });
});
