import type { Market as MarketModel } from '../marketdata/types.ts';
import * as resolvers from '../resolvers/markets.ts';
import { builder } from './builder.ts';

export const Market = builder.objectRef<MarketModel>('Market').implement({
  description: 'A market listed on an exchange, with its trading rules.',
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol', { description: 'Unified symbol, BASE/QUOTE.' }),
    base: t.exposeString('base'),
    quote: t.exposeString('quote'),
    tickSize: t.expose('tickSize', { type: 'Decimal', description: 'Smallest price increment.' }),
    lotSize: t.expose('lotSize', { type: 'Decimal', description: 'Smallest amount increment.' }),
    minAmount: t.expose('minAmount', { type: 'Decimal' }),
    maxAmount: t.expose('maxAmount', {
      type: 'Decimal',
      nullable: true,
      description: 'Largest amount of one order; null when the venue sets none.',
    }),
    minNotional: t.expose('minNotional', {
      type: 'Decimal',
      nullable: true,
      description: 'Smallest order value (price × amount) in the quote currency; null when not set.',
    }),
    maxNotional: t.expose('maxNotional', {
      type: 'Decimal',
      nullable: true,
      description: 'Largest order value in the quote currency; null when not set.',
    }),
    pricePrecision: t.int({
      description: 'Decimal places of prices.',
      resolve: (market) => resolvers.pricePrecision(market),
    }),
    amountPrecision: t.int({
      description: 'Decimal places of amounts.',
      resolve: (market) => resolvers.amountPrecision(market),
    }),
    active: t.exposeBoolean('active'),
  }),
});

builder.queryFields((t) => ({
  region: t.string({
    description: 'The region this server reads from (its local Redis).',
    resolve: (_root, _args, ctx) => resolvers.region(ctx.deps),
  }),
  exchanges: t.stringList({
    description: 'Exchanges ingested in any region of REGIONS (all readable here), sorted.',
    resolve: (_root, _args, ctx) => resolvers.exchanges(ctx.deps),
  }),
  markets: t.field({
    type: [Market],
    description:
      'Markets of one exchange, sorted by symbol. EXCHANGE_NOT_FOUND if the exchange is not served.',
    args: { exchange: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => resolvers.markets(ctx.deps, args),
  }),
}));
