/** The application's services, created once per server around one database. */
import type { Config } from "./config.js";
import type { Database } from "./database.js";
import { TokenService } from "./auth/tokens.js";
import { AccountService } from "./modules/account/account.service.js";
import { SessionService } from "./modules/account/session.service.js";
import { LiveSockets } from "./modules/account/live-sockets.js";
import { UserService } from "./modules/user/user.service.js";
import { ContactService } from "./modules/contact/contact.service.js";
import { MediaService } from "./modules/media/media.service.js";
import { UrlSigner } from "./common/signed-url.js";
import { PasswordResetService } from "./modules/password-reset/password-reset.service.js";
import type { Mailer } from "./mail/mailer.js";
import type { AppTopicsPubSub } from "./topics.js";
import type { RedisLog } from "./common/redis.js";
import { ConversationService } from "./modules/conversation/conversation.service.js";
import { ConversationRevisions } from "./modules/conversation/revisions.js";
import { ConversationStateService } from "./modules/conversation/conversation-state.service.js";
import { MessageService } from "./modules/message/message.service.js";
import { MessagePinService } from "./modules/message/message-pin.service.js";
import { MessageEditService } from "./modules/message/message-edit.service.js";
import { ReactionService } from "./modules/message/reaction.service.js";
import { MentionService } from "./modules/message/mention.service.js";
import { MessageHideService } from "./modules/message/message-hide.service.js";
import { MessageForwardService } from "./modules/message/message-forward.service.js";
import { SyncService } from "./modules/sync/sync.service.js";
import { HighWater } from "./modules/message/high-water.js";
import { ConversationStreams } from "./modules/message/conversation-streams.js";
import { GroupService } from "./modules/group/group.service.js";
import { GroupInvitationService } from "./modules/group/group-invitation.service.js";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "./auth/rate-limiter.js";
import { CallService } from "./modules/call/call.service.js";
import { UploadService } from "./modules/media/upload.service.js";
import { PresenceService } from "./modules/presence/presence.service.js";
import { LocalConnectionTracker, RedisConnectionTracker } from "./modules/presence/connection-tracker.js";
import { createStorage, type BlobStorage } from "./storage/index.js";
import { AbuseGuard } from "./auth/abuse-limits.js";
import { AuditService } from "./modules/audit/audit.service.js";
import { SecurityEventType } from "./modules/audit/security-event.entity.js";

export interface AppServices {
  config: Config;
  db: Database;
  tokens: TokenService;
  accounts: AccountService;
  sessions: SessionService;
  /** This instance's authenticated WebSockets: closed when their login ends or their token expires. */
  liveSockets: LiveSockets;
  users: UserService;
  contacts: ContactService;
  media: MediaService;
  passwordResets: PasswordResetService;
  mailer: Mailer;
  rateLimiter: RateLimiter;
  pubSub: AppTopicsPubSub;
  conversations: ConversationService;
  /** Each member's mute, archive, pin and mark-unread state of a conversation. */
  conversationState: ConversationStateService;
  messages: MessageService;
  /** Pinned messages of conversations. */
  messagePins: MessagePinService;
  /** Edits with history and the edit window; hide for me; forwarding (issue 15). */
  messageEdits: MessageEditService;
  reactions: ReactionService;
  mentions: MentionService;
  messageHides: MessageHideService;
  messageForwards: MessageForwardService;
  /** changes(since): one-round-trip catch-up. */
  sync: SyncService;
  /** Tells live messageAdded streams of this instance about committed messages whose event they missed. */
  highWater: HighWater;
  /** The live streams of conversations (over pubSub, highWater and message reads). */
  streams: ConversationStreams;
  groups: GroupService;
  groupInvitations: GroupInvitationService;
  calls: CallService;
  uploads: UploadService;
  presence: PresenceService;
  storage: BlobStorage;
  /** Abuse limits (token buckets, login throttling). */
  guard: AbuseGuard;
  /** The security log. */
  audit: AuditService;
  /** Starts the services' background work (call ring timeouts, upload purges, presence). */
  start(): void;
  /** Stops every timer the services own and closes their own connections (rate limiter). */
  stop(): Promise<void>;
}

/** Where background work (ring sweeps, presence, upload purges) reports what went wrong. */
export type BackgroundErrorLog = (err: unknown, task: string) => void;

/** `redisLog` hears of Redis outages (one line per connection and outage, see common/redis.ts). */
export function createServices(
  config: Config,
  db: Database,
  mailer: Mailer,
  pubSub: AppTopicsPubSub,
  logError: BackgroundErrorLog = () => {},
  redisLog?: RedisLog,
): AppServices {
  const tokens = new TokenService(config.jwtSecret, config.accessTokenTtlSeconds);
  // Attempts count across instances when they share a Redis (keys namespaced by database).
  const rateLimiter = config.redisUrl ? new RedisRateLimiter(config.redisUrl, db.connection.name, redisLog) : new MemoryRateLimiter();
  const storage = createStorage(config);
  const media = new MediaService(db.models, new UrlSigner(config.jwtSecret, config.downloadUrlTtlSeconds, config.publicUrl ?? ""), storage);
  const uploads = new UploadService(
    db.models,
    storage,
    new UrlSigner(config.jwtSecret, config.uploadUrlTtlSeconds, config.publicUrl ?? ""),
    {
      maxBytes: config.uploadMaxBytes,
      limiter: rateLimiter,
      perUser: { limit: config.uploadRateLimit, windowSeconds: 10 * 60 },
      imageMaxPixels: config.imageMaxPixels,
      onError: (e) => logError(e, "upload purge"),
    },
    db,
  );
  const guard = new AbuseGuard(rateLimiter, config.limits);
  const audit = new AuditService(db.models, config.auditRetentionDays, (e) => logError(e, "security log"));
  const sessions = new SessionService(db.models, pubSub, {
    refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    maxAgeSeconds: config.sessionMaxAgeSeconds,
    // Revocations and reuse detection reach the security log here; logout, password and
    // deactivation paths record their own, richer event (with the request's IP).
    onEnded: (userId, sessionIds, reason) =>
      reason === "revoked" || reason === "refresh_reuse"
        ? audit.record({ type: SecurityEventType.SESSION_REVOKED, userId, ip: null, details: { sessionIds, reason } })
        : undefined,
  });
  const accounts = new AccountService(db.models, tokens, config, guard, media, sessions, audit);
  const contacts = new ContactService(db.models, pubSub, guard);
  const conversations = new ConversationService(db.models, pubSub);
  const groupInvitations = new GroupInvitationService(db.models);
  // Stamps message changes with their conversation's rev (catch-up by changes(since)).
  const revisions = new ConversationRevisions(db.models, db);
  const messages = new MessageService(db.models, conversations, contacts, pubSub, guard, db, revisions, (e) => logError(e, "message send"));
  // Its timer runs only while streams are watched, so it ends with the server's last socket.
  const highWater = new HighWater(db.models, config.streamHwmIntervalMs, (e) => logError(e, "stream high-water check"));
  const calls = new CallService(db.models, contacts, pubSub, {
    ringTimeoutMs: config.callRingTimeoutSeconds * 1000,
    guard,
    onError: (e) => logError(e, "call ring timeout"),
  });
  const presence = new PresenceService(
    db.models,
    contacts,
    pubSub,
    config.redisUrl
      ? new RedisConnectionTracker(config.redisUrl, db.connection.name, config.presenceInstanceTtlSeconds, redisLog)
      : new LocalConnectionTracker(),
    { graceMs: config.presenceGraceMs, onError: (e) => logError(e, "presence"), singleInstance: !config.redisUrl },
  );
  return {
    streams: new ConversationStreams({ pubSub, highWater, db, messages, conversations, contacts }),
    start() {
      calls.startTimers();
      uploads.startTimers();
      presence.start();
    },
    async stop() {
      calls.stopTimers();
      uploads.stopTimers();
      highWater.stop();
      await presence.stop();
      await rateLimiter.close();
    },
    config,
    db,
    tokens,
    accounts,
    sessions,
    liveSockets: new LiveSockets(pubSub, { maxPerUser: config.maxConnectionsPerUser }),
    users: new UserService(db.models),
    contacts,
    pubSub,
    conversations,
    conversationState: new ConversationStateService(db.models, pubSub, guard),
    messagePins: new MessagePinService(db.models, conversations, pubSub, guard),
    messages,
    messageEdits: new MessageEditService(db.models, messages, { windowSeconds: config.messageEditWindowSeconds }, guard, revisions),
    messageHides: new MessageHideService(db.models, messages, guard, revisions),
    reactions: new ReactionService(db.models, messages, conversations, guard, revisions),
    mentions: new MentionService(db.models),
    messageForwards: new MessageForwardService(db.models, messages),
    sync: new SyncService(db.models),
    highWater,
    groups: new GroupService(db.models, conversations, contacts, media, pubSub, groupInvitations, guard, audit, db),
    groupInvitations,
    calls,
    presence,
    media,
    uploads,
    storage,
    passwordResets: new PasswordResetService(db.models, accounts, mailer, config, rateLimiter, audit),
    mailer,
    rateLimiter,
    guard,
    audit,
  };
}
