/**
 * Arguments of a `subscribe` function checked against their `@ArgsType` class, with the same
 * error type-graphql throws for a query's arguments (formatError turns it into BAD_USER_INPUT
 * with the fields). type-graphql validates a subscription's arguments only when it resolves an
 * event, which is too late to refuse the subscription.
 * (A shared helper; it sits with its only user until common/ takes it.)
 */
import { validate } from "class-validator";
import { ArgumentValidationError, type ClassType } from "type-graphql";

export async function validArgs<T extends object>(cls: ClassType<T>, args: unknown): Promise<T> {
  const instance = Object.assign(new cls(), args);
  const errors = await validate(instance, { forbidUnknownValues: false });
  if (errors.length) throw new ArgumentValidationError(errors);
  return instance;
}
