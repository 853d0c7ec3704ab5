/**
 * Collection validators, enforced on every insert and update like MongoDB does: a query
 * filter (may hold `$jsonSchema`), `validationLevel` ("strict" checks every write, "moderate"
 * skips updates of documents that were already invalid, "off") and `validationAction`
 * ("error" refuses with code 121 DocumentValidationFailure and the failing rules in
 * `errInfo.details`; "warn" accepts and logs).
 */
import { MongoServerError, badValue } from "./errors.js";
import { compileSchema } from "./jsonschema.js";
import { compileFilter, prepareFilter } from "./query.js";
import { type Doc, isPlainObject } from "./values.js";

export type DocumentCheck = (doc: Doc, before: Doc | undefined) => void;

/** Refuses bad validator options before anything is created or changed. */
export function compileValidator(options: Doc, ns: () => string, warn: (m: string) => void = (m) => console.warn(m)): DocumentCheck | null {
  const level = options.validationLevel ?? "strict";
  const action = options.validationAction ?? "error";
  if (!["off", "strict", "moderate"].includes(level as string))
    throw badValue(`Enumeration value '${String(level)}' for field 'validationLevel' is not a valid value.`);
  if (!["error", "warn", "errorAndLog"].includes(action as string))
    throw badValue(`Enumeration value '${String(action)}' for field 'validationAction' is not a valid value.`);
  const validator = options.validator;
  if (validator === undefined || validator === null) return null;
  if (!isPlainObject(validator)) throw new MongoServerError("TypeMismatch", "'validator' must be an object");
  if (Object.keys(validator).length === 0) return null;
  // Refuses unsupported operators (prepareFilter) and $text, which MongoDB forbids here.
  if (prepareFilter(validator).text) throw new MongoServerError("InvalidOptions", "$text is not allowed in collection validators");
  const matches = compileFilter(validator);
  // Per-clause checks give the details of what failed; $jsonSchema gets its rule list.
  const clauses = Object.entries(validator).map(([k, v]) => {
    if (k === "$jsonSchema") {
      const schema = compileSchema(v);
      return (doc: Doc): Doc | null => {
        const rules = schema(doc);
        return rules.length ? { operatorName: "$jsonSchema", schemaRulesNotSatisfied: rules } : null;
      };
    }
    const test = compileFilter({ [k]: v });
    return (doc: Doc): Doc | null =>
      test(doc) ? null : k.startsWith("$") ? { operatorName: k, specifiedAs: { [k]: v } } : { operatorName: "$eq", propertyName: k, specifiedAs: { [k]: v } };
  });
  return (doc, before) => {
    if (level === "off") return;
    if (level === "moderate" && before && !matches(before)) return;
    if (matches(doc)) return;
    const failed = clauses.map((c) => c(doc)).filter((d): d is Doc => d !== null);
    const details = failed.length === 1 ? failed[0] : { operatorName: "$and", clausesNotSatisfied: failed.map((details, index) => ({ index, details })) };
    const errInfo = { failingDocumentId: doc._id, details };
    if (action === "warn") {
      warn(JSON.stringify({ msg: "Document would fail validation", ns: ns(), document: { _id: doc._id }, errInfo }));
      return;
    }
    throw new MongoServerError("DocumentValidationFailure", "Document failed validation", { errInfo });
  };
}
