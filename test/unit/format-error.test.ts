/** formatError: contract codes pass, validation lists fields, everything else is masked in production. */
import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { AppError, ErrorCode, createFormatError } from "../../src/errors.js";

const format = (production: boolean, error: unknown) => {
  const formatted =
    error instanceof GraphQLError
      ? error.toJSON()
      : { message: (error as Error).message, extensions: { code: "INTERNAL_SERVER_ERROR", stacktrace: ["at secret.ts:1"] } };
  return createFormatError(production)(formatted, new GraphQLError(formatted.message, { originalError: error as Error }));
};

describe("formatError", () => {
  it("keeps contract codes and their extensions", () => {
    const out = format(true, new AppError(ErrorCode.RATE_LIMITED, "slow down", { retryAfterSeconds: 9 }));
    expect(out).toMatchObject({ message: "slow down", extensions: { code: "RATE_LIMITED", retryAfterSeconds: 9 } });
  });

  it("masks unexpected errors in production: no message, no stack", () => {
    const out = format(true, new Error("connection string mongodb://user:pw@host leaked"));
    expect(out.message).toBe("Internal server error");
    expect(out.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
    expect(JSON.stringify(out)).not.toContain("mongodb://");
  });

  it("keeps details outside production, with the contract's code", () => {
    const out = format(false, new Error("boom"));
    expect(out).toMatchObject({ message: "boom", extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });

  it("turns argument validation into BAD_USER_INPUT with fields", () => {
    const validation = Object.assign(new Error("Argument Validation Error"), {
      extensions: { validationErrors: [{ property: "input", children: [{ property: "email", constraints: { isEmail: "email must be an email" } }] }] },
    });
    const out = format(true, validation);
    expect(out).toMatchObject({
      message: "Invalid input",
      extensions: { code: "BAD_USER_INPUT", fields: [{ field: "input.email", message: "email must be an email" }] },
    });
  });

  it("does not fail on a validation error whose list is not a list (formats it as any other error)", () => {
    const odd = Object.assign(new Error("Argument Validation Error"), { extensions: { validationErrors: {} } });
    const out = format(true, odd);
    expect(out.extensions?.code).toBe("INTERNAL_SERVER_ERROR");
  });
});
