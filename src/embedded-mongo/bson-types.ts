/**
 * BSON types in one place: the type numbers of the BSON spec (what `$type: 16` and
 * `bsonType: "int"` name), MongoDB's cross-type comparison order (what sorts and range
 * operators bracket by), and the classification of a stored value into both.
 *
 * Kept free of other engine imports so values.ts, the query operators and jsonschema.ts can all
 * depend on it without an import cycle.
 */
import { Binary, BSONRegExp, Code, Decimal128, Long, MaxKey, MinKey, ObjectId, Timestamp } from "bson";

/** The BSON spec's type numbers (only the types this server stores or names). */
export const BsonType = {
  MinKey: -1,
  Double: 1,
  String: 2,
  Object: 3,
  Array: 4,
  BinData: 5,
  Undefined: 6,
  ObjectId: 7,
  Bool: 8,
  Date: 9,
  Null: 10,
  Regex: 11,
  JavaScript: 13,
  Int: 16,
  Timestamp: 17,
  Long: 18,
  Decimal: 19,
  MaxKey: 127,
} as const;

export type BsonTypeNumber = (typeof BsonType)[keyof typeof BsonType];

/** The names `$type` and `bsonType` accept, as MongoDB spells them. */
export const BSON_TYPE_ALIASES: Readonly<Record<string, BsonTypeNumber>> = {
  double: BsonType.Double,
  string: BsonType.String,
  object: BsonType.Object,
  array: BsonType.Array,
  binData: BsonType.BinData,
  undefined: BsonType.Undefined,
  objectId: BsonType.ObjectId,
  bool: BsonType.Bool,
  date: BsonType.Date,
  null: BsonType.Null,
  regex: BsonType.Regex,
  javascript: BsonType.JavaScript,
  int: BsonType.Int,
  timestamp: BsonType.Timestamp,
  long: BsonType.Long,
  decimal: BsonType.Decimal,
  minKey: BsonType.MinKey,
  maxKey: BsonType.MaxKey,
};

const TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(BSON_TYPE_ALIASES).map(([k, v]) => [v, k]));

/** The numeric types `$type: "number"` stands for. */
export const NUMERIC_BSON_TYPES: readonly number[] = [BsonType.Double, BsonType.Int, BsonType.Long, BsonType.Decimal];

/**
 * MongoDB's canonical order across types (a number sorts before a string, a string before a
 * document...). Values of different ranks never compare equal, and `$gt`/`$lt` only match
 * within one rank. Numbers of every BSON type share one rank; so do null and missing.
 */
export const TypeOrder = {
  MinKey: 1,
  Null: 2,
  Number: 3,
  String: 4,
  Object: 5,
  Array: 6,
  BinData: 7,
  ObjectId: 8,
  Bool: 9,
  Date: 10,
  Timestamp: 11,
  Regex: 12,
  MaxKey: 100,
} as const;

export type TypeOrderRank = (typeof TypeOrder)[keyof typeof TypeOrder];

/** int32 bounds: a whole JS number inside them serializes as an int, outside as a double. */
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** ObjectIds from another copy of the bson package fail instanceof; `_bsontype` still says what they are. */
export function isObjectId(v: unknown): v is ObjectId {
  return v instanceof ObjectId || (v as { _bsontype?: string } | null)?._bsontype === "ObjectId";
}

/** Numbers of any BSON type: plain JS numbers, Int64 kept as Long, Decimal128. */
export function isNumeric(v: unknown): boolean {
  return typeof v === "number" || v instanceof Long || v instanceof Decimal128;
}

/** The BSON type number a stored value serializes as. */
export function bsonTypeOf(v: unknown): BsonTypeNumber {
  if (v === undefined) return BsonType.Undefined;
  if (v === null) return BsonType.Null;
  if (typeof v === "number") {
    if (Number.isInteger(v)) return v >= INT32_MIN && v <= INT32_MAX ? BsonType.Int : BsonType.Double;
    return BsonType.Double;
  }
  if (typeof v === "bigint" || v instanceof Long) return BsonType.Long;
  if (v instanceof Decimal128) return BsonType.Decimal;
  if (typeof v === "string") return BsonType.String;
  if (typeof v === "boolean") return BsonType.Bool;
  if (Array.isArray(v)) return BsonType.Array;
  if (isObjectId(v)) return BsonType.ObjectId;
  if (v instanceof Date) return BsonType.Date;
  if (v instanceof Binary || v instanceof Uint8Array) return BsonType.BinData;
  if (v instanceof RegExp || v instanceof BSONRegExp) return BsonType.Regex;
  if (v instanceof Timestamp) return BsonType.Timestamp;
  if (v instanceof Code) return BsonType.JavaScript;
  if (v instanceof MinKey) return BsonType.MinKey;
  if (v instanceof MaxKey) return BsonType.MaxKey;
  return BsonType.Object;
}

/** The BSON type name (`$type` alias) of a stored value: "int", "objectId", "date"... */
export function bsonTypeName(v: unknown): string {
  return TYPE_NAMES[bsonTypeOf(v)] ?? "object";
}

/** A value's place in MongoDB's canonical type order, for comparisons and sorting. */
export function typeRank(v: unknown): TypeOrderRank {
  if (v instanceof MinKey) return TypeOrder.MinKey;
  if (v === undefined || v === null) return TypeOrder.Null;
  if (isNumeric(v)) return TypeOrder.Number;
  if (typeof v === "string" || typeof v === "symbol") return TypeOrder.String;
  if (Array.isArray(v)) return TypeOrder.Array;
  if (v instanceof Binary || v instanceof Uint8Array) return TypeOrder.BinData;
  if (isObjectId(v)) return TypeOrder.ObjectId;
  if (typeof v === "boolean") return TypeOrder.Bool;
  if (v instanceof Date) return TypeOrder.Date;
  if (v instanceof Timestamp) return TypeOrder.Timestamp;
  if (v instanceof RegExp || v instanceof BSONRegExp) return TypeOrder.Regex;
  if (v instanceof MaxKey) return TypeOrder.MaxKey;
  return TypeOrder.Object; // embedded document
}
