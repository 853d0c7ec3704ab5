/**
 * The loader table: one fresh set of DataLoaders per request (dataloader's README: one loader
 * set per request, never shared between users), and per live event the loaders that do not
 * depend on the viewer, shared by every subscriber of that event in this instance.
 */
import DataLoader from "dataloader";
import type { Loaders, SharedLoaders, Viewer, ViewerLoaders } from "./context.js";
import type { AppServices } from "./services.js";
import { ContactStatus } from "./modules/contact/contact.entity.js";
import { snapshotOf, type ConversationSnapshot } from "./modules/conversation/conversation.view.js";
import type { MessageView } from "./modules/message/message.view.js";

export function createSharedLoaders(services: AppServices): SharedLoaders {
  return {
    user: new DataLoader((ids: readonly string[]) => services.users.findByIds(ids)),
    media: new DataLoader((ids: readonly string[]) => services.media.mediaByIds(ids)),
    file: new DataLoader((ids: readonly string[]) => services.media.filesByIds(ids)),
    conversation: new DataLoader(async (ids: readonly string[]) => (await services.conversations.byIds(ids)).map((c) => (c ? snapshotOf(c) : null))),
    group: new DataLoader((ids: readonly string[]) => services.groups.byIds(ids)),
    message: new DataLoader((ids: readonly string[]) => services.messages.lastMessages(ids)),
    presence: new DataLoader((ids: readonly string[]) => services.presence.byUserIds(ids)),
  };
}

function viewerLoaders(services: AppServices, viewer: Viewer | null): ViewerLoaders {
  const entryAboutViewer = new DataLoader(async (ids: readonly string[]) => (viewer ? services.contacts.statusesTowards(viewer.id, ids) : ids.map(() => null)));
  return {
    contactOf: new DataLoader(async (ids: readonly string[]) => (viewer ? services.contacts.entriesAbout(viewer.id, ids) : ids.map(() => null))),
    // Shares entryAboutViewer's batch: blocks and contacts come from the same entries.
    blockedViewer: new DataLoader(async (ids: readonly string[]) => (await entryAboutViewer.loadMany(ids)).map((s) => s === ContactStatus.BLOCKED)),
    entryAboutViewer,
    unreadMentions: services.mentions.loader(viewer?.id ?? null),
  };
}

export function createLoaders(services: AppServices, viewer: Viewer | null): Loaders {
  return { ...createSharedLoaders(services), ...viewerLoaders(services, viewer) };
}

/** What an event may carry that its resolvers would otherwise load (see the features' *.events.ts). */
interface EventCarries {
  conversation?: ConversationSnapshot;
  message?: MessageView;
}

/**
 * Loaders for one live event: the shared ones are made once per event (every subscriber of
 * that event in this instance reuses them) and primed with the conversation and message the
 * event carries; the viewer's own ones per subscriber. Keyed weakly by the event object, so
 * they go with it.
 */
export function eventLoaders(services: AppServices) {
  const byEvent = new WeakMap<object, SharedLoaders>();
  return (event: object, viewer: Viewer | null): Loaders => {
    let shared = byEvent.get(event);
    if (!shared) {
      shared = createSharedLoaders(services);
      const { conversation, message } = event as EventCarries;
      if (conversation?.id) shared.conversation.prime(conversation.id, conversation);
      if (message?.id) shared.message.prime(message.id, message);
      byEvent.set(event, shared);
    }
    return { ...shared, ...viewerLoaders(services, viewer) };
  };
}
