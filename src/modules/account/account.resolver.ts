/** Accounts part of the contract; thin: every rule is in AccountService. */
import { Arg, Args, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import { CurrentUser, ViewerId } from "../../auth/current-user.js";
import type { Context, Viewer } from "../../context.js";
import { ChangePasswordArgs, ResetPasswordArgs } from "./account.args.js";
import { LoginInput, RegisterInput, UpdateProfileInput, UpdateSettingsInput } from "./account.input.js";
import { AuthPayload } from "./account.type.js";
import { User } from "../user/user.entity.js";
import type { Entity } from "../../common/lean.js";

/**
 * The payload's user is the one who just authenticated: the rest of this operation sees them
 * as the viewer, so their own email and settings resolve.
 */
function asViewer(ctx: Context, payload: AuthPayload): AuthPayload {
  ctx.viewer = { id: payload.user._id.toHexString(), sessionId: payload.sessionId };
  return payload;
}

@Resolver()
export class AccountResolver {
  @Mutation(() => AuthPayload)
  async register(@Arg("input", () => RegisterInput) input: RegisterInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return asViewer(ctx, await ctx.services.accounts.register(input, { ip: ctx.ip, userAgent: ctx.userAgent }));
  }

  @Mutation(() => AuthPayload, { description: "login is a username or an email. Wrong login and wrong password give the same error." })
  async login(@Arg("input", () => LoginInput) input: LoginInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return asViewer(ctx, await ctx.services.accounts.login(input, ctx.ip, ctx.userAgent));
  }

  @Mutation(() => AuthPayload, { description: "Rotates: the old refresh token stops working." })
  async refreshToken(@Arg("refreshToken") refreshToken: string, @Ctx() ctx: Context): Promise<AuthPayload> {
    return asViewer(ctx, await ctx.services.accounts.refresh(refreshToken));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Revokes the refresh token of this session; with allSessions, every session of the viewer." })
  logout(
    @Arg("allSessions", () => Boolean, { nullable: true, defaultValue: false }) allSessions: boolean | null,
    @CurrentUser() viewer: Viewer,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return ctx.services.accounts.logout(viewer.id, viewer.sessionId, allSessions === true, ctx.ip);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Rejects the current and the last 5 passwords (PASSWORD_REUSED). Revokes the other sessions." })
  changePassword(
    @Args(() => ChangePasswordArgs) { currentPassword, newPassword }: ChangePasswordArgs,
    @CurrentUser() viewer: Viewer,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    return ctx.services.accounts.changePassword(viewer.id, viewer.sessionId, currentPassword, newPassword, ctx.ip);
  }

  @Authorized()
  @Mutation(() => User)
  updateProfile(@Arg("input", () => UpdateProfileInput) input: UpdateProfileInput, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Entity<User>> {
    return ctx.services.accounts.updateProfile(viewerId, input);
  }

  @Authorized()
  @Mutation(() => User)
  updateSettings(
    @Arg("input", () => UpdateSettingsInput) input: UpdateSettingsInput,
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
  ): Promise<Entity<User>> {
    return ctx.services.accounts.updateSettings(viewerId, input);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Sets is_active false, revokes sessions; the user can no longer log in or be messaged." })
  deactivateAccount(@Arg("password") password: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.accounts.deactivate(viewerId, password, ctx.ip);
  }

  @Mutation(() => Boolean, { description: "Always true, whether or not the email is known. The token goes out through the mailer." })
  requestPasswordReset(@Arg("email") email: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.passwordResets.request(email, ctx.ip);
  }

  @Mutation(() => Boolean, { description: "Single use; expires after 1 hour by default. Revokes every session of the user." })
  resetPassword(@Args(() => ResetPasswordArgs) { token, newPassword }: ResetPasswordArgs, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.passwordResets.reset(token, newPassword, ctx.ip);
  }
}
