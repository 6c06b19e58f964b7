import type { CandleInterval as CandleIntervalModel } from '../marketdata/candles.ts';
import * as resolvers from '../resolvers/candles.ts';
import { builder } from './builder.ts';

export const CandleInterval = builder.enumType('CandleInterval', {
  values: {
    ONE_MINUTE: { value: '1m' as CandleIntervalModel, description: '1 minute; kept about 25 hours.' },
    FIVE_MINUTES: { value: '5m' as CandleIntervalModel, description: '5 minutes; kept 7 days.' },
    ONE_HOUR: { value: '1h' as CandleIntervalModel, description: '1 hour; kept 30 days.' },
  } as const,
});

export const Candle = builder.objectRef<resolvers.RegionalCandle>('Candle').implement({
  description: 'OHLCV of one interval, built from trades by the ingester; exact decimals.',
  fields: (t) => ({
    interval: t.field({ type: CandleInterval, resolve: (c) => c.interval }),
    start: t.expose('start', { type: 'Long', description: 'Bucket start, ms since the Unix epoch.' }),
    open: t.expose('open', { type: 'Decimal' }),
    high: t.expose('high', { type: 'Decimal' }),
    low: t.expose('low', { type: 'Decimal' }),
    close: t.expose('close', { type: 'Decimal' }),
    volume: t.expose('volume', { type: 'Decimal', description: 'Base amount traded.' }),
    quoteVolume: t.expose('quoteVolume', { type: 'Decimal', description: 'Sum of price × amount.' }),
    trades: t.exposeInt('trades'),
    region: t.exposeString('region', {
      description: "The region whose copy of the market built this candle (its ingester's region).",
    }),
    regionSwitch: t.boolean({
      description:
        "True on the first candle a subscription gets after it moved to another region's copy (the book's copy switched region): that copy's candle, which may count the interval's trades differently (it is sent even if it is not newer). False otherwise, and always in Query.candles.",
      resolve: (candle) => candle.regionSwitch ?? false,
    }),
  }),
});

builder.queryField('candles', (t) =>
  t.field({
    type: [Candle],
    description:
      'Candles with from <= start <= to, oldest first. `to` defaults to now, `from` to 99 intervals before; at most one retention period.',
    args: {
      exchange: t.arg.string({ required: true }),
      symbol: t.arg.string({ required: true }),
      interval: t.arg({ type: CandleInterval, required: true }),
      from: t.arg({ type: 'Long' }),
      to: t.arg({ type: 'Long' }),
    },
    resolve: (_root, args, ctx) => resolvers.candles(ctx.deps, args),
  }),
);

builder.subscriptionField('candles', (t) =>
  t.field({
    type: Candle,
    description:
      "The live candle of one interval: the newest stored one, then every change and each new candle, from the region's copy the book is served from (moving with it, see `regionSwitch`).",
    args: {
      exchange: t.arg.string({ required: true }),
      symbol: t.arg.string({ required: true }),
      interval: t.arg({ type: CandleInterval, required: true }),
    },
    subscribe: (_root, args, ctx) => resolvers.candleStream(ctx.deps, args),
    resolve: (candle) => candle,
  }),
);
