import type { Level } from '../marketdata/types.ts';
import type { BookUpdate } from '../pubsub/depth-view.ts';
import * as resolvers from '../resolvers/orderbook.ts';
import * as quote from '../resolvers/quote.ts';
import { builder } from './builder.ts';

export const PriceLevel = builder.objectRef<Level>('PriceLevel').implement({
  description: 'One price level: the total size resting at a price.',
  fields: (t) => ({
    price: t.field({ type: 'Decimal', resolve: (level) => level[0] }),
    size: t.field({
      type: 'Decimal',
      description: 'Absolute size; "0" in a DELTA removes the level.',
      resolve: (level) => level[1],
    }),
  }),
});

export const OrderBook = builder.objectRef<resolvers.OrderBookState>('OrderBook').implement({
  description: 'The top of an order book: bids descending, asks ascending.',
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    region: t.exposeString('region', { description: 'Region whose ingester wrote this book.' }),
    epoch: t.exposeString('epoch', { description: 'Changes whenever the feed restarts or resynchronises.' }),
    seq: t.expose('seq', {
      type: 'Long',
      description: 'Sequence of the last applied event within the epoch.',
    }),
    exchangeTimestamp: t.expose('exchangeTs', {
      type: 'Long',
      description: 'Venue time of the last event, ms since the Unix epoch.',
    }),
    receiveTimestamp: t.expose('receiveTs', {
      type: 'Long',
      description: 'Local receive time of the last event, ms.',
    }),
    venueSeq: t.field({
      type: 'Long',
      nullable: true,
      description:
        "The venue's own sequence number of this book (Binance `u`, Bybit `u`, OKX `seqId`); null for a venue without one (Kraken, simulated venues).",
      resolve: (book) => book.venueSeq ?? null,
    }),
    stale: t.exposeBoolean('stale', {
      description: 'True when the book may be out of date: no recent update, or Redis unreachable.',
    }),
    bids: t.field({ type: [PriceLevel], resolve: (book) => [...book.bids] }),
    asks: t.field({ type: [PriceLevel], resolve: (book) => [...book.asks] }),
    bestBid: t.field({ type: PriceLevel, nullable: true, resolve: (book) => book.bids[0] ?? null }),
    bestAsk: t.field({ type: PriceLevel, nullable: true, resolve: (book) => book.asks[0] ?? null }),
    mid: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (book) => quote.mid(book.bids[0], book.asks[0]),
    }),
    spread: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (book) => quote.spread(book.bids[0], book.asks[0]),
    }),
  }),
});

export const BookUpdateType = builder.enumType('BookUpdateType', {
  values: {
    SNAPSHOT: { description: 'The whole top-depth window; replaces whatever the client held.' },
    DELTA: { description: 'Levels changed since prevSeq, as absolute sizes; size "0" removes a level.' },
    RESET: { description: 'A discontinuity: drop the book; a SNAPSHOT follows.' },
  },
});

export const ResetReason = builder.enumType('ResetReason', {
  values: ['GAP', 'NEW_EPOCH', 'CORRUPT_MESSAGE', 'RECONNECT', 'CONFLATED', 'REGION_SWITCH'] as const,
});

export const BookUpdateRef = builder.objectRef<BookUpdate>('BookUpdate').implement({
  description: 'One message of orderBookUpdates. See docs/BOOK_EVENTS.md for the client algorithm.',
  fields: (t) => ({
    type: t.field({ type: BookUpdateType, resolve: (u) => u.type }),
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    region: t.exposeString('region', {
      description: 'Region whose copy of the book this is; changes only after a RESET (REGION_SWITCH).',
    }),
    depth: t.exposeInt('depth'),
    epoch: t.exposeString('epoch'),
    seq: t.expose('seq', { type: 'Long' }),
    prevSeq: t.expose('prevSeq', {
      type: 'Long',
      nullable: true,
      description: 'On a DELTA, the seq of the previous message of this stream; anything else means a gap.',
    }),
    bids: t.field({ type: [PriceLevel], resolve: (u) => [...u.bids] }),
    asks: t.field({ type: [PriceLevel], resolve: (u) => [...u.asks] }),
    exchangeTimestamp: t.expose('exchangeTs', {
      type: 'Long',
      description: 'Venue time of the last event, ms since the Unix epoch.',
    }),
    receiveTimestamp: t.expose('receiveTs', { type: 'Long' }),
    venueSeq: t.expose('venueSeq', {
      type: 'Long',
      nullable: true,
      description:
        "The venue's own sequence number of the book after this message (Binance `u`, Bybit `u`, OKX `seqId`); null for a venue without one (Kraken, simulated venues).",
    }),
    stale: t.boolean({
      resolve: (u, _args, ctx) => resolvers.isStale(ctx.deps, u.receiveTs, true, u.exchange, u.symbol),
    }),
    reason: t.field({
      type: ResetReason,
      nullable: true,
      description: 'Why a RESET happened.',
      resolve: (u) =>
        u.reason ? (u.reason.toUpperCase().replace('-', '_') as typeof ResetReason.$inferType) : null,
    }),
  }),
});

builder.queryField('orderBook', (t) =>
  t.field({
    type: OrderBook,
    description:
      'The top `depth` levels of a book. MARKET_NOT_FOUND, BAD_USER_INPUT or BOOK_UNAVAILABLE on bad input.',
    args: {
      exchange: t.arg.string({ required: true }),
      symbol: t.arg.string({ required: true }),
      depth: t.arg.int({ defaultValue: 20 }),
    },
    resolve: (_root, args, ctx) => resolvers.orderBook(ctx.deps, { ...args, depth: args.depth ?? 20 }),
  }),
);

builder.subscriptionFields((t) => ({
  orderBookUpdates: t.field({
    type: BookUpdateRef,
    description:
      'A SNAPSHOT of the top `depth` levels, then DELTAs; RESET then SNAPSHOT after any discontinuity.',
    args: {
      exchange: t.arg.string({ required: true }),
      symbol: t.arg.string({ required: true }),
      depth: t.arg.int({ defaultValue: 20 }),
      staleNotices: t.arg.boolean({
        defaultValue: false,
        description:
          'Also send a DELTA with no levels and seq == prevSeq when the book turns stale or fresh again (docs/BOOK_EVENTS.md).',
      }),
    },
    subscribe: (_root, args, ctx) =>
      resolvers.orderBookUpdates(ctx.deps, { ...args, depth: args.depth ?? 20 }, ctx.transport, ctx.push),
    resolve: (update) => update,
  }),
  orderBook: t.field({
    type: OrderBook,
    description:
      'The whole top `depth` book, at most once per `throttleMs`; the latest state is always sent.',
    args: {
      exchange: t.arg.string({ required: true }),
      symbol: t.arg.string({ required: true }),
      depth: t.arg.int({ defaultValue: 20 }),
      throttleMs: t.arg.int({ defaultValue: 100 }),
    },
    subscribe: (_root, args, ctx) =>
      resolvers.throttledOrderBook(
        ctx.deps,
        {
          ...args,
          depth: args.depth ?? 20,
          throttleMs: args.throttleMs ?? 100,
        },
        ctx.transport,
        ctx.push,
      ),
    resolve: (update, _args, ctx) => resolvers.bookFromUpdate(ctx.deps, update),
  }),
}));
