/** Arguments of the users part, with their shape rules (class-validator). */
import { ArgsType, Field } from "type-graphql";
import { ForwardPage } from "../../common/page.args.js";
import { TrimmedLength } from "./trimmed-length.js";

@ArgsType()
export class SearchUsersArgs extends ForwardPage(20) {
  @Field()
  @TrimmedLength(1, 100, "query must be 1 to 100 characters")
  query!: string;
}
