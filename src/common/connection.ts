/**
 * Relay connections over keyset pagination: cursors are opaque encodings of the sort key, so a
 * page costs one index range read however deep it is (no skip). `first`/`last` are capped at
 * 100 (BAD_USER_INPUT past it). `totalCount` is a lazy thenable: the count query runs only when
 * a client selects the field.
 */
import mongoose from "mongoose";
import { Field, Int, ObjectType, type ClassType } from "type-graphql";
import { badInput } from "../errors.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { findEntities, type Entity } from "./lean.js";

export const MAX_PAGE = 100;

@ObjectType("PageInfo")
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field()
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Array<Edge<T>>;
  pageInfo: PageInfo;
  /** Null where a count is not offered (e.g. search). */
  totalCount: PromiseLike<number | null>;
}

/** `XConnection` and `XEdge` types for a node type, shaped as the contract writes them. */
export function ConnectionType<T extends object>(name: string, nodeType: ClassType<T> | (() => unknown)) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    cursor!: string;

    @Field(nodeType as () => ClassType<T>)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { nullable: true })
    totalCount!: number | null;
  }
  return ConnectionClass;
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/** One sort field; `_id` is always added last as the tie-breaker. */
export type SortSpec = Array<[field: string, direction: 1 | -1]>;

/** A keyset cursor: the sort values as extended JSON (ObjectId and Date keep their type). */
function keysetCursor(values: unknown[]): string {
  return encodeCursor(
    JSON.stringify(values.map((v) => (v instanceof mongoose.Types.ObjectId ? { $oid: v.toHexString() } : v instanceof Date ? { $date: v.toISOString() } : v))),
  );
}

function keysetValues(cursor: string, field: string, length: number): unknown[] {
  try {
    const raw = JSON.parse(decodeCursor(cursor)) as unknown[];
    if (!Array.isArray(raw) || raw.length !== length) throw new Error("shape");
    return raw.map((v) => {
      if (v && typeof v === "object" && "$oid" in v) return new mongoose.Types.ObjectId(String((v as { $oid: string }).$oid));
      if (v && typeof v === "object" && "$date" in v) return new Date(String((v as { $date: string }).$date));
      return v;
    });
  } catch {
    throw badInput([{ field, message: `${field} is not a valid cursor` }]);
  }
}

function valueAt(doc: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, p) => (v && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined), doc);
}

/** The filter selecting documents strictly after (or before) a cursor in the given order. */
function keysetFilter(sort: SortSpec, values: unknown[], forward: boolean): Record<string, unknown> {
  const or: Array<Record<string, unknown>> = [];
  for (let i = 0; i < sort.length; i++) {
    const clause: Record<string, unknown> = {};
    for (let j = 0; j < i; j++) clause[sort[j][0]] = values[j];
    const [field, dir] = sort[i];
    const op = (dir === 1) === forward ? "$gt" : "$lt";
    clause[field] = mongoose.trusted({ [op]: values[i] });
    or.push(clause);
  }
  return mongoose.trusted({ $or: or }) as Record<string, unknown>;
}

export function validatePage(args: PageArgs, defaultFirst: number): { limit: number; forward: boolean } {
  const fields: Array<{ field: string; message: string }> = [];
  for (const k of ["first", "last"] as const) {
    const v = args[k];
    if (v !== null && v !== undefined && (v < 0 || v > MAX_PAGE)) fields.push({ field: k, message: `${k} must be between 0 and ${MAX_PAGE}` });
  }
  if (args.first != null && args.last != null) fields.push({ field: "last", message: "use either first or last, not both" });
  if (fields.length) throw badInput(fields);
  const forward = args.last == null && args.before == null;
  const limit = (forward ? args.first : args.last) ?? defaultFirst;
  return { limit, forward };
}

interface PaginateOptions {
  collation?: mongoose.mongo.CollationOptions;
  /** Plain objects (common/lean.ts) instead of documents: for pages whose nodes are only read. */
  lean?: boolean;
}

/**
 * Pages through a model with keyset pagination. `sort` gives the order of the connection;
 * `_id` (same direction as the last key) breaks ties. Edges come back in connection order
 * whether paging forward (first/after) or backward (last/before).
 */
export async function paginate<T>(
  model: mongoose.Model<T>,
  filter: Record<string, unknown>,
  sort: SortSpec,
  args: PageArgs,
  defaultFirst: number,
  options: PaginateOptions & { lean: true },
): Promise<Connection<Entity<T>>>;
export async function paginate<T>(
  model: mongoose.Model<T>,
  filter: Record<string, unknown>,
  sort: SortSpec,
  args: PageArgs,
  defaultFirst: number,
  options?: PaginateOptions & { lean?: false },
): Promise<Connection<mongoose.HydratedDocument<T>>>;
export async function paginate<T>(
  model: mongoose.Model<T>,
  filter: Record<string, unknown>,
  sort: SortSpec,
  args: PageArgs,
  defaultFirst: number,
  options: PaginateOptions = {},
): Promise<Connection<mongoose.HydratedDocument<T> | Entity<T>>> {
  const { limit, forward } = validatePage(args, defaultFirst);
  const fullSort: SortSpec = sort.some(([f]) => f === "_id") ? sort : [...sort, ["_id", sort.length ? sort[sort.length - 1][1] : 1]];
  const cursorArg = forward ? args.after : args.before;
  const cursorField = forward ? "after" : "before";
  const conditions: Array<Record<string, unknown>> = [filter];
  if (cursorArg) conditions.push(keysetFilter(fullSort, keysetValues(cursorArg, cursorField, fullSort.length), forward));
  const query = conditions.length === 1 ? filter : (mongoose.trusted({ $and: conditions }) as Record<string, unknown>);
  const order = Object.fromEntries(fullSort.map(([f, d]) => [f, forward ? d : -d])) as Record<string, 1 | -1>;
  const count = () => model.countDocuments(filter as mongoose.QueryFilter<T>).exec();
  const read = { limit, forward, args, sort: fullSort };
  if (options.lean) {
    // Through the driver (common/lean.ts): the filter is ours, already in stored types.
    const docs =
      limit === 0
        ? []
        : await findEntities(model, query as mongoose.mongo.Filter<mongoose.mongo.Document>, {
            sort: order,
            limit: limit + 1,
            ...(options.collation ? { collation: options.collation } : {}),
          });
    return keysetConnection(docs, read, count);
  }
  let q = model
    .find(query as mongoose.QueryFilter<T>)
    .sort(order)
    .limit(limit + 1);
  if (options.collation) q = q.collation(options.collation);
  const docs = limit === 0 ? [] : ((await q) as Array<mongoose.HydratedDocument<T>>);
  return keysetConnection(docs, read, count);
}

/** The connection of one keyset read of `limit + 1` documents; `count` runs only when asked. */
function keysetConnection<N>(
  docs: N[],
  read: { limit: number; forward: boolean; args: PageArgs; sort: SortSpec },
  count: () => Promise<number>,
): Connection<N> {
  const { limit, forward, args } = read;
  const more = docs.length > limit;
  const page = more ? docs.slice(0, limit) : docs;
  if (!forward) page.reverse();
  const edges = page.map((node) => ({ cursor: keysetCursor(read.sort.map(([f]) => valueAt(node, f))), node }));
  let counted: Promise<number> | null = null;
  return {
    edges,
    pageInfo: {
      hasNextPage: forward ? more : Boolean(args.before),
      hasPreviousPage: forward ? Boolean(args.after) : more,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
    totalCount: {
      then(onFulfilled, onRejected) {
        counted ??= count();
        return counted.then(onFulfilled, onRejected);
      },
    },
  };
}

/** Relay pagination over an in-memory list (members, receipts); the cursor is the position. */
export function pageArray<T>(items: T[], args: PageArgs, defaultFirst: number): Connection<T> {
  const { limit, forward } = validatePage(args, defaultFirst);
  const decode = (c: string | null | undefined, field: string): number | null => {
    if (!c) return null;
    const n = Number(decodeCursor(c));
    if (!Number.isInteger(n) || n < 0) throw badInput([{ field, message: `${field} is not a valid cursor` }]);
    return n;
  };
  const enc = (i: number): string => encodeCursor(String(i));
  let start: number;
  let end: number;
  if (forward) {
    const after = decode(args.after, "after");
    start = after === null ? 0 : after + 1;
    end = Math.min(items.length, start + limit);
  } else {
    const before = decode(args.before, "before");
    end = before === null ? items.length : Math.min(before, items.length);
    start = Math.max(0, end - limit);
  }
  const edges = items.slice(start, end).map((node, i) => ({ cursor: enc(start + i), node }));
  return {
    edges,
    pageInfo: { hasNextPage: end < items.length, hasPreviousPage: start > 0, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: Promise.resolve(items.length),
  };
}

/**
 * Keyset pagination over an aggregation, for orders that depend on the caller (a viewer's own
 * pins): `match` leads the pipeline so an index serves it, `computed` stages add the derived
 * sort keys, then the keyset filter, the sort and the limit run over what the index gave.
 * Cursors and edges as `paginate`; documents come back plain (not hydrated).
 */
export async function paginatePipeline<T>(
  model: mongoose.Model<T>,
  match: Record<string, unknown>,
  computed: mongoose.PipelineStage[],
  sort: SortSpec,
  args: PageArgs,
  defaultFirst: number,
): Promise<Connection<T>> {
  const { limit, forward } = validatePage(args, defaultFirst);
  const fullSort: SortSpec = sort.some(([f]) => f === "_id") ? sort : [...sort, ["_id", sort.length ? sort[sort.length - 1][1] : 1]];
  const cursorArg = forward ? args.after : args.before;
  const keyset: mongoose.PipelineStage[] = cursorArg
    ? [{ $match: keysetFilter(fullSort, keysetValues(cursorArg, forward ? "after" : "before", fullSort.length), forward) }]
    : [];
  const order = Object.fromEntries(fullSort.map(([f, d]) => [f, forward ? d : -d])) as Record<string, 1 | -1>;
  const docs = limit === 0 ? [] : ((await model.aggregate([{ $match: match }, ...computed, ...keyset, { $sort: order }, { $limit: limit + 1 }])) as T[]);
  return keysetConnection(docs, { limit, forward, args, sort: fullSort }, () => model.countDocuments(match as mongoose.QueryFilter<T>).exec());
}
