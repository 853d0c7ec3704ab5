/**
 * Collection validators are enforced (code 121 with the failing rules in errInfo.details), with
 * validationLevel and validationAction; bypassDocumentValidation skips them; and what the
 * server does not implement is refused at once with code 238 and "not supported by the
 * embedded server", never accepted silently.
 */
import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { useTestDb, type AnyDoc } from "../helpers/mongo.js";

describe("validators and refusals", () => {
  const t = useTestDb("validation");

  const schema = {
    bsonType: "object",
    required: ["user_id", "body"],
    properties: {
      user_id: { bsonType: "objectId" },
      body: { bsonType: "string", minLength: 1, maxLength: 10 },
      seq: { bsonType: ["int", "long"], minimum: 1 },
      kind: { enum: ["text", "image"] },
    },
  };

  it("refuses inserts and updates that fail a $jsonSchema validator, with details, and changes nothing", async () => {
    await t.db.createCollection("messages", { validator: { $jsonSchema: schema } });
    const c = t.db.collection<AnyDoc>("messages");
    const uid = new ObjectId();
    const ok = await c.insertOne({ user_id: uid, body: "hi", seq: 1, kind: "text" });

    const err = (await c.insertOne({ user_id: "not-an-id", seq: 0 }).catch((e: unknown) => e)) as AnyDoc;
    expect(err).toMatchObject({ code: 121 });
    const details = err.errInfo.details;
    expect(details.operatorName).toBe("$jsonSchema");
    expect(details.schemaRulesNotSatisfied).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ operatorName: "required", missingProperties: ["body"] }),
        expect.objectContaining({
          operatorName: "properties",
          propertiesNotSatisfied: expect.arrayContaining([
            expect.objectContaining({ propertyName: "user_id", details: [expect.objectContaining({ operatorName: "bsonType", consideredType: "string" })] }),
            expect.objectContaining({ propertyName: "seq", details: [expect.objectContaining({ operatorName: "minimum" })] }),
          ]),
        }),
      ]),
    );

    await expect(c.updateOne({ _id: ok.insertedId }, { $set: { body: "far too long a body" } })).rejects.toMatchObject({ code: 121 });
    await expect(c.findOneAndUpdate({ _id: ok.insertedId }, { $set: { kind: "video" } })).rejects.toMatchObject({ code: 121 });
    await expect(c.replaceOne({ _id: ok.insertedId }, { body: "x" })).rejects.toMatchObject({ code: 121 });
    await expect(c.updateOne({ body: "nope" }, { $set: { seq: 2 } }, { upsert: true })).rejects.toMatchObject({ code: 121 });
    expect(await c.find().toArray()).toEqual([{ _id: ok.insertedId, user_id: uid, body: "hi", seq: 1, kind: "text" }]);

    // bypassDocumentValidation skips the validator for that command only.
    await c.insertOne({ body: 5 }, { bypassDocumentValidation: true });
    await expect(c.insertOne({ body: 5 })).rejects.toMatchObject({ code: 121 });
  });

  it("enforces query validators, validationLevel moderate/off and validationAction warn", async () => {
    await t.db.createCollection("q", { validator: { age: { $gte: 18 }, name: { $type: "string" } } });
    const c = t.db.collection<AnyDoc>("q");
    await c.insertOne({ _id: 1, age: 20, name: "A" });
    const err = (await c.insertOne({ _id: 2, age: 10, name: "B" }).catch((e: unknown) => e)) as AnyDoc;
    expect(err).toMatchObject({ code: 121, errInfo: { failingDocumentId: 2 } });

    // An invalid document stored before the validator: moderate lets it be updated, strict does not.
    const legacy = t.db.collection<AnyDoc>("legacy");
    await legacy.insertMany([
      { _id: 1, age: 5 },
      { _id: 2, age: 30, name: "ok" },
    ]);
    await t.db.command({ collMod: "legacy", validator: { age: { $gte: 18 } }, validationLevel: "moderate" });
    await legacy.updateOne({ _id: 1 }, { $set: { age: 6 } });
    await expect(legacy.updateOne({ _id: 2 }, { $set: { age: 7 } })).rejects.toMatchObject({ code: 121 });
    await t.db.command({ collMod: "legacy", validationLevel: "strict" });
    await expect(legacy.updateOne({ _id: 1 }, { $set: { age: 8 } })).rejects.toMatchObject({ code: 121 });
    await t.db.command({ collMod: "legacy", validationAction: "warn" });
    await legacy.updateOne({ _id: 1 }, { $set: { age: 9 } });
    await t.db.command({ collMod: "legacy", validationLevel: "off", validationAction: "error" });
    await legacy.insertOne({ _id: 3, age: 1 });
    expect(await legacy.countDocuments()).toBe(3);
    const info = (await t.db.listCollections({ name: "legacy" }).toArray())[0] as AnyDoc;
    expect(info.options).toMatchObject({ validator: { age: { $gte: 18 } }, validationLevel: "off", validationAction: "error" });
  });

  it("refuses a validator or schema it cannot enforce when the collection is created", async () => {
    await expect(t.db.createCollection("bad1", { validator: { $jsonSchema: { bsonType: "object", format: "email" } } })).rejects.toMatchObject({ code: 9 });
    await expect(t.db.createCollection("bad2", { validator: { $jsonSchema: { bsonType: "nonsense" } } })).rejects.toMatchObject({ code: 9 });
    await expect(t.db.createCollection("bad3", { validationLevel: "sometimes" })).rejects.toMatchObject({ code: 2 });
    expect((await t.db.listCollections().toArray()).map((c) => c.name)).not.toContain("bad1");
  });

  it("refuses what it does not implement: geo indexes and operators, capped/time-series collections, $geoNear", async () => {
    const c = t.db.collection<AnyDoc>("places");
    await c.insertOne({ loc: { type: "Point", coordinates: [1, 2] } });
    const refused = { code: 238, message: expect.stringContaining("not supported by the embedded server") };
    await expect(c.createIndex({ loc: "2dsphere" })).rejects.toMatchObject(refused);
    await expect(c.createIndex({ loc: "2d" })).rejects.toMatchObject(refused);
    await expect(c.createIndex({ "$**": 1 })).rejects.toMatchObject(refused);
    await expect(c.find({ loc: { $near: { $geometry: { type: "Point", coordinates: [0, 0] } } } }).toArray()).rejects.toMatchObject(refused);
    await expect(c.find({ loc: { $geoWithin: { $centerSphere: [[0, 0], 1] } } }).toArray()).rejects.toMatchObject(refused);
    await expect(c.aggregate([{ $geoNear: { near: [0, 0], distanceField: "d" } }]).toArray()).rejects.toMatchObject(refused);
    await expect(t.db.createCollection("cap", { capped: true, size: 4096 })).rejects.toMatchObject(refused);
    await expect(t.db.createCollection("ts", { timeseries: { timeField: "t" } })).rejects.toMatchObject(refused);
    expect((await c.listIndexes().toArray()).map((i) => i.name)).toEqual(["_id_"]);
  });

  it("answers $jsonSchema in queries with BSON types", async () => {
    const c = t.db.collection<AnyDoc>("js");
    await c.insertMany([
      { _id: 1, n: 1 },
      { _id: 2, n: "one" },
      { _id: 3, n: 1.5 },
    ]);
    expect((await c.find({ $jsonSchema: { properties: { n: { bsonType: "int" } } } }).toArray()).map((d) => d._id)).toEqual([1]);
    expect((await c.find({ $jsonSchema: { properties: { n: { type: "number" } } } }).toArray()).map((d) => d._id)).toEqual([1, 3]);
  });
});
