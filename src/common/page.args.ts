/**
 * Paging arguments as `@ArgsType()` classes, so a paged field writes `@Args(() => Page(20))
 * page: PageArgs` instead of four `@Arg`s. The default for `first` differs between fields (it is
 * part of the published schema), hence one class per default, made once. The limits (0..100,
 * not both first and last) are checked by `validatePage` in connection.ts, where the keyset
 * reads are.
 */
import { ArgsType, Field, Int, type ClassType } from "type-graphql";
import type { PageArgs } from "./connection.js";

/** `first`/`after` only: connections that page forward. */
export interface ForwardPageArgs {
  first?: number | null;
  after?: string | null;
}

const forwardClasses = new Map<number | undefined, ClassType<ForwardPageArgs>>();
const pageClasses = new Map<number | undefined, ClassType<PageArgs>>();

/** `first` (default `defaultFirst`, none when absent) and `after`. */
export function ForwardPage(defaultFirst?: number): ClassType<ForwardPageArgs> {
  let cls = forwardClasses.get(defaultFirst);
  if (!cls) {
    @ArgsType()
    class ForwardPageArgsType implements ForwardPageArgs {
      // Declared in the order the published schema lists them (type-graphql keeps field order).
      @Field(() => String, { nullable: true })
      after?: string | null;

      @Field(() => Int, { nullable: true, ...(defaultFirst !== undefined ? { defaultValue: defaultFirst } : {}) })
      first?: number | null;
    }
    forwardClasses.set(defaultFirst, (cls = ForwardPageArgsType));
  }
  return cls;
}

/** `first` (default `defaultFirst`), `after`, `last`, `before`: connections that page both ways. */
export function Page(defaultFirst?: number): ClassType<PageArgs> {
  let cls = pageClasses.get(defaultFirst);
  if (!cls) {
    @ArgsType()
    class PageArgsType implements PageArgs {
      // Declared in the order the published schema lists them (type-graphql keeps field order).
      @Field(() => String, { nullable: true })
      before?: string | null;

      @Field(() => Int, { nullable: true })
      last?: number | null;

      @Field(() => String, { nullable: true })
      after?: string | null;

      @Field(() => Int, { nullable: true, ...(defaultFirst !== undefined ? { defaultValue: defaultFirst } : {}) })
      first?: number | null;
    }
    pageClasses.set(defaultFirst, (cls = PageArgsType));
  }
  return cls;
}

// type-graphql builds the schema from a copy of its metadata, so an @ArgsType class first made
// inside an `@Args(() => Page(n))` thunk would be missing from it: the variants in use are made
// here, when this module loads (a new default needs a line here, or a module-level constant).
for (const n of [undefined, 20, 50]) {
  ForwardPage(n);
  Page(n);
}
