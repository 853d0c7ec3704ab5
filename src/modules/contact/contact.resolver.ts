/** Contacts part of the contract; thin: every rule is in ContactService. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import type { Connection } from "../../common/connection.js";
import { notFound } from "../../errors.js";
import { User } from "../user/user.entity.js";
import { Contact, ContactRequest, ContactStatus } from "./contact.entity.js";
import { ContactConnection, ContactRequestConnection, UpdateContactInput } from "./contact.inputs.js";
import type { ContactRequestNode } from "./contact.service.js";
import { loadUser } from "../user/load-user.js";

@Resolver(() => Contact)
export class ContactResolver {
  @Authorized()
  @Query(() => ContactConnection)
  contacts(
    @Ctx() ctx: Context,
    @Arg("status", () => ContactStatus, { nullable: true }) status: ContactStatus | null,
    @Arg("favoritesOnly", () => Boolean, { nullable: true, defaultValue: false }) favoritesOnly: boolean | null,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ): Promise<Connection<DocumentType<Contact>>> {
    return ctx.services.contacts.list(ctx.viewer!.id, status, favoritesOnly === true, { first, after });
  }

  @Authorized()
  @Query(() => ContactRequestConnection, { description: "Pending requests other users sent to the viewer." })
  incomingContactRequests(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, defaultValue: 50 }) first: number | null,
    @Arg("after", () => String, { nullable: true }) after: string | null,
  ): Promise<Connection<ContactRequestNode>> {
    return ctx.services.contacts.incoming(ctx.viewer!.id, { first, after });
  }

  @Authorized()
  @Mutation(() => Contact)
  requestContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.request(ctx.viewer!.id, userId);
  }

  @Authorized()
  @Mutation(() => Contact)
  acceptContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.accept(ctx.viewer!.id, userId);
  }

  @Authorized()
  @Mutation(() => Boolean)
  declineContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.contacts.decline(ctx.viewer!.id, userId);
  }

  @Authorized()
  @Mutation(() => Boolean)
  removeContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.contacts.remove(ctx.viewer!.id, userId);
  }

  @Authorized()
  @Mutation(() => Contact, { description: "The blocked user can no longer message the viewer, see their presence or last seen, or add them to a group." })
  blockUser(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.block(ctx.viewer!.id, userId);
  }

  @Authorized()
  @Mutation(() => Boolean)
  unblockUser(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.contacts.unblock(ctx.viewer!.id, userId);
  }

  @Authorized()
  @Mutation(() => Contact)
  updateContact(
    @Arg("userId", () => ID) userId: string,
    @Arg("input", () => UpdateContactInput) input: UpdateContactInput,
    @Ctx() ctx: Context,
  ): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.update(ctx.viewer!.id, userId, input);
  }

  @FieldResolver(() => User)
  async user(@Root() contact: DocumentType<Contact>, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return loadUser(ctx, contact.contact_id.toHexString());
  }
}

@Resolver(() => ContactRequest)
export class ContactRequestResolver {
  @FieldResolver(() => User)
  async from(@Root() request: ContactRequestNode, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return loadUser(ctx, request.fromId.toHexString());
  }
}
