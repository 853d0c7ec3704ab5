/** Media and files: lookups, signed URLs, the uploader, the two-step upload and deletion. Thin: rules live in the services. */
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { ViewerId } from "../../auth/current-user.js";
import { ViewerSpecific } from "../../subscriptions/viewer-specific.js";
import { User } from "../user/user.entity.js";
import { Attachment, FileItem, Media } from "./media.entity.js";
import { CreateUploadInput } from "./upload.input.js";
import { UploadTicket } from "./upload.type.js";
import type { UploadTicketView } from "./upload.service.js";
import { loadUser } from "../user/load-user.js";
import type { Entity } from "../../common/lean.js";

async function uploaderOf(ctx: Context, item: { uploader_id: { toHexString(): string } }): Promise<Entity<User>> {
  return loadUser(ctx, item.uploader_id.toHexString());
}

// URLs are signed for the viewer: the download checks again that they may read the item.
@Resolver(() => Media)
export class MediaResolver {
  @Authorized()
  @Query(() => Media, { nullable: true })
  media(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Entity<Media>> {
    return ctx.services.media.visibleMedia(viewerId, id);
  }

  @Authorized()
  @Mutation(() => UploadTicket)
  createUpload(@Arg("input", () => CreateUploadInput) input: CreateUploadInput, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<UploadTicketView> {
    return ctx.services.uploads.create(viewerId, input);
  }

  @Authorized()
  @Mutation(() => Attachment, { description: "Checks the stored bytes (size, sniffed MIME type), makes thumbnails and dimensions for images." })
  completeUpload(@Arg("uploadId", () => ID) uploadId: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Entity<Media> | Entity<FileItem>> {
    return ctx.services.uploads.complete(viewerId, uploadId);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Uploader only." })
  deleteMedia(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.media.deleteMedia(viewerId, id);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Uploader only." })
  deleteFile(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.media.deleteFile(viewerId, id);
  }

  @ViewerSpecific()
  @FieldResolver(() => String, { description: "A signed, expiring download URL; fetching it counts a view." })
  url(@Root() media: Entity<Media>, @ViewerId() viewerId: string, @Ctx() ctx: Context): string {
    return ctx.services.media.mediaUrl(media, viewerId);
  }

  @ViewerSpecific()
  @FieldResolver(() => String, { nullable: true })
  thumbnailUrl(@Root() media: Entity<Media>, @ViewerId() viewerId: string, @Ctx() ctx: Context): string | null {
    return ctx.services.media.thumbnailUrl(media, viewerId);
  }

  @FieldResolver(() => User)
  uploader(@Root() media: Entity<Media>, @Ctx() ctx: Context): Promise<Entity<User>> {
    return uploaderOf(ctx, media);
  }
}

@Resolver(() => FileItem)
export class FileResolver {
  @Authorized()
  @Query(() => FileItem, { nullable: true })
  file(@Arg("id", () => ID) id: string, @ViewerId() viewerId: string, @Ctx() ctx: Context): Promise<Entity<FileItem>> {
    return ctx.services.media.visibleFile(viewerId, id);
  }

  @ViewerSpecific()
  @FieldResolver(() => String, { description: "A signed, expiring download URL; fetching it counts a download." })
  url(@Root() file: Entity<FileItem>, @ViewerId() viewerId: string, @Ctx() ctx: Context): string {
    return ctx.services.media.fileUrl(file, viewerId);
  }

  @FieldResolver(() => User)
  uploader(@Root() file: Entity<FileItem>, @Ctx() ctx: Context): Promise<Entity<User>> {
    return uploaderOf(ctx, file);
  }
}
