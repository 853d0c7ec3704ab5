/** Media and files: lookups, signed URLs, the uploader, the two-step upload and deletion. Thin: rules live in the services. */
import type { DocumentType } from "@typegoose/typegoose";
import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../context.js";
import { User } from "../user/user.entity.js";
import { Attachment, FileItem, Media } from "./media.entity.js";
import { CreateUploadInput, UploadTicket } from "./upload.types.js";
import type { UploadTicketView } from "./upload.service.js";
import { loadUser } from "../user/load-user.js";

async function uploaderOf(ctx: Context, item: { uploader_id: { toHexString(): string } }): Promise<DocumentType<User>> {
  return loadUser(ctx, item.uploader_id.toHexString());
}

/** URLs are signed for the viewer: the download checks again that they may read the item. */
const viewerId = (ctx: Context): string => ctx.viewer?.id ?? "";

@Resolver(() => Media)
export class MediaResolver {
  @Authorized()
  @Query(() => Media, { nullable: true })
  media(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<DocumentType<Media>> {
    return ctx.services.media.visibleMedia(ctx.viewer!.id, id);
  }

  @Authorized()
  @Mutation(() => UploadTicket)
  createUpload(@Arg("input", () => CreateUploadInput) input: CreateUploadInput, @Ctx() ctx: Context): Promise<UploadTicketView> {
    return ctx.services.uploads.create(ctx.viewer!.id, input);
  }

  @Authorized()
  @Mutation(() => Attachment, { description: "Checks the stored bytes (size, sniffed MIME type), makes thumbnails and dimensions for images." })
  completeUpload(@Arg("uploadId", () => ID) uploadId: string, @Ctx() ctx: Context): Promise<DocumentType<Media> | DocumentType<FileItem>> {
    return ctx.services.uploads.complete(ctx.viewer!.id, uploadId);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Uploader only." })
  deleteMedia(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.media.deleteMedia(ctx.viewer!.id, id);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Uploader only." })
  deleteFile(@Arg("id", () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    return ctx.services.media.deleteFile(ctx.viewer!.id, id);
  }

  @FieldResolver(() => String, { description: "A signed, expiring download URL; fetching it counts a view." })
  url(@Root() media: DocumentType<Media>, @Ctx() ctx: Context): string {
    return ctx.services.media.mediaUrl(media, viewerId(ctx));
  }

  @FieldResolver(() => String, { nullable: true })
  thumbnailUrl(@Root() media: DocumentType<Media>, @Ctx() ctx: Context): string | null {
    return ctx.services.media.thumbnailUrl(media, viewerId(ctx));
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
    return ctx.services.media.fileUrl(file, viewerId(ctx));
  }

  @FieldResolver(() => User)
  uploader(@Root() file: DocumentType<FileItem>, @Ctx() ctx: Context): Promise<DocumentType<User>> {
    return uploaderOf(ctx, file);
  }
}
