import type {
  ConsolidatedLevel as LevelModel,
  VenueBook,
  VenueSize as VenueSizeModel,
} from '../marketdata/consolidation.ts';
import { subtractDecimal } from '../marketdata/decimal.ts';
import type {
  DepthBand as DepthBandModel,
  DepthShare as DepthShareModel,
  LiquidityFigures as FiguresModel,
  VenueLiquidity as VenueLiquidityModel,
} from '../marketdata/liquidity.ts';
import * as resolvers from '../resolvers/consolidated.ts';
import { builder } from './builder.ts';
import { PriceLevel } from './orderbook.ts';

const VenueSize = builder.objectRef<VenueSizeModel>('VenueSize').implement({
  description: "One venue's size at a consolidated price level.",
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    size: t.expose('size', { type: 'Decimal' }),
  }),
});

const ConsolidatedLevel = builder.objectRef<LevelModel>('ConsolidatedLevel').implement({
  description: 'A price level across venues: the total size and each venue quoting it (by exchange id).',
  fields: (t) => ({
    price: t.expose('price', { type: 'Decimal' }),
    size: t.expose('size', { type: 'Decimal', description: 'Exact sum of the venues’ sizes.' }),
    venues: t.field({ type: [VenueSize], resolve: (l) => l.venues }),
  }),
});

const ConsolidatedVenue = builder.objectRef<VenueBook>('ConsolidatedVenue').implement({
  description: 'A venue included in a consolidated book, and the (epoch, seq) of its book that went in.',
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    region: t.string({
      description: "Region whose copy of the venue's book went in.",
      resolve: (v, _args, ctx) => v.region ?? ctx.deps.region,
    }),
    epoch: t.exposeString('epoch'),
    seq: t.expose('seq', { type: 'Long' }),
    exchangeTimestamp: t.expose('exchangeTs', { type: 'Long' }),
    receiveTimestamp: t.expose('receiveTs', { type: 'Long' }),
    stale: t.exposeBoolean('stale', {
      description: 'No update within its staleness threshold (still merged).',
    }),
    bestBid: t.field({ type: PriceLevel, nullable: true, resolve: (v) => v.bids[0] ?? null }),
    bestAsk: t.field({ type: PriceLevel, nullable: true, resolve: (v) => v.asks[0] ?? null }),
  }),
});

const DepthBand = builder.objectRef<DepthBandModel>('DepthBand').implement({
  description:
    'Resting size within ±percent % of mid: bids at or above mid × (1 − p/100), asks at or below mid × (1 + p/100).',
  fields: (t) => ({
    percent: t.expose('percent', { type: 'Decimal' }),
    bidBase: t.expose('bidBase', { type: 'Decimal' }),
    bidQuote: t.expose('bidQuote', { type: 'Decimal', description: 'Σ price × size.' }),
    askBase: t.expose('askBase', { type: 'Decimal' }),
    askQuote: t.expose('askQuote', { type: 'Decimal', description: 'Σ price × size.' }),
    imbalance: t.expose('imbalance', {
      type: 'Decimal',
      nullable: true,
      description: '(bidBase − askBase) / (bidBase + askBase), rounded half away from zero to 6 places.',
    }),
  }),
});

const DepthShare = builder.objectRef<DepthShareModel>('DepthShare').implement({
  description: "A venue's share of the consolidated depth (bid + ask, in quote) within one band.",
  fields: (t) => ({
    percent: t.expose('percent', { type: 'Decimal' }),
    share: t.expose('share', { type: 'Decimal', nullable: true, description: 'In [0, 1], 6 places.' }),
  }),
});

const SPREAD_BPS = '10000 × spread / mid, rounded half away from zero to 2 places.';

const LiquidityFigures = builder.objectRef<FiguresModel>('LiquidityFigures').implement({
  description: 'Mid, spread and depth bands of one book.',
  fields: (t) => ({
    mid: t.expose('mid', { type: 'Decimal', nullable: true }),
    spread: t.expose('spread', { type: 'Decimal', nullable: true, description: 'Negative when crossed.' }),
    spreadBps: t.expose('spreadBps', { type: 'Decimal', nullable: true, description: SPREAD_BPS }),
    bands: t.field({ type: [DepthBand], resolve: (f) => f.bands }),
  }),
});

const VenueLiquidity = builder.objectRef<VenueLiquidityModel>('VenueLiquidity').implement({
  description: "One venue's liquidity around its own mid, and its share of the consolidated depth.",
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    stale: t.exposeBoolean('stale'),
    mid: t.expose('mid', { type: 'Decimal', nullable: true }),
    spread: t.expose('spread', { type: 'Decimal', nullable: true, description: 'Negative when crossed.' }),
    spreadBps: t.expose('spreadBps', { type: 'Decimal', nullable: true, description: SPREAD_BPS }),
    bands: t.field({ type: [DepthBand], resolve: (f) => f.bands }),
    shares: t.field({ type: [DepthShare], resolve: (v) => v.shares }),
  }),
});

const Liquidity = builder.objectRef<resolvers.ConsolidatedState>('Liquidity').implement({
  description: 'Liquidity analytics of one symbol, consolidated (around the consolidated mid) and per venue.',
  fields: (t) => ({
    symbol: t.exposeString('symbol'),
    consolidated: t.field({ type: LiquidityFigures, resolve: (s) => s.liquidity().consolidated }),
    venues: t.field({ type: [VenueLiquidity], resolve: (s) => s.liquidity().venues }),
  }),
});

const ConsolidatedBook = builder.objectRef<resolvers.ConsolidatedState>('ConsolidatedBook').implement({
  description:
    'One symbol across venues: merged top levels with venue attribution, best bid and offer across venues.',
  fields: (t) => ({
    symbol: t.exposeString('symbol'),
    region: t.exposeString('region'),
    depth: t.exposeInt('depth'),
    bids: t.field({ type: [ConsolidatedLevel], resolve: (s) => s.top.bids }),
    asks: t.field({ type: [ConsolidatedLevel], resolve: (s) => s.top.asks }),
    bestBid: t.field({ type: ConsolidatedLevel, nullable: true, resolve: (s) => s.top.bids[0] ?? null }),
    bestAsk: t.field({ type: ConsolidatedLevel, nullable: true, resolve: (s) => s.top.asks[0] ?? null }),
    mid: t.field({ type: 'Decimal', nullable: true, resolve: (s) => s.top.mid }),
    spread: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'Best ask − best bid across venues; negative when crossed.',
      resolve: (s) => {
        const bid = s.top.bids[0];
        const ask = s.top.asks[0];
        return bid && ask ? subtractDecimal(ask.price, bid.price) : null;
      },
    }),
    crossed: t.boolean({
      description: 'The best bid of one venue is above the best ask of another; served as it is, not hidden.',
      resolve: (s) => s.top.crossed,
    }),
    venues: t.field({ type: [ConsolidatedVenue], resolve: (s) => s.venues }),
    staleVenues: t.stringList({
      description: 'Venues merged although stale.',
      resolve: (s) => s.venues.filter((v) => v.stale).map((v) => v.exchange),
    }),
    unavailableVenues: t.stringList({
      description:
        'Venues listing the symbol whose book could not be included (none yet, or resynchronising).',
      resolve: (s) => s.unavailable,
    }),
    stale: t.boolean({
      description: 'Some listed venue is stale or unavailable.',
      resolve: (s) => s.unavailable.length > 0 || s.venues.some((v) => v.stale),
    }),
    liquidity: t.field({ type: Liquidity, resolve: (s) => s }),
  }),
});

builder.queryFields((t) => ({
  consolidatedBook: t.field({
    type: ConsolidatedBook,
    description: 'The top `depth` of a symbol merged across venues (`exchanges`, default all that list it).',
    args: {
      symbol: t.arg.string({ required: true }),
      depth: t.arg.int({ defaultValue: 20 }),
      exchanges: t.arg.stringList(),
    },
    resolve: (_root, args, ctx) => resolvers.consolidatedBook(ctx.deps, { ...args, depth: args.depth ?? 20 }),
  }),
  liquidity: t.field({
    type: Liquidity,
    description:
      'Depth within ±0.5/1/2 % of mid, spread, imbalance and venue shares, per venue and consolidated.',
    args: { symbol: t.arg.string({ required: true }), exchanges: t.arg.stringList() },
    resolve: (_root, args, ctx) => resolvers.symbolLiquidity(ctx.deps, args),
  }),
}));

builder.subscriptionField('consolidatedBook', (t) =>
  t.field({
    type: ConsolidatedBook,
    description:
      'The consolidated book (with its liquidity), at most once per `throttleMs`; sent again when a venue turns stale.',
    args: {
      symbol: t.arg.string({ required: true }),
      depth: t.arg.int({ defaultValue: 20 }),
      throttleMs: t.arg.int({ defaultValue: 250 }),
      exchanges: t.arg.stringList(),
    },
    subscribe: (_root, args, ctx) =>
      resolvers.consolidatedBookStream(ctx.deps, {
        ...args,
        depth: args.depth ?? 20,
        throttleMs: args.throttleMs ?? 250,
      }),
    resolve: (state) => state,
  }),
);
