/** Media and files, read side: lookups with access rules, signed URLs, the uploader. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { notFound } from "../../errors.js";
import { User } from "../user/user.entity.js";
import { FileItem, Media } from "./media.entity.js";
import { loadUser } from "../user/load-user.js";

async function uploaderOf(ctx: Context, item: { uploader_id: { toHexString(): string } }): Promise<DocumentType<User>> {
  return loadUser(ctx, item.uploader_id.toHexString());
}

@Resolver(() => Media)
export class MediaResolver {
  @Authorized()
  @Query(() => Media, { nullable: true })
  media(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<DocumentType<Media>> {
    return ctx.services.media.visibleMedia(ctx.viewer!.id, id);
  }

  @FieldResolver(() => String, { description: "A signed, expiring download URL; fetching it counts a view." })
  url(@Root() media: DocumentType<Media>, @Ctx() ctx: Context): string {
    return ctx.services.media.mediaUrl(media);
  }

  @FieldResolver(() => String, { nullable: true })
  thumbnailUrl(@Root() media: DocumentType<Media>, @Ctx() ctx: Context): string | null {
    return ctx.services.media.thumbnailUrl(media);
  }

  @FieldResolver(() => User)
  uploader(@Root() media: DocumentType<Media>, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return uploaderOf(ctx, media);
  }
}

@Resolver(() => FileItem)
export class FileResolver {
  @Authorized()
  @Query(() => FileItem, { nullable: true })
  file(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<DocumentType<FileItem>> {
    return ctx.services.media.visibleFile(ctx.viewer!.id, id);
  }

  @FieldResolver(() => String, { description: "A signed, expiring download URL; fetching it counts a download." })
  url(@Root() file: DocumentType<FileItem>, @Ctx() ctx: Context): string {
    return ctx.services.media.fileUrl(file);
  }

  @FieldResolver(() => User)
  uploader(@Root() file: DocumentType<FileItem>, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return uploaderOf(ctx, file);
  }
}
