import type { Trade as TradeModel } from '../marketdata/types.ts';
import * as resolvers from '../resolvers/trades.ts';
import { builder } from './builder.ts';
import { Side } from './ticker.ts';

export const Trade = builder.objectRef<TradeModel>('Trade').implement({
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
      'Every trade of a market from now on, in order. A subscriber too far behind is ended with SUBSCRIBER_TOO_SLOW.',
    args: { exchange: t.arg.string({ required: true }), symbol: t.arg.string({ required: true }) },
    subscribe: (_root, args, ctx) => resolvers.tradeStream(ctx.deps, args),
    resolve: (trade) => trade,
  }),
);
