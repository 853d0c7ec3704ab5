/** The viewer's logins and ending them; thin: the rules are in SessionService. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context, Viewer } from "../../context.js";
import { CurrentUser, ViewerId } from "../../auth/current-user.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { Session } from "./session.entity.js";

// Roots typed with an alias, not the class: type-graphql would copy a root into a new instance
// of a class it is given, losing a mongoose document's getters.
type SessionRoot = Pick<Session, "family_id" | "device">;

@Resolver(() => Session)
export class SessionResolver {
  @Authorized()
  @Query(() => [Session], { description: "The viewer's live logins (devices), most recently used first." })
  sessions(@ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Array<DocumentType<Session>>> {
    return ctx.services.sessions.list(viewerId);
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: "Ends one of the viewer's logins (the current one too): its refresh token stops working and its WebSockets close with 4401.",
  })
  revokeSession(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.sessions.revokeOne(viewerId, id);
  }

  @Authorized()
  @Mutation(() => Int, { description: "Ends every login of the viewer but the current one; returns how many ended." })
  async revokeOtherSessions(@CurrentUser() viewer: Viewer, @Ctx() ctx: Context): Promise<number> {
    return (await ctx.services.sessions.end(viewer.id, { allExcept: viewer.sessionId }, "revoked")).length;
  }

  @ViewerSpecific()
  @FieldResolver(() => Boolean, { description: "True for the login making this request." })
  current(@Root() session: SessionRoot, @Ctx() ctx: Context): boolean {
    return session.family_id === ctx.viewer?.sessionId;
  }

  @FieldResolver(() => String, { nullable: true, description: "From the login's device input." })
  deviceType(@Root() session: SessionRoot): string | null {
    return session.device?.deviceType ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "From the login's device input." })
  platform(@Root() session: SessionRoot): string | null {
    return session.device?.platform ?? null;
  }

  @FieldResolver(() => String, { nullable: true, description: "From the login's device input." })
  appVersion(@Root() session: SessionRoot): string | null {
    return session.device?.appVersion ?? null;
  }
}
