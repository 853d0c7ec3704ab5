/** Accounts part of the contract; thin: every rule is in AccountService. */
import { Arg, Authorized, Ctx, Mutation, Resolver } from "type-graphql";
import type { Context } from "../../context.js";
import { LoginInput, RegisterInput, UpdateProfileInput, UpdateSettingsInput } from "./account.input.js";
import { AuthPayload } from "./account.type.js";
import { User } from "../user/user.entity.js";
import type { DocumentType } from "@typegoose/typegoose";

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
  logout(@Arg("allSessions", () => Boolean, { nullable: true, defaultValue: false }) allSessions: boolean | null, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.accounts.logout(ctx.viewer!.id, ctx.viewer!.sessionId, allSessions === true, ctx.ip);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Rejects the current and the last 5 passwords (PASSWORD_REUSED). Revokes the other sessions." })
  changePassword(@Arg("currentPassword") currentPassword: string, @Arg("newPassword") newPassword: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.accounts.changePassword(ctx.viewer!.id, ctx.viewer!.sessionId, currentPassword, newPassword, ctx.ip);
  }

  @Authorized()
  @Mutation(() => User)
  updateProfile(@Arg("input", () => UpdateProfileInput) input: UpdateProfileInput, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return ctx.services.accounts.updateProfile(ctx.viewer!.id, input);
  }

  @Authorized()
  @Mutation(() => User)
  updateSettings(@Arg("input", () => UpdateSettingsInput) input: UpdateSettingsInput, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return ctx.services.accounts.updateSettings(ctx.viewer!.id, input);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Sets is_active false, revokes sessions; the user can no longer log in or be messaged." })
  deactivateAccount(@Arg("password") password: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.accounts.deactivate(ctx.viewer!.id, password, ctx.ip);
  }

  @Mutation(() => Boolean, { description: "Always true, whether or not the email is known. The token goes out through the mailer." })
  requestPasswordReset(@Arg("email") email: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.passwordResets.request(email, ctx.ip);
  }

  @Mutation(() => Boolean, { description: "Single use; expires after 1 hour by default. Revokes every session of the user." })
  resetPassword(@Arg("token") token: string, @Arg("newPassword") newPassword: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.passwordResets.reset(token, newPassword, ctx.ip);
  }
}
