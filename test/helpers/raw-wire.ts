/**
 * A raw TCP client for the wire protocol: sends exact bytes (well-formed or not) and reads
 * framed replies, so tests can check the server's behaviour below the driver.
 */
import net from "node:net";
import { deserialize, serialize, type Document } from "bson";

export interface RawReply {
  opCode: number;
  responseTo: number;
  doc: Document;
}

export class RawWireClient {
  private buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => undefined);
  }

  static connect(port: number, host = "127.0.0.1"): Promise<RawWireClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawWireClient(s)));
      s.once("error", reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next reply, or null when the server closed the connection first. */
  async read(options: { promoteLongs?: boolean } = {}): Promise<RawReply | null> {
    for (;;) {
      if (this.buffer.length >= 16) {
        const len = this.buffer.readInt32LE(0);
        if (this.buffer.length >= len) {
          const msg = this.buffer.subarray(0, len);
          this.buffer = this.buffer.subarray(len);
          const opCode = msg.readInt32LE(12);
          const responseTo = msg.readInt32LE(8);
          const docStart = opCode === 1 ? 36 : 21;
          return { opCode, responseTo, doc: deserialize(msg.subarray(docStart), { promoteLongs: options.promoteLongs ?? true }) };
        }
      }
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

export function header(length: number, requestId: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(length, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(0, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** An OP_MSG with a kind-0 body and optional kind-1 sequences. */
export function opMsg(requestId: number, body: Document, flags = 0, sequences: Array<[string, Document[]]> = []): Buffer {
  const parts: Buffer[] = [];
  const f = Buffer.alloc(4);
  f.writeUInt32LE(flags, 0);
  parts.push(f, Buffer.from([0]), Buffer.from(serialize(body)));
  for (const [id, docs] of sequences) {
    const payload = Buffer.concat([Buffer.from(id + "\0"), ...docs.map((d) => serialize(d))]);
    const size = Buffer.alloc(4);
    size.writeInt32LE(payload.length + 4, 0);
    parts.push(Buffer.from([1]), size, payload);
  }
  const content = Buffer.concat(parts);
  return Buffer.concat([header(16 + content.length, requestId, 2013), content]);
}

/** A legacy OP_QUERY against `<db>.$cmd`. */
export function opQuery(requestId: number, ns: string, query: Document): Buffer {
  const flags = Buffer.alloc(4);
  const nums = Buffer.alloc(8);
  nums.writeInt32LE(0, 0);
  nums.writeInt32LE(-1, 4);
  const content = Buffer.concat([flags, Buffer.from(ns + "\0"), nums, serialize(query)]);
  return Buffer.concat([header(16 + content.length, requestId, 2004), content]);
}
