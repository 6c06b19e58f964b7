import type { LastTrade as LastTradeModel } from '../redis/book-store.ts';
import * as quote from '../resolvers/quote.ts';
import * as resolvers from '../resolvers/ticker.ts';
import { builder } from './builder.ts';
import { PriceLevel } from './orderbook.ts';

export const Side = builder.enumType('Side', { values: ['BUY', 'SELL'] as const });

const LastTrade = builder.objectRef<LastTradeModel>('LastTrade').implement({
  fields: (t) => ({
    price: t.expose('price', { type: 'Decimal' }),
    amount: t.expose('amount', { type: 'Decimal' }),
    side: t.field({
      type: Side,
      description: 'Taker side.',
      resolve: (trade) => (trade.side === 'buy' ? 'BUY' : 'SELL'),
    }),
    exchangeTimestamp: t.expose('exchangeTs', { type: 'Long' }),
  }),
});

const TickerStats24h = builder.objectRef<resolvers.TickerStats24h>('TickerStats24h').implement({
  description:
    'Rolling 24h statistics: the 1440 one-minute candles ending with the one in progress, folded exactly.',
  fields: (t) => ({
    from: t.expose('from', { type: 'Long', description: 'Start of the first minute of the window, ms.' }),
    to: t.expose('to', { type: 'Long', description: 'Start of the minute in progress, ms.' }),
    open: t.expose('open', { type: 'Decimal' }),
    high: t.expose('high', { type: 'Decimal' }),
    low: t.expose('low', { type: 'Decimal' }),
    close: t.expose('close', { type: 'Decimal', description: 'Price of the last trade in the window.' }),
    volume: t.expose('volume', { type: 'Decimal', description: 'Base amount traded.' }),
    quoteVolume: t.expose('quoteVolume', { type: 'Decimal', description: 'Sum of price × amount.' }),
    trades: t.exposeInt('trades'),
    change: t.expose('change', { type: 'Decimal', description: 'close - open.' }),
    changePercent: t.expose('changePercent', {
      type: 'Decimal',
      description: '100 × change / open, rounded half away from zero to 2 places.',
    }),
  }),
});

export const Ticker = builder.objectRef<resolvers.TickerState>('Ticker').implement({
  description: 'Best bid and ask from the live book, and the last trade.',
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    region: t.exposeString('region', {
      description: 'Region whose copy of the book (and whose trades) this ticker was read from.',
    }),
    bestBid: t.field({ type: PriceLevel, nullable: true, resolve: (x) => x.bestBid ?? null }),
    bestAsk: t.field({ type: PriceLevel, nullable: true, resolve: (x) => x.bestAsk ?? null }),
    mid: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (x) => quote.mid(x.bestBid, x.bestAsk),
    }),
    spread: t.field({
      type: 'Decimal',
      nullable: true,
      resolve: (x) => quote.spread(x.bestBid, x.bestAsk),
    }),
    lastTrade: t.field({ type: LastTrade, nullable: true, resolve: (x) => x.lastTrade }),
    seq: t.expose('seq', { type: 'Long', description: 'Book seq the best bid/ask were read at.' }),
    receiveTimestamp: t.expose('receiveTs', { type: 'Long' }),
    stale: t.exposeBoolean('stale'),
    stats24h: t.field({
      type: TickerStats24h,
      nullable: true,
      description: 'Open, high, low, volume and change over 24h; null when nothing traded in the window.',
      resolve: (x) => x.stats24h,
    }),
  }),
});

builder.queryFields((t) => ({
  ticker: t.field({
    type: Ticker,
    args: { exchange: t.arg.string({ required: true }), symbol: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => resolvers.ticker(ctx.deps, args),
  }),
  tickers: t.field({
    type: [Ticker],
    description: 'One ticker per market of the exchange, sorted by symbol.',
    args: { exchange: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => resolvers.tickers(ctx.deps, args),
  }),
}));
