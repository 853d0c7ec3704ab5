/** Contacts part of the contract; thin: every rule is in ContactService. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import type { Connection } from "../../common/connection.js";
import { ForwardPage, type ForwardPageArgs } from "../../common/page.args.js";
import { ViewerId } from "../../auth/current-user.js";
import { User } from "../user/user.entity.js";
import { Contact, ContactStatus } from "./contact.entity.js";
import { ContactConnection, ContactRequest, ContactRequestConnection } from "./contact.type.js";
import { UpdateContactInput } from "./contact.input.js";
import type { ContactRequestNode } from "./contact.service.js";
import { loadUser } from "../user/load-user.js";
import type { Entity } from "../../common/lean.js";

/** Made at load time: type-graphql must see an @ArgsType class before it builds the schema. */
const ContactsPage = ForwardPage(50);

@Resolver(() => Contact)
export class ContactResolver {
  @Authorized()
  @Query(() => ContactConnection)
  contacts(
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
    @Arg("status", () => ContactStatus, { nullable: true }) status: ContactStatus | null,
    @Arg("favoritesOnly", () => Boolean, { nullable: true, defaultValue: false }) favoritesOnly: boolean | null,
    @Args(() => ContactsPage) page: ForwardPageArgs,
  ): Promise<Connection<DocumentType<Contact>>> {
    return ctx.services.contacts.list(viewerId, status, favoritesOnly === true, page);
  }

  @Authorized()
  @Query(() => ContactRequestConnection, { description: "Pending requests other users sent to the viewer." })
  incomingContactRequests(
    @ViewerId() viewerId: string,
    @Ctx() ctx: Context,
    @Args(() => ContactsPage) page: ForwardPageArgs,
  ): Promise<Connection<ContactRequestNode>> {
    return ctx.services.contacts.incoming(viewerId, page);
  }

  @Authorized()
  @Mutation(() => Contact)
  requestContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.request(viewerId, userId);
  }

  @Authorized()
  @Mutation(() => Contact)
  acceptContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.accept(viewerId, userId);
  }

  @Authorized()
  @Mutation(() => Boolean)
  declineContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<boolean> {
    return ctx.services.contacts.decline(viewerId, userId);
  }

  @Authorized()
  @Mutation(() => Boolean)
  removeContact(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<boolean> {
    return ctx.services.contacts.remove(viewerId, userId);
  }

  @Authorized()
  @Mutation(() => Contact, { description: "The blocked user can no longer message the viewer, see their presence or last seen, or add them to a group." })
  blockUser(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.block(viewerId, userId);
  }

  @Authorized()
  @Mutation(() => Boolean)
  unblockUser(@Arg("userId", () => ID) userId: string, @Ctx() ctx: Context, @ViewerId() viewerId: string): Promise<boolean> {
    return ctx.services.contacts.unblock(viewerId, userId);
  }

  @Authorized()
  @Mutation(() => Contact)
  updateContact(
    @Arg("userId", () => ID) userId: string,
    @Arg("input", () => UpdateContactInput) input: UpdateContactInput,
    @Ctx() ctx: Context,
    @ViewerId() viewerId: string,
  ): Promise<DocumentType<Contact>> {
    return ctx.services.contacts.update(viewerId, userId, input);
  }

  @FieldResolver(() => User)
  async user(@Root() contact: DocumentType<Contact>, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, contact.contact_id.toHexString());
  }
}

@Resolver(() => ContactRequest)
export class ContactRequestResolver {
  @FieldResolver(() => User)
  async from(@Root() request: ContactRequestNode, @Ctx() ctx: Context): Promise<Entity<User>> {
    return loadUser(ctx, request.fromId.toHexString());
  }
}
