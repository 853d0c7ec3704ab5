/**
 * A class-validator rule on the trimmed length of a string, for inputs the service trims before
 * use (a search query, a custom status): padding must neither pass nor fail a length rule.
 * (A shared validator; it sits in the lowest feature that needs it until common/ takes it.)
 */
import { ValidateBy, buildMessage } from "class-validator";

export function TrimmedLength(min: number, max: number, message: string): PropertyDecorator {
  return ValidateBy({
    name: "trimmedLength",
    constraints: [min, max],
    validator: {
      validate: (v: unknown) => typeof v === "string" && v.trim().length >= min && v.trim().length <= max,
      defaultMessage: buildMessage(() => message),
    },
  });
}
