/**
 * Subscription execution for graphql-ws that computes one result per event and document when
 * the document selects nothing viewer-specific: a group message delivered to N subscribers
 * with the same selection is executed once, not N times. Documents that do select
 * viewer-specific fields (unread counts, statuses, private profile fields, …) keep one
 * execution per subscriber.
 */
import {
  TypeInfo,
  createSourceEventStream,
  execute,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from "graphql";
import { FrameSubscription, FrameTable, isDirectSource, type DeliveryHooks, type DeliveryTarget } from "./direct-delivery.js";
import { StreamError } from "./stream-error.js";
import { VIEWER_SPECIFIC_EXTENSION } from "./viewer-specific.js";

/** Answers per schema and document: a document is parsed once per operation text and reused. */
const shareableCache = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, boolean>>();

/**
 * True when no selected field (fragments, inline fragments and aliases included) is marked
 * `@ViewerSpecific()` in the schema. The marks sit on the fields (`extensions.viewerSpecific`);
 * a field the schema does not know counts as viewer-specific (conservative).
 */
export function isViewerIndependent(schema: GraphQLSchema, document: DocumentNode): boolean {
  let bySchema = shareableCache.get(schema);
  if (!bySchema) shareableCache.set(schema, (bySchema = new WeakMap()));
  let cached = bySchema.get(document);
  if (cached === undefined) {
    let independent = true;
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Field() {
          const def = typeInfo.getFieldDef();
          if (!def || def.extensions?.[VIEWER_SPECIFIC_EXTENSION] === true) independent = false;
        },
      }),
    );
    cached = independent;
    bySchema.set(document, cached);
  }
  return cached;
}

function mapIterator<T, U>(source: AsyncIterator<T>, fn: (value: T) => Promise<U> | U, after: (value: T) => void): AsyncIterableIterator<U> {
  const it: AsyncIterableIterator<U> = {
    async next() {
      const r = await source.next();
      if (r.done) return { done: true, value: undefined };
      const value = await fn(r.value);
      after(r.value);
      return { done: false, value };
    },
    async return() {
      await source.return?.();
      return { done: true, value: undefined };
    },
    async throw(err?: unknown) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

/**
 * A `subscribe` for graphql-ws. Results are cached weakly by event, so they go with it.
 */
export interface SharedSubscribeOptions<C> {
  /** The text a document was parsed from (the cache key, with the variables). */
  queryText: (document: DocumentNode) => string | undefined;
  /** Hears of each event whose result goes to the socket next (metrics). */
  delivered?: (payload: unknown) => void;
  /**
   * The context one event is resolved with, from the operation's own: each event gets loaders
   * of its own (an operation's loaders would cache what was true when it started).
   */
  contextForEvent?: (context: C, event: object) => C;
  /**
   * Direct delivery (direct-delivery.ts): the socket and id of an operation, and what to do
   * with its results. Without them every result goes through graphql-ws.
   */
  direct?: {
    target: (args: ExecutionArgs) => DeliveryTarget | undefined;
    hooks: Omit<DeliveryHooks, "delivered">;
  };
}

export function createSharedSubscribe<C>({ queryText, delivered = () => {}, contextForEvent, direct }: SharedSubscribeOptions<C>) {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  const execution = (args: ExecutionArgs, payload: unknown) => {
    const contextValue =
      contextForEvent && payload !== null && typeof payload === "object" ? contextForEvent(args.contextValue as C, payload) : args.contextValue;
    return execute({ ...args, rootValue: payload, contextValue }) as ExecutionResult | Promise<ExecutionResult>;
  };
  const frames = direct ? new FrameTable({ ...direct.hooks, delivered }, (event, args) => execution(args as ExecutionArgs, event)) : null;
  return async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in Object(source))) return source as ExecutionResult;
    const text = queryText(args.document);
    const key =
      text !== undefined && isViewerIndependent(args.schema, args.document)
        ? `${text}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${args.operationName ?? ""}`
        : null;
    const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const target = key !== null && frames && isDirectSource(iterator) ? direct!.target(args) : undefined;
    if (target) return new FrameSubscription(frames!, frames!.shape(key!), args, target, iterator as never);
    const run = (payload: unknown) => Promise.resolve(execution(args, payload));
    return mapIterator(
      iterator,
      (payload) => {
        if (payload instanceof StreamError) return { errors: [payload.error] };
        if (key === null || payload === null || typeof payload !== "object") return run(payload);
        let byKey = results.get(payload);
        if (!byKey) results.set(payload, (byKey = new Map()));
        let result = byKey.get(key);
        if (!result) byKey.set(key, (result = run(payload)));
        return result;
      },
      delivered,
    );
  };
}
