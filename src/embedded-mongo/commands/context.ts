/**
 * What every command handler gets, and the helpers several of them share: argument checks
 * that answer with MongoDB's codes, and cursor replies with batch limits.
 */
import { calculateObjectSize, Long } from "bson";
import { MongoServerError, badValue } from "../errors.js";
import type { ChangeLog } from "../changes.js";
import type { CursorTable, Storage } from "../storage.js";
import type { SessionTable } from "../transactions.js";
import { type CollationSpec, type Doc, isPlainObject } from "../values.js";
import { MAX_BSON_OBJECT_SIZE } from "../wire.js";

export interface ServerInfo {
  host: string;
  port: number;
  replicaSet: string | null;
  startedAt: Date;
  connections: () => { current: number; totalCreated: number };
  opcounters: Record<string, number>;
  /** Commands run, by name (serverStatus `metrics.commands.<name>.total`, as mongod reports them). */
  commands: Map<string, number>;
  /** Server parameters (getParameter/setParameter), created on first use. */
  parameters?: Record<string, unknown>;
}

export interface CommandContext {
  storage: Storage;
  cursors: CursorTable;
  server: ServerInfo;
  db: string;
  connectionId: number;
  /** Open transactions by session. */
  sessions: SessionTable;
  /** Every applied write, for change streams and transaction snapshots. */
  changes: ChangeLog;
}

/** A reply; a promise only for commands that wait (a change stream's getMore). */
export type CommandResult = Doc | Promise<Doc>;

export type CommandHandler = (cmd: Doc, ctx: CommandContext) => CommandResult;

/** Default first batch size for find and aggregate when the client gives none. */
export const DEFAULT_FIRST_BATCH = 101;
/** A reply batch stops before passing this many bytes: MongoDB's limit, one BSON object's 16 MiB. */
export const MAX_BATCH_BYTES = MAX_BSON_OBJECT_SIZE;

/** The collection name a command names in its first field. */
export function collectionName(cmd: Doc, field: string): string {
  const name = cmd[field];
  if (typeof name !== "string" || name.length === 0) {
    throw new MongoServerError("InvalidNamespace", `collection name has invalid type ${typeof name}`);
  }
  return name;
}

export function optionalDoc(cmd: Doc, field: string): Doc | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new MongoServerError("TypeMismatch", `BSON field '${field}' is the wrong type '${typeof v}', expected type 'object'`);
  return v;
}

export function optionalNumber(cmd: Doc, field: string): number | undefined {
  const v = cmd[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "number" ? v : typeof (v as Long)?.toNumber === "function" ? (v as Long).toNumber() : NaN;
  if (Number.isNaN(n)) throw new MongoServerError("TypeMismatch", `BSON field '${field}' is the wrong type, expected a number`);
  return n;
}

export function collationOf(cmd: Doc): CollationSpec | null {
  const c = optionalDoc(cmd, "collation");
  if (!c) return null;
  if (typeof c.locale !== "string") throw badValue('Missing expected field "locale"');
  if (c.strength !== undefined && ![1, 2, 3, 4, 5].includes(c.strength as number)) throw badValue("strength must be an integer 1 through 5");
  return c as CollationSpec;
}

/** Takes the next batch off an array, bounded by count and by the 16 MiB reply budget. */
export function takeBatch(docs: Doc[], start: number, batchSize: number): { batch: Doc[]; next: number } {
  const batch: Doc[] = [];
  let bytes = 0;
  let i = start;
  while (i < docs.length && (batchSize <= 0 || batch.length < batchSize)) {
    const size = calculateObjectSize(docs[i], { ignoreUndefined: true });
    if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
    bytes += size;
    batch.push(docs[i]);
    i++;
  }
  return { batch, next: i };
}

/** The reply of find/aggregate/list*: a first batch, and a cursor when more remain. */
export function cursorReply(ctx: CommandContext, ns: string, docs: Doc[], batchSize: number | undefined, singleBatch = false): Doc {
  const size = batchSize === undefined ? DEFAULT_FIRST_BATCH : batchSize;
  const { batch, next } = takeBatch(docs, 0, size);
  let id = Long.ZERO;
  if (next < docs.length && !singleBatch) id = ctx.cursors.open(ns, docs, next).id;
  return { cursor: { firstBatch: batch, id, ns }, ok: 1 };
}
