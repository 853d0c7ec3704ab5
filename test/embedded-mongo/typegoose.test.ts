/**
 * A typegoose model round trip against the server, as the application will use it: create,
 * find with populate, findOneAndUpdate (mongoose adds $setOnInsert), aggregate with $lookup,
 * and a duplicate key surfacing as code 11000.
 */
import { getModelForClass, index, modelOptions, prop, type Ref } from "@typegoose/typegoose";
import mongoose from "mongoose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";

@modelOptions({ schemaOptions: { collection: "tg_authors", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
class Author {
  @prop({ required: true, unique: true })
  public handle!: string;

  @prop()
  public name?: string;
}

@index({ author: 1, created_at: -1 })
@modelOptions({ schemaOptions: { collection: "tg_posts", timestamps: { createdAt: "created_at", updatedAt: "updated_at" } } })
class Post {
  @prop({ ref: () => Author, required: true })
  public author!: Ref<Author>;

  @prop({ required: true })
  public body!: string;

  @prop({ default: 0 })
  public likes!: number;
}

describe("typegoose / mongoose on the embedded server", () => {
  let mongo: TestMongo;
  let conn: mongoose.Connection;
  let AuthorModel: ReturnType<typeof getModelForClass<typeof Author>>;
  let PostModel: ReturnType<typeof getModelForClass<typeof Post>>;

  beforeAll(async () => {
    mongo = await startTestMongo("typegoose");
    conn = await mongoose.createConnection(mongo.uri, { dbName: mongo.dbName }).asPromise();
    AuthorModel = getModelForClass(Author, { existingConnection: conn });
    PostModel = getModelForClass(Post, { existingConnection: conn });
    await AuthorModel.syncIndexes();
    await PostModel.syncIndexes();
  });
  afterAll(async () => {
    await conn?.dropDatabase();
    await conn?.close();
    await mongo?.stop();
  });

  it("creates, finds with populate, updates and aggregates", async () => {
    const ada = await AuthorModel.create({ handle: "ada", name: "Ada" });
    await PostModel.create([
      { author: ada._id, body: "first" },
      { author: ada._id, body: "second" },
    ]);

    const posts = await PostModel.find({ author: ada._id }).sort({ body: 1 }).populate("author").lean();
    expect(posts.map((p) => p.body)).toEqual(["first", "second"]);
    expect((posts[0].author as unknown as Author).handle).toBe("ada");

    const updated = await PostModel.findOneAndUpdate({ body: "first" }, { $inc: { likes: 2 } }, { returnDocument: "after" }).lean();
    expect(updated?.likes).toBe(2);

    const upserted = await AuthorModel.findOneAndUpdate({ handle: "bob" }, { $set: { name: "Bob" } }, { upsert: true, returnDocument: "after" }).lean();
    expect(upserted?.handle).toBe("bob");
    expect((upserted as { created_at?: unknown } | null)?.created_at).toBeInstanceOf(Date);

    const stats = await PostModel.aggregate<{ _id: mongoose.Types.ObjectId; total: number; handle: string[] }>([
      { $group: { _id: "$author", total: { $sum: "$likes" } } },
      { $lookup: { from: "tg_authors", localField: "_id", foreignField: "_id", as: "a" } },
      { $project: { total: 1, handle: "$a.handle" } },
    ]);
    expect(stats).toHaveLength(1);
    expect(stats[0]._id.equals(ada._id)).toBe(true);
    expect(stats[0].total).toBe(2);
    expect(stats[0].handle).toEqual(["ada"]);
    expect(await PostModel.countDocuments({ author: ada._id })).toBe(2);
  });

  it("reports a duplicate key as code 11000 with the key", async () => {
    await AuthorModel.create({ handle: "dup" });
    const err = await AuthorModel.create({ handle: "dup" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 11000, keyPattern: { handle: 1 }, keyValue: { handle: "dup" } });
    expect(await AuthorModel.countDocuments({ handle: "dup" })).toBe(1);
  });

  it("lists the indexes typegoose declared", async () => {
    const names = (await PostModel.listIndexes()).map((i) => i.name);
    expect(names).toEqual(expect.arrayContaining(["_id_", "author_1_created_at_-1"]));
  });
});
