import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A command as Redis receives it: the name, then its arguments. */
export type RedisCommand = readonly string[];

/**
 * A TCP proxy between an app and its redis-server, for fault tests: it forwards bytes both ways
 * and, when told, loses exactly one reply, holds all traffic for a while, delays it, or cuts
 * every connection. It reads the RESP stream only to count commands and replies, so it works for
 * any client, pipelined or not, and for every connection the app opens through it.
 */
export interface FaultProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`: give this to the app instead of the server's URL. */
  readonly url: string;
  /**
   * The next command that `matches` (on any connection) reaches Redis and runs, but its reply
   * never reaches the client: the proxy drops it and cuts that connection, so the client sees a
   * command without answer and reconnects (ioredis then resends it). Replies before it are
   * delivered. Resolves with the command once its reply was dropped.
   */
  dropNextReply(matches: (command: RedisCommand) => boolean): Promise<RedisCommand>;
  /** Nothing passes either way for `ms`; then what was held is delivered in order (as TCP would). */
  blackhole(ms: number): void;
  /** Ends a blackhole early; what it held is delivered in order. */
  endBlackhole(): void;
  /** Delays every chunk, both ways, by `ms` from now on (0 ends it). */
  latency(ms: number): void;
  /** Cuts every open connection (clients see a reset and reconnect). */
  closeAll(): void;
  /** Connections opened through the proxy so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/**
 * Where the RESP value starting at `at` ends, or -1 while it is incomplete. RESP2 and RESP3:
 * line types, bulk types (length -1 is null), and aggregates of n (maps and attributes 2n) values.
 */
export function respEnd(buf: Buffer, at: number): number {
  if (at >= buf.length) return -1;
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return -1;
  const type = String.fromCharCode(buf[at]!);
  const n = Number(buf.toString('latin1', at + 1, eol));
  if ('$!='.includes(type)) {
    if (n < 0) return eol + 2;
    const end = eol + 2 + n + 2;
    return end <= buf.length ? end : -1;
  }
  if ('*~>%|'.includes(type)) {
    let next = eol + 2;
    const count = n < 0 ? 0 : '%|'.includes(type) ? 2 * n : n;
    for (let i = 0; i < count; i++) {
      next = respEnd(buf, next);
      if (next < 0) return -1;
    }
    return next;
  }
  return eol + 2;
}

/** The arguments of a command sent as an array of bulk strings (how clients send them). */
function commandArgs(buf: Buffer, start: number, end: number): string[] {
  const args: string[] = [];
  let at = buf.indexOf('\r\n', start) + 2;
  while (at < end) {
    const eol = buf.indexOf('\r\n', at);
    const length = Number(buf.toString('latin1', at + 1, eol));
    args.push(buf.toString('utf8', eol + 2, eol + 2 + length));
    at = eol + 2 + length + 2;
  }
  return args;
}

interface Armed {
  matches: (command: RedisCommand) => boolean;
  dropped: (command: RedisCommand) => void;
}

/** One client connection and its connection to Redis. */
class Link {
  private up = Buffer.alloc(0);
  private down = Buffer.alloc(0);
  private sent = 0;
  private replied = 0;
  private drop: { index: number; command: RedisCommand; armed: Armed } | null = null;
  private upChain = Promise.resolve();
  private downChain = Promise.resolve();

  constructor(
    readonly client: Socket,
    readonly server: Socket,
    private readonly proxy: { armed: Armed | null; sendAt(): number; held(): Promise<void> | null },
  ) {
    client.on('data', (chunk) => this.fromClient(chunk));
    server.on('data', (chunk) => this.fromServer(chunk));
    const cut = () => this.cut();
    for (const socket of [client, server]) {
      socket.on('error', cut);
      socket.on('close', cut);
    }
  }

  cut(): void {
    this.client.destroy();
    this.server.destroy();
  }

  private fromClient(chunk: Buffer): void {
    this.up = Buffer.concat([this.up, chunk]);
    let at = 0;
    for (let end = respEnd(this.up, at); end > 0; end = respEnd(this.up, at)) {
      const index = this.sent++;
      const armed = this.proxy.armed;
      if (armed && !this.drop) {
        const command = commandArgs(this.up, at, end);
        if (armed.matches(command)) {
          this.proxy.armed = null;
          this.drop = { index, command, armed };
        }
      }
      at = end;
    }
    this.up = this.up.subarray(at);
    this.upChain = this.forward(this.upChain, this.server, chunk);
  }

  /** Replies go on whole, so the one to drop can be cut out exactly. */
  private fromServer(chunk: Buffer): void {
    this.down = Buffer.concat([this.down, chunk]);
    let at = 0;
    for (let end = respEnd(this.down, at); end > 0; end = respEnd(this.down, at)) {
      const index = this.replied++;
      if (this.drop && index === this.drop.index) {
        const { command, armed } = this.drop;
        this.downChain = this.forward(this.downChain, this.client, this.down.subarray(0, at));
        // The connection dies right after the replies before it reach the client.
        void this.downChain.then(() => {
          this.cut();
          armed.dropped(command);
        });
        this.down = Buffer.alloc(0);
        return;
      }
      at = end;
    }
    if (at > 0) this.downChain = this.forward(this.downChain, this.client, this.down.subarray(0, at));
    this.down = this.down.subarray(at);
  }

  private forward(chain: Promise<void>, to: Socket, bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return chain;
    const until = this.proxy.sendAt();
    return chain.then(async () => {
      const wait = until - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      for (let hold = this.proxy.held(); hold; hold = this.proxy.held()) await hold;
      if (!to.destroyed) to.write(bytes);
    });
  }
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const links = new Set<Link>();
  let latencyMs = 0;
  /** While a blackhole lasts: settles when it ends (its time is up, or `endBlackhole`). */
  let hold: { done: Promise<void>; end: () => void; timer: NodeJS.Timeout } | null = null;
  const endHold = () => {
    if (!hold) return;
    clearTimeout(hold.timer);
    const { end } = hold;
    hold = null;
    end();
  };
  let opened = 0;
  const state = {
    armed: null as Armed | null,
    sendAt: () => Date.now() + latencyMs,
    held: () => hold?.done ?? null,
  };
  const server: Server = createServer((client) => {
    opened += 1;
    // Writes before the connection is up are buffered by the socket.
    const upstream = createConnection(target.port, target.host);
    const link = new Link(client, upstream, state);
    links.add(link);
    client.on('close', () => links.delete(link));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no port');
  const port = address.port;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return opened;
    },
    dropNextReply(matches) {
      return new Promise((resolve) => {
        state.armed = { matches, dropped: resolve };
      });
    },
    blackhole(ms) {
      endHold();
      let end: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        end = resolve;
      });
      hold = { done, end, timer: setTimeout(endHold, ms) };
    },
    endBlackhole() {
      endHold();
    },
    latency(ms) {
      latencyMs = ms;
    },
    closeAll() {
      for (const link of links) link.cut();
    },
    async stop() {
      endHold();
      for (const link of links) link.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
