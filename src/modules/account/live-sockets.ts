/**
 * This instance's authenticated WebSockets, by user. A socket is closed:
 * - with 4401 when its login ends (`sessions.ended` on the user's ACCOUNT topic, published by
 *   SessionService.end on any instance, so through Redis when REDIS_URL is set), or when its
 *   access token expires (clients reconnect with a fresh token: the graphql-ws convention);
 * - with 4429 when the user opens more than MAX_CONNECTIONS_PER_USER sockets on this instance:
 *   the oldest goes. (Per instance: counting across instances would cost a Redis round trip
 *   per connect and disconnect.)
 * One topic listener per user with sockets here, not one per socket: nothing is read per event.
 */
import type { AppPubSub } from "../../pubsub.js";
import type { AccountTopics } from "./account.events.js";

export const CLOSE_SESSION_ENDED = 4401;
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;

/** What closing needs of a socket (the ws WebSocket). */
export interface ClosableSocket {
  close(code: number, reason: string): void;
}

interface Entry {
  socket: ClosableSocket;
  sessionId: string;
  timer: NodeJS.Timeout | null;
}

interface UserSockets {
  entries: Entry[];
  unlisten: () => void;
}

export class LiveSockets {
  private readonly byUser = new Map<string, UserSockets>();

  constructor(
    private readonly pubSub: AppPubSub<AccountTopics>,
    private readonly options: { maxPerUser: number },
  ) {}

  /** Registers an accepted socket; the returned function forgets it (call it when it closes). */
  add(viewer: { id: string; sessionId: string; expiresAt?: Date }, socket: ClosableSocket): () => void {
    let user = this.byUser.get(viewer.id);
    if (!user) {
      const created: UserSockets = { entries: [], unlisten: () => undefined };
      created.unlisten = this.pubSub.listen("ACCOUNT", viewer.id, (ev) => {
        if (ev.type !== "sessions.ended") return;
        const ended = new Set(ev.sessionIds);
        for (const e of [...created.entries]) if (ended.has(e.sessionId)) this.close(viewer.id, e, CLOSE_SESSION_ENDED, "Session ended");
      });
      this.byUser.set(viewer.id, (user = created));
    }
    const entry: Entry = { socket, sessionId: viewer.sessionId, timer: null };
    if (viewer.expiresAt) {
      // setTimeout holds at most ~24.8 days; access tokens live far less.
      entry.timer = setTimeout(() => this.close(viewer.id, entry, CLOSE_SESSION_ENDED, "Token expired"), Math.max(0, viewer.expiresAt.getTime() - Date.now()));
      entry.timer.unref();
    }
    user.entries.push(entry);
    while (user.entries.length > this.options.maxPerUser) this.close(viewer.id, user.entries[0], CLOSE_TOO_MANY_CONNECTIONS, "Too many connections");
    return () => this.forget(viewer.id, entry);
  }

  /** Sockets of a user on this instance. */
  count(userId: string): number {
    return this.byUser.get(userId)?.entries.length ?? 0;
  }

  private close(userId: string, entry: Entry, code: number, reason: string): void {
    this.forget(userId, entry);
    entry.socket.close(code, reason);
  }

  private forget(userId: string, entry: Entry): void {
    const user = this.byUser.get(userId);
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    if (!user) return;
    const i = user.entries.indexOf(entry);
    if (i >= 0) user.entries.splice(i, 1);
    if (user.entries.length === 0) {
      user.unlisten();
      this.byUser.delete(userId);
    }
  }
}
