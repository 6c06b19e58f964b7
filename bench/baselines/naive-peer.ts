/**
 * BASELINE, NOT PRODUCT CODE. The naive peer bench/fanout.ts measures bookgraph against (issue
 * 15): a minimal graphql-yoga server with graphql-redis-subscriptions (RedisPubSub over ioredis)
 * and graphql-ws on `ws` — the tutorial pattern: every subscriber gets its own
 * `pubsub.asyncIterableIterator(channel)` and every event is executed once per subscriber.
 *
 * It serves the same subscription shape as bookgraph's `orderBookUpdates` (same type and fields,
 * same payload JSON for the same selection) from the same Redis channel and the same published
 * messages. What a tutorial server would also do once per message, it does once: RedisPubSub
 * decodes each message once (its `deserializer`, here src/wire's codec) and hands the same object
 * to every listener; the first listener of a channel keeps that book (src/marketdata's OrderBook)
 * and its top-`depth` windows (src/pubsub's DepthView), so the window delta a subscriber is sent
 * is computed once per message, as in bookgraph. The difference measured is only the
 * per-subscriber path: one async iterator, one filter and one GraphQL execution per subscriber
 * per event, then graphql-ws's own serialisation and send.
 *
 * Deliberately missing (a baseline, not a server): auth, quotas, slow-subscriber bounds,
 * resynchronisation (a gap or a new epoch is counted, not repaired), error masking, metrics.
 *
 * Runs as a child process like bench/e2e-server.ts (REDIS_URL, REGION; IPC in
 * bench/child-ipc.ts); `executions` counts the executions of subscription events.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { OrderBook } from '../../src/marketdata/order-book.ts';
import type { BookEvent, Level } from '../../src/marketdata/types.ts';
import type { ReplicaEvent } from '../../src/pubsub/book-replica.ts';
import { type BookSource, type BookUpdate, DepthView } from '../../src/pubsub/depth-view.ts';
import { BookStore } from '../../src/redis/book-store.ts';
import { createRedis } from '../../src/redis/connection.ts';
import { bookChannel } from '../../src/redis/keys.ts';
import { type Decoded, decodeBookEvent } from '../../src/wire/codec.ts';
import { serveIpc } from '../child-ipc.ts';

/** bookgraph's default BOOK_STALE_MS. */
const STALE_AFTER_MS = 5_000;

const typeDefs = /* GraphQL */ `
  scalar Decimal
  scalar Long

  type PriceLevel {
    price: Decimal!
    size: Decimal!
  }

  enum BookUpdateType {
    SNAPSHOT
    DELTA
    RESET
  }

  enum ResetReason {
    GAP
    NEW_EPOCH
    CORRUPT_MESSAGE
    RECONNECT
    CONFLATED
    REGION_SWITCH
  }

  type BookUpdate {
    type: BookUpdateType!
    exchange: String!
    symbol: String!
    region: String!
    depth: Int!
    epoch: String!
    seq: Long!
    prevSeq: Long
    bids: [PriceLevel!]!
    asks: [PriceLevel!]!
    exchangeTimestamp: Long!
    receiveTimestamp: Long!
    venueSeq: Long
    stale: Boolean!
    reason: ResetReason
  }

  type Query {
    ok: Boolean!
  }

  type Subscription {
    orderBookUpdates(exchange: String!, symbol: String!, depth: Int = 20, staleNotices: Boolean = false): BookUpdate!
  }
`;

/** Window updates per decoded message object and depth, filled by the channel's first listener. */
const windowUpdates = new WeakMap<object, Map<number, BookUpdate>>();

/** One book as the first listener of its channel keeps it: the BookSource a DepthView reads. */
class PeerBook implements BookSource {
  readonly book = new OrderBook();
  epoch = '';
  seq = 0;
  exchangeTs = 0;
  receiveTs = 0;
  venueSeq: number | undefined;
  live = false;
  /** Discontinuities seen (a gap, a new epoch, a corrupt message): counted, never repaired. */
  discontinuities = 0;
  readonly views = new Map<number, DepthView>();
  private readonly listeners = new Set<(event: ReplicaEvent) => void>();
  private buffered: BookEvent[] = [];
  private current: Map<number, BookUpdate> | undefined;

  constructor(
    readonly exchange: string,
    readonly symbol: string,
    readonly region: string,
  ) {}

  /** SUBSCRIBE first, then read the book, then apply what arrived meanwhile above its seq. */
  async open(pubsub: RedisPubSub, store: BookStore): Promise<void> {
    await pubsub.subscribe<Decoded<BookEvent>>(bookChannel(this.region, this.exchange, this.symbol), (m) =>
      this.onMessage(m),
    );
    const stored = await store.readBook(this.exchange, this.symbol, 0);
    if (!stored) throw new Error(`no book for ${this.symbol} on ${this.exchange}`);
    this.book.replace(stored.bids, stored.asks);
    this.epoch = stored.epoch;
    this.seq = stored.seq;
    this.exchangeTs = stored.exchangeTs;
    this.receiveTs = stored.receiveTs;
    this.venueSeq = stored.venueSeq;
    this.live = true;
    for (const event of this.buffered) if (event.seq > this.seq) this.apply(event);
    this.buffered = [];
  }

  view(depth: number): DepthView {
    let view = this.views.get(depth);
    if (!view) {
      view = new DepthView(this, depth, this.region);
      view.subscribe((update) => this.current?.set(depth, update));
      this.views.set(depth, view);
    }
    return view;
  }

  subscribe(listener: (event: ReplicaEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onMessage(message: Decoded<BookEvent>): void {
    if (!message.ok) {
      this.discontinuities += 1;
      return;
    }
    const event = message.value;
    if (!this.live) {
      this.buffered.push(event);
      return;
    }
    this.current = new Map();
    this.apply(event);
    // Every subscriber's listener receives this same `message` object after this one.
    windowUpdates.set(message, this.current);
    this.current = undefined;
  }

  private apply(event: BookEvent): void {
    if (event.epoch !== this.epoch || event.seq !== this.seq + 1) this.discontinuities += 1;
    if (event.kind === 'snapshot') this.book.replace(event.bids, event.asks);
    else this.book.apply(event.bids, event.asks);
    this.epoch = event.epoch;
    this.seq = event.seq;
    this.exchangeTs = event.exchangeTs;
    this.receiveTs = event.receiveTs;
    this.venueSeq = event.venueSeq;
    const replicaEvent: ReplicaEvent =
      event.kind === 'snapshot'
        ? { type: 'snapshot' }
        : { type: 'delta', bids: event.bids, asks: event.asks };
    for (const listener of this.listeners) listener(replicaEvent);
  }
}

async function main(): Promise<void> {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is required');
  const region = process.env.REGION ?? 'bench';
  const subscriber = createRedis(url, 'subscriber');
  const publisher = createRedis(url, 'command');
  // A SUBSCRIBE queued before the connection's ready check makes ioredis's INFO fail on it.
  await Promise.all(
    [subscriber, publisher].map((c) =>
      c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)),
    ),
  );
  const pubsub = new RedisPubSub({
    subscriber,
    publisher,
    deserializer: (raw: string | Buffer) => decodeBookEvent(raw),
  });
  const store = new BookStore(publisher, region);
  const books = new Map<string, Promise<PeerBook>>();
  let executions = 0;

  const bookFor = (exchange: string, symbol: string): Promise<PeerBook> => {
    const key = `${exchange}\u0000${symbol}`;
    let book = books.get(key);
    if (!book) {
      const peerBook = new PeerBook(exchange, symbol, region);
      book = peerBook.open(pubsub, store).then(() => peerBook);
      books.set(key, book);
    }
    return book;
  };

  /** The tutorial subscribe: the view's snapshot, then this subscriber's own channel iterator. */
  async function* orderBookUpdates(args: { exchange: string; symbol: string; depth: number }) {
    const book = await bookFor(args.exchange, args.symbol);
    const view = book.view(args.depth);
    const events = pubsub.asyncIterableIterator<Decoded<BookEvent>>(
      bookChannel(region, args.exchange, args.symbol),
    );
    // The first next() registers this iterator's listener synchronously (the channel is already
    // subscribed), so no message falls between the snapshot and the stream.
    const first = events.next();
    const snapshot = view.snapshot();
    if (!snapshot) throw new Error('book not live');
    try {
      yield { orderBookUpdates: snapshot };
      for (let r = await first; !r.done; r = await events.next()) {
        const update = windowUpdates.get(r.value)?.get(args.depth);
        if (update && update.seq > snapshot.seq) yield { orderBookUpdates: update };
      }
    } finally {
      await events.return?.();
    }
  }

  const schema = createSchema({
    typeDefs,
    resolvers: {
      Query: { ok: () => true },
      Subscription: {
        orderBookUpdates: {
          subscribe: (_root: unknown, args: { exchange: string; symbol: string; depth: number }) =>
            orderBookUpdates(args),
          resolve: (payload: { orderBookUpdates: BookUpdate }) => {
            executions += 1;
            return payload.orderBookUpdates;
          },
        },
      },
      BookUpdate: {
        exchangeTimestamp: (u: BookUpdate) => u.exchangeTs,
        receiveTimestamp: (u: BookUpdate) => u.receiveTs,
        stale: (u: BookUpdate) => Date.now() - u.receiveTs > STALE_AFTER_MS,
        reason: (u: BookUpdate) => (u.reason ? u.reason.toUpperCase().replace('-', '_') : null),
      },
      PriceLevel: {
        price: (level: Level) => level[0],
        size: (level: Level) => level[1],
      },
    },
  });
  const yoga = createYoga({ schema, logging: false, graphiql: false });
  const server = createServer(yoga);
  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  type Enveloped = ReturnType<typeof yoga.getEnveloped>;
  // graphql-yoga's documented graphql-ws recipe.
  useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const {
          schema: s,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args: ExecutionArgs = {
          schema: s,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
    },
    wss,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveIpc({
    port: (server.address() as AddressInfo).port,
    executions: () => executions,
    stop: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pubsub.close();
    },
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
