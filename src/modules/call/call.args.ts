/** Argument classes of the calls part (subscription arguments without `args as …` casts). */
import { ArgsType, Field, ID } from "type-graphql";

/** `callSignal`: the signals of one call the viewer takes part in. */
@ArgsType()
export class CallSignalArgs {
  @Field(() => ID)
  callId!: string;
}
