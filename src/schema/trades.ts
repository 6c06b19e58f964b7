import * as resolvers from '../resolvers/trades.ts';
import { builder } from './builder.ts';
import { Side } from './ticker.ts';

export const Trade = builder.objectRef<resolvers.RegionalTrade>('Trade').implement({
  description: 'One trade of a market, as the venue reported it.',
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    id: t.exposeString('id', { description: "The venue's trade id." }),
    price: t.expose('price', { type: 'Decimal' }),
    amount: t.expose('amount', { type: 'Decimal', description: 'Base amount.' }),
    side: t.field({
      type: Side,
      description: 'Taker side.',
      resolve: (trade) => (trade.side === 'buy' ? 'BUY' : 'SELL'),
    }),
    exchangeTimestamp: t.expose('exchangeTs', { type: 'Long' }),
    receiveTimestamp: t.expose('receiveTs', { type: 'Long' }),
    lostBefore: t.int({
      description:
        'Trades of this market that arrived before this one but could not be stored (Redis refused the write: out of memory, read-only, down), so no query or subscription will ever show them; not counted by an earlier trade. 0 normally. Above 0, the trade tape has a hole before this trade: volumes and candles summed from trades are short.',
      resolve: (trade) => trade.lostBefore ?? 0,
    }),
    region: t.exposeString('region', {
      description:
        "The region whose copy of the market this trade comes from (its ingester's region): the copy the book is served from.",
    }),
    regionSwitch: t.boolean({
      description:
        "True on the first trade a subscription gets after it moved to another region's copy (the book's copy switched region: its own copy went stale, or came back). The two copies are written by different ingesters: trades between the previous trade and this one may be missing or repeated (the same venue `id`). False otherwise, and always in Query.trades.",
      resolve: (trade) => trade.regionSwitch ?? false,
    }),
  }),
});

builder.queryField('trades', (t) =>
  t.field({
    type: [Trade],
    description: 'The newest trades of a market, newest first (the stream keeps about the last 1000).',
    args: {
      exchange: t.arg.string({ required: true }),
      symbol: t.arg.string({ required: true }),
      limit: t.arg.int({ defaultValue: 50 }),
    },
    resolve: (_root, args, ctx) => resolvers.trades(ctx.deps, { ...args, limit: args.limit ?? 50 }),
  }),
);

builder.subscriptionField('trades', (t) =>
  t.field({
    type: Trade,
    description:
      "Every trade of a market from now on, in order, from the region's copy the book is served from; when the book moves to another region's copy, the stream moves with it and marks the first trade from the new copy with `regionSwitch`. A subscriber too far behind is ended with SUBSCRIBER_TOO_SLOW.",
    args: { exchange: t.arg.string({ required: true }), symbol: t.arg.string({ required: true }) },
    subscribe: (_root, args, ctx) => resolvers.tradeStream(ctx.deps, args),
    resolve: (trade) => trade,
  }),
);
