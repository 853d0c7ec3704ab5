/**
 * Handshake and server information. The hello reply is what decides how the driver treats us:
 * wire version 21, sessions (logicalSessionTimeoutMinutes), and for replica-set mode the
 * set name with hosts/primary/me equal to the address clients dial. No topologyVersion: it
 * would switch the driver to streaming hello, which this server does not implement.
 */
import { ObjectId } from "bson";
import type { CommandContext, CommandHandler } from "./context.js";
import type { Doc } from "../values.js";
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE, MAX_WIRE_VERSION, MAX_WRITE_BATCH_SIZE, MIN_WIRE_VERSION } from "../wire.js";

export const SERVER_VERSION = "7.0.0";
/** Without logicalSessionTimeoutMinutes in hello the driver uses no sessions (nor transactions). */
const SESSION_TIMEOUT_MINUTES = 30;
const ELECTION_ID = new ObjectId("7fffffff0000000000000001");

export function helloReply(ctx: CommandContext, legacy: boolean): Doc {
  const { server } = ctx;
  const reply: Doc = {
    helloOk: true,
    ...(legacy ? { ismaster: true } : { isWritablePrimary: true }),
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE,
    maxWriteBatchSize: MAX_WRITE_BATCH_SIZE,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: SESSION_TIMEOUT_MINUTES,
    connectionId: ctx.connectionId,
    minWireVersion: MIN_WIRE_VERSION,
    maxWireVersion: MAX_WIRE_VERSION,
    readOnly: false,
  };
  if (server.replicaSet) {
    const me = `${server.host}:${server.port}`;
    Object.assign(reply, {
      setName: server.replicaSet,
      setVersion: 1,
      hosts: [me],
      primary: me,
      me,
      secondary: false,
      electionId: ELECTION_ID,
    });
  }
  reply.ok = 1;
  return reply;
}

const hello: CommandHandler = (_cmd, ctx) => helloReply(ctx, false);
const isMaster: CommandHandler = (_cmd, ctx) => helloReply(ctx, true);

const buildInfo: CommandHandler = () => ({
  version: SERVER_VERSION,
  gitVersion: "embedded",
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
  storageEngines: ["embedded-memory"],
  javascriptEngine: "none",
  ok: 1,
});

const serverStatus: CommandHandler = (_cmd, ctx) => {
  const { server } = ctx;
  const mem = process.memoryUsage();
  const conns = server.connections();
  return {
    host: `${server.host}:${server.port}`,
    version: SERVER_VERSION,
    process: "letsapp-embedded-mongo",
    pid: process.pid,
    uptime: Math.floor((Date.now() - server.startedAt.getTime()) / 1000),
    uptimeMillis: Date.now() - server.startedAt.getTime(),
    localTime: new Date(),
    connections: { current: conns.current, available: 10_000 - conns.current, totalCreated: conns.totalCreated },
    mem: { bits: 64, resident: Math.round(mem.rss / 1048576), virtual: Math.round(mem.rss / 1048576), heapUsedMB: Math.round(mem.heapUsed / 1048576) },
    opcounters: { ...server.opcounters },
    // Per command name, as mongod's metrics.commands (benchmarks count database commands per operation).
    metrics: {
      cursor: { open: { total: ctx.cursors.size } },
      commands: Object.fromEntries([...server.commands].map(([name, total]) => [name, { total }])),
    },
    ok: 1,
  };
};

const listDatabases: CommandHandler = (cmd, ctx) => {
  const databases = ctx.storage.databaseNames().map((name) => {
    const colls = ctx.storage.collections(name);
    return { name, sizeOnDisk: 0, empty: colls.every((c) => c.size === 0) };
  });
  const list = cmd.nameOnly ? databases.map(({ name }) => ({ name })) : databases;
  return { databases: list, totalSize: 0, totalSizeMb: 0, ok: 1 };
};

const ok: CommandHandler = () => ({ ok: 1 });

export const adminCommands: Record<string, CommandHandler> = {
  hello,
  isMaster,
  ismaster: isMaster,
  ping: ok,
  buildInfo,
  buildinfo: buildInfo,
  serverStatus,
  listDatabases,
  endSessions: ok,
  refreshSessions: ok,
  getLog: () => ({ totalLinesWritten: 0, log: [], ok: 1 }),
  whatsmyuri: (_cmd, ctx) => ({ you: `${ctx.server.host}:0`, ok: 1 }),
  hostInfo: () => ({ system: { currentTime: new Date(), hostname: "localhost", numCores: 1 }, os: { type: process.platform }, ok: 1 }),
  getCmdLineOpts: () => ({ argv: ["embedded-mongo"], parsed: {}, ok: 1 }),
};
