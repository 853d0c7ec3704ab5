/**
 * The contract's error codes and typed errors. Services throw these; formatError lets them
 * through as they are and masks everything else as INTERNAL_SERVER_ERROR in production.
 */
import { GraphQLError, type GraphQLFormattedError } from "graphql";

export enum ErrorCode {
  UNAUTHENTICATED = "UNAUTHENTICATED",
  FORBIDDEN = "FORBIDDEN",
  NOT_FOUND = "NOT_FOUND",
  BAD_USER_INPUT = "BAD_USER_INPUT",
  CONFLICT = "CONFLICT",
  BLOCKED = "BLOCKED",
  PASSWORD_REUSED = "PASSWORD_REUSED",
  INVALID_TOKEN = "INVALID_TOKEN",
  INVALID_CALL_STATE = "INVALID_CALL_STATE",
  RATE_LIMITED = "RATE_LIMITED",
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export const unauthenticated = (message = "Authentication required"): AppError => new AppError(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = "Not allowed"): AppError => new AppError(ErrorCode.FORBIDDEN, message);
export const notFound = (what = "Item"): AppError => new AppError(ErrorCode.NOT_FOUND, `${what} not found`);
export const conflict = (field: string, message: string): AppError => new AppError(ErrorCode.CONFLICT, message, { fields: [{ field, message }] });
export const badInput = (fields: FieldError[], message = "Invalid input"): AppError => new AppError(ErrorCode.BAD_USER_INPUT, message, { fields });
export const invalidToken = (message = "The token is unknown, used or expired"): AppError => new AppError(ErrorCode.INVALID_TOKEN, message);
export const rateLimited = (retryAfterSeconds: number): AppError =>
  new AppError(ErrorCode.RATE_LIMITED, "Too many attempts; try again later", { retryAfterSeconds });

/** class-validator's errors (thrown by type-graphql as ArgumentValidationError) → field list. */
interface ValidationErrorLike {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationErrorLike[];
}

function flatten(errors: ValidationErrorLike[], prefix = ""): FieldError[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/**
 * Apollo's formatError: contract codes pass; argument validation becomes BAD_USER_INPUT with
 * fields; GraphQL validation/parse errors keep Apollo's code; anything else is masked in production.
 */
export function createFormatError(production: boolean) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = (error as { originalError?: unknown })?.originalError ?? error;
    const code = formatted.extensions?.code as string | undefined;
    const validation = (original as { extensions?: { validationErrors?: ValidationErrorLike[] } })?.extensions?.validationErrors;
    if (Array.isArray(validation)) {
      return { ...formatted, message: "Invalid input", extensions: { code: ErrorCode.BAD_USER_INPUT, fields: flatten(validation) } };
    }
    if (code && KNOWN_CODES.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return production ? { ...formatted, extensions } : formatted;
    }
    if (
      code &&
      ["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND", "OPERATION_RESOLUTION_FAILURE"].includes(code)
    ) {
      return formatted;
    }
    if (!production) return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.INTERNAL_SERVER_ERROR } };
    return { message: "Internal server error", locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
