/**
 * Seed 004 (../shared/seeds/004_…txt) is the storage contract: every stored document of its
 * collections must validate against its definition once ObjectIds are hex strings and dates
 * ISO strings. Run over a test database before it is dropped (TestApi.stop does).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { Types, type Connection } from "mongoose";
import { sharedPath } from "./shared.js";

// ajv-formats is CJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface SeedFailure {
  collection: string;
  id: string;
  errors: string[];
}

let validators: Map<string, ValidateFunction> | null | undefined;

function loadValidators(): Map<string, ValidateFunction> | null {
  if (validators !== undefined) return validators;
  const dir = sharedPath("seeds");
  if (!dir) return (validators = null);
  const file = readdirSync(dir).find((f) => f.startsWith("004_"));
  if (!file) throw new Error(`seed 004 not found in ${dir}`);
  const schema = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as { properties: Record<string, { items: { $ref: string } }> };
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema(schema, "seed");
  validators = new Map(Object.entries(schema.properties).map(([collection, def]) => [collection, ajv.getSchema(`seed${def.items.$ref}`)!]));
  return validators;
}

/** ObjectIds → hex strings, dates → ISO strings, recursively (the seed's JSON representation). */
export function toSeedJson(value: unknown): unknown {
  if (value instanceof Types.ObjectId) return value.toHexString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toSeedJson);
  if (value && typeof value === "object" && (value as { _bsontype?: string })._bsontype === "ObjectId") return String(value);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toSeedJson(v)]));
  return value;
}

/** Validates every document of the seed's collections; null when the seed is not available. */
export async function validateSeedCollections(conn: Connection): Promise<{ checked: number; failures: SeedFailure[] } | null> {
  const v = loadValidators();
  if (!v) return null;
  const failures: SeedFailure[] = [];
  let checked = 0;
  for (const [collection, validate] of v) {
    const docs = await conn.db!.collection(collection).find({}).toArray();
    for (const doc of docs) {
      checked++;
      if (!validate(toSeedJson(doc))) {
        failures.push({ collection, id: String(doc._id), errors: (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`) });
      }
    }
  }
  return { checked, failures };
}
