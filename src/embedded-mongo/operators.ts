/**
 * The bridge to mingo: one operator context with MongoDB's BSON-aware behaviour where mingo's
 * differs ($type by BSON name/number, type-bracketed comparisons, ObjectId conversions), and
 * the options every mingo call (query, projection, pipeline, update) runs with.
 *
 * mingo's Context.from keeps the first definition of an operator, so the overrides are
 * spread into a full context here rather than merged onto mingo's default one.
 */
import { Context, ProcessingMode } from "mingo";
import { evalExpr } from "mingo/core";
import * as accumulatorOps from "mingo/operators/accumulator";
import * as expressionOps from "mingo/operators/expression";
import * as pipelineOps from "mingo/operators/pipeline";
import * as projectionOps from "mingo/operators/projection";
import * as queryOps from "mingo/operators/query";
import * as windowOps from "mingo/operators/window";
import { Decimal128, Long, ObjectId } from "bson";
import type { Options } from "mingo/types";
import { BSON_TYPE_ALIASES, BsonType, NUMERIC_BSON_TYPES, bsonTypeOf, isObjectId, typeRank } from "./bson-types.js";
import { MongoServerError, badValue } from "./errors.js";
import { compileSchema } from "./jsonschema.js";
import { type CollationSpec, type Doc, compareValues, valuesAtPath, collationStrength } from "./values.js";

function typeMatches(value: unknown, wanted: unknown): boolean {
  if (wanted === "number") return NUMERIC_BSON_TYPES.includes(bsonTypeOf(value));
  const num = typeof wanted === "string" ? BSON_TYPE_ALIASES[wanted] : Number(wanted);
  if (num === undefined || Number.isNaN(num)) throw badValue(`Unknown type name alias: ${String(wanted)}`);
  const actual = bsonTypeOf(value);
  if (actual === num) return true;
  // Int64 values are promoted to JS numbers on the way in, so a whole number beyond the int32
  // range answers to both long and double (it is written back as a double).
  if (actual === BsonType.Double && typeof value === "number" && Number.isInteger(value)) return num === BsonType.Long;
  return false;
}

/** `$type` with MongoDB's names and numbers: an array field matches "array" or by its elements. */
function $type(selector: string, value: unknown): (doc: Doc) => boolean {
  const wanted = Array.isArray(value) ? value : [value];
  return (doc: Doc) => {
    const raw = valuesAtPath(doc, selector, false);
    return raw.some((v) => {
      if (v === undefined && !selector.includes(".")) {
        return false;
      }
      if (Array.isArray(v)) {
        if (wanted.some((w) => typeMatches(v, w))) return true;
        return v.some((e) => wanted.some((w) => typeMatches(e, w)));
      }
      if (v === undefined) return false;
      return wanted.some((w) => typeMatches(v, w));
    });
  };
}

/**
 * $gt/$gte/$lt/$lte with MongoDB's type bracketing over BSON values: numbers of every kind
 * (int, long, double, Decimal128) compare with each other, other types only within their own
 * type; an array field matches when one element does (or the array itself, for array values).
 */
function comparison(test: (c: number) => boolean) {
  return (selector: string, value: unknown): ((doc: Doc) => boolean) => {
    const rank = typeRank(value);
    return (doc: Doc) =>
      valuesAtPath(doc, selector, false).some((v) => {
        const candidates = Array.isArray(v) ? [...v, v] : [v];
        return candidates.some((c) => typeRank(c) === rank && test(compareValues(c, value)));
      });
  };
}

const $gt = comparison((c) => c > 0);
const $gte = comparison((c) => c >= 0);
const $lt = comparison((c) => c < 0);
const $lte = comparison((c) => c <= 0);

type ExprOptions = Parameters<typeof evalExpr>[2];

/** The length of an ObjectId's hex form: ObjectId.isValid also accepts 12-byte strings, $toObjectId does not. */
const OBJECT_ID_HEX_LENGTH = 24;

function $toObjectId(obj: unknown, expr: unknown, options: ExprOptions): unknown {
  const v = evalExpr(obj, expr, options);
  if (v === null || v === undefined) return null;
  if (isObjectId(v)) return v;
  if (typeof v === "string" && ObjectId.isValid(v) && v.length === OBJECT_ID_HEX_LENGTH) return new ObjectId(v);
  throw new MongoServerError("ConversionFailure", `Failed to parse objectId '${String(v)}' in $convert`);
}

function $toString(obj: unknown, expr: unknown, options: ExprOptions): unknown {
  const v = evalExpr(obj, expr, options);
  if (v === null || v === undefined) return null;
  if (isObjectId(v)) return v.toHexString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Long || v instanceof Decimal128) return v.toString();
  if (typeof v === "object" && !(v instanceof RegExp)) throw badValue("$toString cannot convert from object to string");
  return String(v);
}

function $meta(): unknown {
  // The text score is attached by the find path before mingo sees the projection.
  throw badValue('$meta is only supported as { $meta: "textScore" } with a $text query');
}

/** The one operator context the server uses for queries, updates and aggregations. */
export const mingoContext: Context = Context.init({
  accumulator: { ...accumulatorOps } as never,
  expression: { ...expressionOps, $toObjectId, $toString, $meta } as never,
  pipeline: { ...pipelineOps } as never,
  projection: { ...projectionOps } as never,
  query: { ...queryOps, $type, $gt, $gte, $lt, $lte } as never,
  window: { ...windowOps } as never,
});

export function mingoOptions(collation?: CollationSpec | null, extra: Partial<Options> = {}): Partial<Options> {
  const opts: Partial<Options> = {
    context: mingoContext,
    processingMode: ProcessingMode.CLONE_OFF,
    useStrictMode: true,
    scriptEnabled: false,
    // $jsonSchema in queries and validators, with BSON types (bsonType) as MongoDB has them.
    jsonSchemaValidator: (schema) => {
      const check = compileSchema(schema);
      return (doc) => check(doc).length === 0;
    },
    ...extra,
  };
  if (collation && collationStrength(collation) < 3) {
    return { ...opts, collation: { locale: collation.locale ?? "en", strength: collation.strength as 1 | 2 | 3 } };
  }
  return opts;
}
