import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy for fault tests, put between the app and a private redis-server. It is general (it
 * forwards bytes and knows RESP only to find where a reply ends), so any fault test can use it:
 * - `blackhole(ms)`: connections are accepted but nothing is forwarded, either way, for `ms`; what
 *   was held back is then delivered in order, as TCP would after its retransmissions;
 * - `latency(ms)`: every chunk is delayed by `ms` (order kept);
 * - `dropNextReply(match?)`: the next complete reply from Redis (on any connection, optionally the
 *   first one `match` accepts) is swallowed and its connection cut right there: the command ran,
 *   its client never hears of it. (Bytes inside one TCP connection are never lost alone: a lost
 *   reply is a connection that died between the command's execution and its reply.);
 * - `closeAll()`: every open connection is cut (both sides), as a restart or a network reset.
 */
export interface FaultProxy {
  port: number;
  /** `redis://127.0.0.1:<port>`: where the app connects instead of Redis. */
  url: string;
  blackhole(ms: number): void;
  /** Ends a blackhole early and delivers what it held. */
  endBlackhole(): void;
  latency(ms: number): void;
  /** Resolves with the dropped reply's bytes once one was dropped. */
  dropNextReply(match?: (reply: string) => boolean): Promise<string>;
  closeAll(): void;
  /** Connections currently open through the proxy. */
  connections(): number;
  stop(): Promise<void>;
}

/**
 * The end offset of the RESP2/RESP3 value starting at `offset`, or -1 while it is incomplete.
 * Enough of the protocol to cut a reply stream into replies; the values are not decoded.
 */
export function respValueEnd(buf: Buffer, offset: number): number {
  if (offset >= buf.length) return -1;
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[offset]!);
  const header = buf.toString('latin1', offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case '_':
    case '#':
    case ',':
    case '(':
      return next;
    case '$':
    case '!':
    case '=': {
      const length = Number(header);
      if (length < 0) return next;
      return buf.length >= next + length + 2 ? next + length + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const count = Number(header);
      if (count < 0) return next;
      // Maps and attributes hold key and value per entry; an attribute precedes the value it annotates.
      const items = type === '%' || type === '|' ? count * 2 : count;
      let end = next;
      for (let i = 0; i < items; i++) {
        end = respValueEnd(buf, end);
        if (end < 0) return -1;
      }
      return type === '|' ? respValueEnd(buf, end) : end;
    }
    default:
      throw new Error(`not RESP: type byte ${JSON.stringify(type)} at ${offset}`);
  }
}

interface DropRequest {
  match: (reply: string) => boolean;
  resolve: (reply: string) => void;
}

/** One accepted connection and its upstream, with the faults applied to both directions. */
class ProxiedConnection {
  readonly upstream: Socket;
  /** Bytes from Redis not yet cut into replies (only while a drop is wanted or a reply is split). */
  private replyBuffer: Buffer = Buffer.alloc(0);

  constructor(
    readonly client: Socket,
    targetPort: number,
    private readonly proxy: ProxyState,
  ) {
    this.upstream = new Socket();
    this.upstream.connect(targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => proxy.deliver(() => this.write(this.upstream, chunk)));
    this.upstream.on('data', (chunk: Buffer) => proxy.deliver(() => this.fromRedis(chunk)));
    const close = () => this.destroy();
    for (const socket of [client, this.upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  }

  /** Cuts the reply stream into whole replies so a dropped one never leaves half a reply behind. */
  private fromRedis(chunk: Buffer): void {
    this.replyBuffer = this.replyBuffer.length === 0 ? chunk : Buffer.concat([this.replyBuffer, chunk]);
    let start = 0;
    const out: Buffer[] = [];
    for (;;) {
      const end = respValueEnd(this.replyBuffer, start);
      if (end < 0) break;
      const reply = this.replyBuffer.subarray(start, end);
      if (this.proxy.takeDrop(reply)) {
        // The replies before the dropped one still arrive; nothing after it does.
        this.upstream.destroy();
        this.client.end(Buffer.concat(out));
        this.proxy.connections.delete(this);
        return;
      }
      out.push(reply);
      start = end;
    }
    this.replyBuffer = this.replyBuffer.subarray(start);
    if (out.length > 0) this.write(this.client, Buffer.concat(out));
  }

  private write(socket: Socket, chunk: Buffer): void {
    if (!socket.destroyed) socket.write(chunk);
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.connections.delete(this);
  }
}

class ProxyState {
  readonly connections = new Set<ProxiedConnection>();
  private blackholeUntil = 0;
  private blackholeTimer: NodeJS.Timeout | undefined;
  private held: Array<() => void> = [];
  private latencyMs = 0;
  /** Deliveries waiting out their latency, in order; each runs no earlier than its `at`. */
  private delayed: Array<{ at: number; run: () => void }> = [];
  private delayTimer: NodeJS.Timeout | undefined;
  readonly drops: DropRequest[] = [];

  deliver(run: () => void): void {
    if (Date.now() < this.blackholeUntil) {
      this.held.push(run);
      return;
    }
    if (this.latencyMs > 0 || this.delayed.length > 0) {
      this.delayed.push({ at: Date.now() + this.latencyMs, run });
      this.scheduleDelayed();
      return;
    }
    run();
  }

  private scheduleDelayed(): void {
    if (this.delayTimer || this.delayed.length === 0) return;
    const wait = Math.max(0, this.delayed[0]!.at - Date.now());
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      while (this.delayed.length > 0 && this.delayed[0]!.at <= Date.now()) this.delayed.shift()!.run();
      this.scheduleDelayed();
    }, wait);
  }

  blackhole(ms: number): void {
    this.blackholeUntil = Date.now() + ms;
    clearTimeout(this.blackholeTimer);
    this.blackholeTimer = setTimeout(() => this.endBlackhole(), ms);
  }

  endBlackhole(): void {
    clearTimeout(this.blackholeTimer);
    this.blackholeUntil = 0;
    const held = this.held;
    this.held = [];
    for (const run of held) this.deliver(run);
  }

  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  takeDrop(reply: Buffer): boolean {
    if (this.drops.length === 0) return false;
    const text = reply.toString();
    const index = this.drops.findIndex((d) => d.match(text));
    if (index < 0) return false;
    this.drops.splice(index, 1)[0]!.resolve(text);
    return true;
  }

  close(): void {
    clearTimeout(this.blackholeTimer);
    clearTimeout(this.delayTimer);
    this.held = [];
    this.delayed = [];
    for (const connection of [...this.connections]) connection.destroy();
  }
}

/** Listens on a free loopback port and forwards every connection to 127.0.0.1:`targetPort`. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const state = new ProxyState();
  const server: Server = createServer((client) => {
    state.connections.add(new ProxiedConnection(client, targetPort, state));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    blackhole: (ms) => state.blackhole(ms),
    endBlackhole: () => state.endBlackhole(),
    latency: (ms) => state.setLatency(ms),
    dropNextReply: (match = () => true) =>
      new Promise((resolve) => {
        state.drops.push({ match, resolve });
      }),
    closeAll: () => {
      for (const connection of [...state.connections]) connection.destroy();
    },
    connections: () => state.connections.size,
    stop: async () => {
      state.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
