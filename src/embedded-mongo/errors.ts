/**
 * Server errors with MongoDB's numeric codes and code names, so drivers and mongoose react to
 * them exactly as they do to a real server (e.g. 11000 → duplicate key handling).
 */
import type { Doc } from "./values.js";

export const ErrorCodes = {
  InternalError: 1,
  BadValue: 2,
  FailedToParse: 9,
  TypeMismatch: 14,
  InvalidLength: 16,
  IllegalOperation: 20,
  Unauthorized: 13,
  InvalidBSON: 22,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  ProtocolError: 17,
  Location40324: 40324,
  Location40: 40,
  ConversionFailure: 241,
  ChangeStreamNotSupported: 40573,
  Location40323: 40323,
  Location13113: 13113,
  NoReplicationEnabled: 76,
  DocumentValidationFailure: 121,
  NotImplemented: 238,
  DuplicateKey: 11000,
  MaxTimeMSExpired: 50,
  WriteConflict: 112,
  ConflictingOperationInProgress: 117,
  TransactionTooOld: 225,
  SnapshotTooOld: 239,
  SnapshotUnavailable: 246,
  NoSuchTransaction: 251,
  TransactionCommitted: 256,
  OperationNotSupportedInTransaction: 263,
  ChangeStreamFatalError: 280,
  ChangeStreamHistoryLost: 286,
} as const;

export type ErrorCodeName = keyof typeof ErrorCodes;

export class MongoServerError extends Error {
  readonly code: number;
  readonly codeName: string;
  /** Extra reply fields, e.g. keyPattern/keyValue for duplicate keys. */
  readonly extra: Doc;

  constructor(codeName: ErrorCodeName, message: string, extra: Doc = {}) {
    super(message);
    this.codeName = codeName;
    this.code = ErrorCodes[codeName];
    this.extra = extra;
  }

  /** The reply document of a failed command. */
  toReply(): Doc {
    return { ok: 0, errmsg: this.message, code: this.code, codeName: this.codeName, ...this.extra };
  }

  /** The entry of a `writeErrors` array. */
  toWriteError(index: number): Doc {
    return { index, code: this.code, codeName: this.codeName, errmsg: this.message, ...this.extra };
  }
}

/** An error carrying MongoDB's retry label for a whole transaction (drivers' withTransaction retries). */
export function transientError(codeName: ErrorCodeName, message: string): MongoServerError {
  return new MongoServerError(codeName, message, { errorLabels: ["TransientTransactionError"] });
}

export const badValue = (msg: string): MongoServerError => new MongoServerError("BadValue", msg);
/** A feature this server refuses rather than imitating badly (code 238 NotImplemented). */
export const notSupported = (what: string): MongoServerError =>
  new MongoServerError("NotImplemented", `${what} is not supported by the embedded server; use a real MongoDB (MONGODB_URI)`);
export const failedToParse = (msg: string): MongoServerError => new MongoServerError("FailedToParse", msg);

/**
 * mingo throws plain errors for bad operators or expressions: they become BadValue (code 2),
 * the code MongoDB uses for malformed queries, unless already a server error.
 */
export function toServerError(err: unknown): MongoServerError {
  if (err instanceof MongoServerError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new MongoServerError("BadValue", msg);
}
