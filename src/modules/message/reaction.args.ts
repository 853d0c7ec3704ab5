/** `addReaction` / `removeReaction`: the emoji must be one emoji grapheme (shape rule, here). */
import { registerDecorator, type ValidationOptions } from "class-validator";
import { ArgsType, Field, ID } from "type-graphql";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
const PICTOGRAPHIC = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/**
 * One user-perceived character that is an emoji: a single grapheme cluster (so skin tones,
 * ZWJ sequences such as 👩‍💻 and flags count as one) containing a pictograph or a regional
 * indicator. Plain letters, digits, two emoji and the empty string are refused.
 */
export function isSingleEmoji(value: unknown): boolean {
  if (typeof value !== "string" || value.length === 0 || value.length > 64) return false;
  const parts = [...graphemes.segment(value)];
  return parts.length === 1 && PICTOGRAPHIC.test(value);
}

function IsSingleEmoji(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: "isSingleEmoji",
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: { validate: isSingleEmoji },
    });
}

@ArgsType()
export class ReactionArgs {
  @Field(() => ID)
  messageId!: string;

  @Field(() => String, { description: "One emoji (a single grapheme: skin tones, sequences and flags included)." })
  @IsSingleEmoji({ message: "emoji must be a single emoji" })
  emoji!: string;
}
