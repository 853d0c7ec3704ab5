/**
 * MongoDB's own CRUD conformance data (../shared/mongo-crud-spec, the driver spec's "v1"
 * format) run through the official driver against the server: every test, no skip list.
 * Results are compared the way the spec says: expected fields must match, extra fields are
 * ignored, an absent upsertedId means none; collection contents must be exactly as given.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { MongoClient, type AnyBulkWriteOperation, type Collection, type Document } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestMongo, type TestMongo } from "../helpers/mongo.js";
import { sharedPath } from "../helpers/shared.js";

interface SpecTest {
  description: string;
  operation: { name: string; arguments: Document };
  outcome: { result?: unknown; error?: boolean; collection?: { name?: string; data: Document[] } };
}
interface SpecFile {
  data: Document[];
  tests: SpecTest[];
}

const specDir = sharedPath("mongo-crud-spec");
const files = specDir
  ? ["read", "write"].flatMap((sub) =>
      readdirSync(path.join(specDir, sub))
        .filter((f) => f.endsWith(".json"))
        .map((f) => ({ name: `${sub}/${f}`, spec: JSON.parse(readFileSync(path.join(specDir, sub, f), "utf8")) as SpecFile })),
    )
  : [];

/** Spec matching: every expected field matches; numbers compare by value; extra fields ignored. */
function assertMatches(expected: unknown, actual: unknown, where: string): void {
  if (expected === null) {
    expect(actual ?? null, where).toBeNull();
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${where}: expected an array`).toBe(true);
    expect((actual as unknown[]).length, `${where}: length`).toBe(expected.length);
    expected.forEach((e, i) => assertMatches(e, (actual as unknown[])[i], `${where}[${i}]`));
  } else if (typeof expected === "object") {
    expect(actual !== null && typeof actual === "object", `${where}: expected an object, got ${JSON.stringify(actual)}`).toBe(true);
    for (const [k, v] of Object.entries(expected as Document)) assertMatches(v, (actual as Document)[k], `${where}.${k}`);
  } else if (typeof expected === "number") {
    expect(Number(actual), where).toBe(expected);
  } else {
    expect(actual, where).toEqual(expected);
  }
}

function bulkRequests(requests: Array<{ name: string; arguments: Document }>): AnyBulkWriteOperation[] {
  return requests.map(({ name, arguments: a }) => {
    switch (name) {
      case "insertOne":
        return { insertOne: { document: a.document } };
      case "updateOne":
      case "updateMany":
        return {
          [name]: { filter: a.filter, update: a.update, upsert: a.upsert, arrayFilters: a.arrayFilters, collation: a.collation },
        } as AnyBulkWriteOperation;
      case "replaceOne":
        return { replaceOne: { filter: a.filter, replacement: a.replacement, upsert: a.upsert, collation: a.collation } };
      case "deleteOne":
      case "deleteMany":
        return { [name]: { filter: a.filter, collation: a.collation } } as AnyBulkWriteOperation;
      default:
        throw new Error(`unknown bulk request ${name}`);
    }
  });
}

/** Runs one spec operation through the driver's CRUD API. */
async function runOperation(coll: Collection, name: string, a: Document): Promise<unknown> {
  const returnDocument = a.returnDocument === "After" ? "after" : "before";
  switch (name) {
    case "find":
      return coll.find(a.filter, { sort: a.sort, skip: a.skip, limit: a.limit, batchSize: a.batchSize, collation: a.collation }).toArray();
    case "aggregate":
      return coll.aggregate(a.pipeline, { batchSize: a.batchSize, collation: a.collation }).toArray();
    case "count":
      return coll.count(a.filter, { skip: a.skip, limit: a.limit, collation: a.collation });
    case "countDocuments":
      return coll.countDocuments(a.filter, { skip: a.skip, limit: a.limit, collation: a.collation });
    case "estimatedDocumentCount":
      return coll.estimatedDocumentCount();
    case "distinct":
      return coll.distinct(a.fieldName, a.filter ?? {}, { collation: a.collation });
    case "insertOne":
      return coll.insertOne(a.document);
    case "insertMany":
      return coll.insertMany(a.documents, a.options);
    case "updateOne":
      return coll.updateOne(a.filter, a.update, { upsert: a.upsert, arrayFilters: a.arrayFilters, collation: a.collation });
    case "updateMany":
      return coll.updateMany(a.filter, a.update, { upsert: a.upsert, arrayFilters: a.arrayFilters, collation: a.collation });
    case "replaceOne":
      return coll.replaceOne(a.filter, a.replacement, { upsert: a.upsert, collation: a.collation });
    case "deleteOne":
      return coll.deleteOne(a.filter, { collation: a.collation });
    case "deleteMany":
      return coll.deleteMany(a.filter, { collation: a.collation });
    case "findOneAndUpdate":
      return coll.findOneAndUpdate(a.filter, a.update, {
        projection: a.projection,
        sort: a.sort,
        upsert: a.upsert,
        returnDocument,
        arrayFilters: a.arrayFilters,
        collation: a.collation,
      });
    case "findOneAndReplace":
      return coll.findOneAndReplace(a.filter, a.replacement, {
        projection: a.projection,
        sort: a.sort,
        upsert: a.upsert,
        returnDocument,
        collation: a.collation,
      });
    case "findOneAndDelete":
      return coll.findOneAndDelete(a.filter, { projection: a.projection, sort: a.sort, collation: a.collation });
    case "bulkWrite":
      return coll.bulkWrite(bulkRequests(a.requests), a.options);
    default:
      throw new Error(`unknown operation ${name}`);
  }
}

describe.skipIf(!specDir)("MongoDB CRUD spec (v1) through the official driver", () => {
  let mongo: TestMongo;
  let client: MongoClient;

  beforeAll(async () => {
    mongo = await startTestMongo("crudspec");
    client = await new MongoClient(mongo.uri).connect();
  });
  afterAll(async () => {
    await client?.db(mongo.dbName).dropDatabase();
    await client?.close();
    await mongo?.stop();
  });

  it("has all 98 tests of the data set", () => {
    expect(files.reduce((n, f) => n + f.spec.tests.length, 0)).toBe(98);
  });

  for (const { name: file, spec } of files) {
    describe(file, () => {
      for (const t of spec.tests) {
        it(t.description, async () => {
          const db = client.db(mongo.dbName);
          const coll = db.collection("crud");
          await coll.drop().catch(() => undefined);
          if (t.outcome.collection?.name)
            await db
              .collection(t.outcome.collection.name)
              .drop()
              .catch(() => undefined);
          if (spec.data.length) await coll.insertMany(spec.data);

          let result: unknown;
          let error: unknown;
          try {
            result = await runOperation(coll, t.operation.name, t.operation.arguments);
          } catch (err) {
            error = err;
          }
          if (t.outcome.error) {
            expect(error, "the operation must fail").toBeDefined();
            if (t.outcome.result !== undefined) assertMatches(t.outcome.result, (error as { result?: unknown }).result, "error.result");
          } else {
            if (error) throw error;
            if (t.operation.name === "aggregate" && t.outcome.collection?.name) {
              // $out: the cursor is empty; the target collection is checked below.
            } else if (t.outcome.result !== undefined) {
              assertMatches(t.outcome.result, result, "result");
              const expected = t.outcome.result as Document | null;
              if (expected && typeof expected === "object" && "upsertedCount" in expected && !("upsertedId" in expected)) {
                expect((result as Document).upsertedId ?? null, "no upsertedId expected").toBeNull();
              }
            }
          }
          if (t.outcome.collection) {
            const target = db.collection(t.outcome.collection.name ?? "crud");
            const data = await target.find({}).sort({ _id: 1 }).toArray();
            expect(data).toEqual(t.outcome.collection.data);
          }
        });
      }
    });
  }
});
