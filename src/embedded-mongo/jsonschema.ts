/**
 * MongoDB's `$jsonSchema` (draft 4 plus `bsonType`, without `$ref`, `$schema`, `default`,
 * `definitions`, `format`, `id`), evaluated over BSON values. Hand-written because JSON Schema
 * libraries (ajv) type-check JSON, not ObjectIds, dates, int vs long vs double, or decimals.
 *
 * `compileSchema` checks the schema once (unknown or unsupported keywords are refused, as
 * MongoDB does) and returns a function listing the rules a document does not satisfy, in the
 * shape of MongoDB's `errInfo.details.schemaRulesNotSatisfied`.
 */
import { MongoServerError } from "./errors.js";
import { BSON_TYPE_ALIASES, BsonType, NUMERIC_BSON_TYPES, bsonTypeName, bsonTypeOf } from "./bson-types.js";
import { type Doc, compareValues, isPlainObject, keyOf, valuesEqual } from "./values.js";

const KEYWORDS = new Set([
  "bsonType",
  "type",
  "required",
  "properties",
  "additionalProperties",
  "patternProperties",
  "enum",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "items",
  "additionalItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
  "multipleOf",
  "dependencies",
  "title",
  "description",
]);
const UNSUPPORTED = new Set(["$ref", "$schema", "default", "definitions", "format", "id"]);
const JSON_TYPES = new Set(["object", "array", "number", "boolean", "string", "null"]);
/** `bsonType` takes the `$type` names, plus "number" for any numeric type. */
const BSON_TYPES = new Set([...Object.keys(BSON_TYPE_ALIASES), "number"]);

export type SchemaCheck = (value: unknown) => Doc[];

const parseError = (msg: string): MongoServerError => new MongoServerError("FailedToParse", msg);

/** JSON Schema's `type` names for a BSON value: every numeric BSON type is "number". */
function jsonTypeOf(v: unknown): string {
  if (isNumber(v)) return "number";
  if (bsonTypeOf(v) === BsonType.Bool) return "boolean";
  return bsonTypeName(v);
}

function typeList(v: unknown, keyword: string, allowed: Set<string>): string[] {
  const list = Array.isArray(v) ? v : [v];
  for (const t of list) {
    if (typeof t !== "string" || !allowed.has(t)) throw parseError(`$jsonSchema keyword '${keyword}' has an unknown type: ${String(t)}`);
  }
  return list as string[];
}

function isNumber(v: unknown): boolean {
  return NUMERIC_BSON_TYPES.includes(bsonTypeOf(v));
}

function nonNegative(v: unknown, keyword: string): number {
  if (typeof v !== "number" || v < 0 || !Number.isInteger(v)) throw parseError(`$jsonSchema keyword '${keyword}' must be a non-negative integer`);
  return v;
}

export function compileSchema(schema: unknown): SchemaCheck {
  if (!isPlainObject(schema)) throw parseError("$jsonSchema must be an object");
  for (const k of Object.keys(schema)) {
    if (UNSUPPORTED.has(k)) throw parseError(`$jsonSchema keyword '${k}' is not currently supported`);
    if (!KEYWORDS.has(k)) throw parseError(`Unknown $jsonSchema keyword: ${k}`);
  }
  if (schema.type !== undefined && schema.bsonType !== undefined) throw parseError("Cannot specify both $jsonSchema keywords 'type' and 'bsonType'");
  const checks: SchemaCheck[] = [];
  const rule = (operatorName: string, extra: Doc = {}): Doc => ({ operatorName, specifiedAs: { [operatorName]: schema[operatorName] }, ...extra });

  if (schema.bsonType !== undefined || schema.type !== undefined) {
    const keyword = schema.bsonType !== undefined ? "bsonType" : "type";
    const types = typeList(schema[keyword], keyword, keyword === "bsonType" ? BSON_TYPES : JSON_TYPES);
    checks.push((v) => {
      const actual = keyword === "bsonType" ? bsonTypeName(v) : jsonTypeOf(v);
      const ok = types.some((t) => t === actual || (t === "number" && isNumber(v)));
      return ok ? [] : [rule(keyword, { reason: "type did not match", consideredValue: v, consideredType: bsonTypeName(v) })];
    });
  }
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum) || schema.enum.length === 0) throw parseError("$jsonSchema keyword 'enum' must be a non-empty array");
    const values = schema.enum;
    checks.push((v) => (values.some((e) => valuesEqual(e, v)) ? [] : [rule("enum", { reason: "value was not found in enum", consideredValue: v })]));
  }
  for (const [kw, test] of [
    ["minimum", (c: number, excl: boolean) => (excl ? c > 0 : c >= 0)],
    ["maximum", (c: number, excl: boolean) => (excl ? c < 0 : c <= 0)],
  ] as const) {
    if (schema[kw] === undefined) continue;
    if (!isNumber(schema[kw])) throw parseError(`$jsonSchema keyword '${kw}' must be a number`);
    const bound = schema[kw];
    const excl = schema[kw === "minimum" ? "exclusiveMinimum" : "exclusiveMaximum"] === true;
    checks.push((v) => (!isNumber(v) || test(compareValues(v, bound), excl) ? [] : [rule(kw, { reason: `comparison failed`, consideredValue: v })]));
  }
  if (schema.multipleOf !== undefined) {
    const m = Number(schema.multipleOf);
    if (!(m > 0)) throw parseError("$jsonSchema keyword 'multipleOf' must be a positive number");
    checks.push((v) =>
      !isNumber(v) || Number(v) % m === 0
        ? []
        : [rule("multipleOf", { reason: "considered value is not a multiple of the specified value", consideredValue: v })],
    );
  }
  for (const kw of ["minLength", "maxLength"] as const) {
    if (schema[kw] === undefined) continue;
    const n = nonNegative(schema[kw], kw);
    checks.push((v) => {
      if (typeof v !== "string") return [];
      const len = [...v].length;
      return (kw === "minLength" ? len >= n : len <= n) ? [] : [rule(kw, { reason: "specified string length was not satisfied", consideredValue: v })];
    });
  }
  if (schema.pattern !== undefined) {
    if (typeof schema.pattern !== "string") throw parseError("$jsonSchema keyword 'pattern' must be a string");
    const re = new RegExp(schema.pattern, "u");
    checks.push((v) => (typeof v !== "string" || re.test(v) ? [] : [rule("pattern", { reason: "regular expression did not match", consideredValue: v })]));
  }
  for (const kw of ["minItems", "maxItems"] as const) {
    if (schema[kw] === undefined) continue;
    const n = nonNegative(schema[kw], kw);
    checks.push((v) =>
      !Array.isArray(v) || (kw === "minItems" ? v.length >= n : v.length <= n)
        ? []
        : [rule(kw, { reason: "array did not match specified length", consideredValue: v })],
    );
  }
  if (schema.uniqueItems === true) {
    checks.push((v) =>
      !Array.isArray(v) || new Set(v.map((e) => keyOf(e))).size === v.length
        ? []
        : [rule("uniqueItems", { reason: "found a duplicate item", consideredValue: v })],
    );
  }
  if (schema.items !== undefined) {
    if (Array.isArray(schema.items)) {
      const each = schema.items.map(compileSchema);
      const extra = isPlainObject(schema.additionalItems) ? compileSchema(schema.additionalItems) : null;
      const noExtra = schema.additionalItems === false;
      checks.push((v) => {
        if (!Array.isArray(v)) return [];
        const out: Doc[] = [];
        v.forEach((e, i) => {
          const check = i < each.length ? each[i] : extra;
          if (!check && noExtra && i >= each.length) out.push(rule("additionalItems", { reason: "found additional items", consideredValue: v }));
          const errs = check ? check(e) : [];
          if (errs.length) out.push({ operatorName: "items", reason: "At least one item did not match the sub-schema", itemIndex: i, details: errs });
        });
        return out;
      });
    } else {
      const each = compileSchema(schema.items);
      checks.push((v) => {
        if (!Array.isArray(v)) return [];
        for (const [i, e] of v.entries()) {
          const errs = each(e);
          if (errs.length) return [{ operatorName: "items", reason: "At least one item did not match the sub-schema", itemIndex: i, details: errs }];
        }
        return [];
      });
    }
  }
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required) || !schema.required.every((r) => typeof r === "string"))
      throw parseError("$jsonSchema keyword 'required' must be an array of strings");
    const req = schema.required as string[];
    checks.push((v) => {
      if (!isPlainObject(v)) return [];
      const missing = req.filter((k) => v[k] === undefined);
      return missing.length ? [rule("required", { missingProperties: missing })] : [];
    });
  }
  const props =
    schema.properties !== undefined
      ? isPlainObject(schema.properties)
        ? schema.properties
        : (() => {
            throw parseError("$jsonSchema keyword 'properties' must be an object");
          })()
      : {};
  const propChecks = Object.entries(props).map(([k, s]) => [k, compileSchema(s)] as const);
  const patterns = isPlainObject(schema.patternProperties)
    ? Object.entries(schema.patternProperties).map(([p, s]) => [new RegExp(p, "u"), compileSchema(s)] as const)
    : [];
  if (propChecks.length) {
    checks.push((v) => {
      if (!isPlainObject(v)) return [];
      const failed: Doc[] = [];
      for (const [k, check] of propChecks) {
        if (v[k] === undefined) continue;
        const errs = check(v[k]);
        if (errs.length) failed.push({ propertyName: k, details: errs });
      }
      return failed.length ? [{ operatorName: "properties", propertiesNotSatisfied: failed }] : [];
    });
  }
  if (patterns.length) {
    checks.push((v) => {
      if (!isPlainObject(v)) return [];
      const failed: Doc[] = [];
      for (const [k, val] of Object.entries(v))
        for (const [re, check] of patterns) if (re.test(k) && check(val).length) failed.push({ propertyName: k, regexMatched: re.source, details: check(val) });
      return failed.length ? [{ operatorName: "patternProperties", propertiesNotSatisfied: failed }] : [];
    });
  }
  if (schema.additionalProperties !== undefined) {
    const extra = isPlainObject(schema.additionalProperties) ? compileSchema(schema.additionalProperties) : null;
    const allowed = schema.additionalProperties !== false;
    if (!extra && typeof schema.additionalProperties !== "boolean")
      throw parseError("$jsonSchema keyword 'additionalProperties' must be a boolean or an object");
    checks.push((v) => {
      if (!isPlainObject(v)) return [];
      const others = Object.keys(v).filter((k) => !(k in props) && !patterns.some(([re]) => re.test(k)));
      if (!allowed && others.length) return [rule("additionalProperties", { reason: "found additional properties", additionalProperties: others })];
      if (extra) {
        const bad = others.filter((k) => extra(v[k]).length);
        if (bad.length)
          return [{ operatorName: "additionalProperties", reason: "at least one additional property did not match the sub-schema", failingProperties: bad }];
      }
      return [];
    });
  }
  for (const kw of ["minProperties", "maxProperties"] as const) {
    if (schema[kw] === undefined) continue;
    const n = nonNegative(schema[kw], kw);
    checks.push((v) => {
      if (!isPlainObject(v)) return [];
      const count = Object.keys(v).length;
      return (kw === "minProperties" ? count >= n : count <= n)
        ? []
        : [rule(kw, { reason: "specified number of properties was not satisfied", numberOfProperties: count })];
    });
  }
  for (const kw of ["allOf", "anyOf", "oneOf"] as const) {
    if (schema[kw] === undefined) continue;
    if (!Array.isArray(schema[kw]) || schema[kw].length === 0) throw parseError(`$jsonSchema keyword '${kw}' must be a non-empty array`);
    const subs = (schema[kw] as unknown[]).map(compileSchema);
    checks.push((v) => {
      const results = subs.map((s) => s(v));
      const passed = results.filter((r) => r.length === 0).length;
      const ok = kw === "allOf" ? passed === subs.length : kw === "anyOf" ? passed > 0 : passed === 1;
      return ok ? [] : [{ operatorName: kw, schemasNotSatisfied: results.map((details, index) => ({ index, details })).filter((r) => r.details.length) }];
    });
  }
  if (schema.not !== undefined) {
    const sub = compileSchema(schema.not);
    checks.push((v) => (sub(v).length === 0 ? [{ operatorName: "not", reason: "child expression matched" }] : []));
  }
  if (schema.dependencies !== undefined) {
    if (!isPlainObject(schema.dependencies)) throw parseError("$jsonSchema keyword 'dependencies' must be an object");
    const deps = Object.entries(schema.dependencies).map(([k, d]) => [k, Array.isArray(d) ? (d as string[]) : compileSchema(d)] as const);
    checks.push((v) => {
      if (!isPlainObject(v)) return [];
      const out: Doc[] = [];
      for (const [k, d] of deps) {
        if (v[k] === undefined) continue;
        if (Array.isArray(d)) {
          const missing = d.filter((p) => v[p] === undefined);
          if (missing.length) out.push({ operatorName: "dependencies", failingDependencies: [{ conditionalProperty: k, missingProperties: missing }] });
        } else if (d(v).length) out.push({ operatorName: "dependencies", failingDependencies: [{ conditionalProperty: k, details: d(v) }] });
      }
      return out;
    });
  }
  return (value) => checks.flatMap((c) => c(value));
}
