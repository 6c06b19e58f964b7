import * as resolvers from '../resolvers/session.ts';
import { isFailure, type TradingFailure } from '../trading/failures.ts';
import type { Fill, Session } from '../trading/types.ts';
import { builder } from './builder.ts';

export type FailureOf<K extends TradingFailure['kind']> = Extract<TradingFailure, { kind: K }>;

export const TradingError = builder.interfaceRef<TradingFailure>('TradingError').implement({
  description:
    'An expected outcome of a trading mutation that is not its result: nothing was changed (except an OrderRejected that carries its order). `code` is stable; `message` is for people.',
  resolveType: (failure) => failure.kind,
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

export const SessionNotFound = builder.objectRef<FailureOf<'SessionNotFound'>>('SessionNotFound').implement({
  description: "No such session for this client. Another client's session gives exactly this answer.",
  interfaces: [TradingError],
  fields: (t) => ({ sessionId: t.exposeID('sessionId') }),
});

export const WrongRegion = builder.objectRef<FailureOf<'WrongRegion'>>('WrongRegion').implement({
  description:
    'The session belongs to another region, the only one that accepts its writes (code WRONG_REGION). Nothing was written; reads work from every region. Send the write to a server of `homeRegion`.',
  interfaces: [TradingError],
  fields: (t) => ({
    homeRegion: t.exposeString('homeRegion', { description: 'The region that owns the session.' }),
    region: t.exposeString('region', { description: 'The region of the server that refused.' }),
  }),
});

const Balance = builder.objectRef<resolvers.BalanceView>('Balance').implement({
  description: 'One asset of a paper session. `available` = `total` − `locked` (reserved by open orders).',
  fields: (t) => ({
    asset: t.exposeString('asset'),
    initial: t.expose('initial', { type: 'Decimal', description: 'Given at openSession.' }),
    total: t.expose('total', { type: 'Decimal' }),
    locked: t.expose('locked', { type: 'Decimal' }),
    available: t.expose('available', { type: 'Decimal' }),
  }),
});

const Position = builder.objectRef<resolvers.PositionView>('Position').implement({
  description:
    'Net position of one market traded in the session (average-cost accounting). PnL and fees are in the quote asset; unrealised PnL is marked to the live mid.',
  fields: (t) => ({
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    asset: t.exposeString('base', { description: 'The base asset held (or owed, when negative).' }),
    quoteAsset: t.exposeString('quote'),
    quantity: t.expose('quantity', { type: 'Decimal', description: 'Signed: bought minus sold.' }),
    cost: t.expose('cost', { type: 'Decimal', description: 'Signed quote cost of the quantity held.' }),
    markPrice: t.expose('markPrice', {
      type: 'Decimal',
      nullable: true,
      description: 'Live mid; null while no book is available.',
    }),
    realisedPnl: t.expose('realisedPnl', { type: 'Decimal', description: 'Closed gains minus fees.' }),
    unrealisedPnl: t.expose('unrealisedPnl', {
      type: 'Decimal',
      nullable: true,
      description: 'quantity × markPrice − cost; null while no mark is available.',
    }),
    fees: t.expose('fees', { type: 'Decimal' }),
  }),
});

export const OrderSide = builder.enumType('OrderSide', { values: ['BUY', 'SELL'] as const });
export const Liquidity = builder.enumType('FillLiquidity', {
  values: {
    MAKER: { description: 'Filled while resting on the book.' },
    TAKER: { description: 'Filled on arrival, against the book.' },
  },
});

export const FillRef = builder.objectRef<Fill>('Fill').implement({
  description: 'One execution of an order.',
  fields: (t) => ({
    id: t.exposeID('id'),
    orderId: t.exposeID('orderId'),
    sessionId: t.exposeID('sessionId'),
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    side: t.field({ type: OrderSide, resolve: (f) => f.side }),
    price: t.expose('price', { type: 'Decimal' }),
    amount: t.expose('amount', { type: 'Decimal' }),
    fee: t.expose('fee', { type: 'Decimal' }),
    feeAsset: t.exposeString('feeAsset'),
    liquidity: t.field({ type: Liquidity, resolve: (f) => f.liquidity }),
    timestamp: t.expose('ts', { type: 'Long' }),
  }),
});

const SessionStatus = builder.enumType('SessionStatus', { values: ['OPEN', 'CLOSED'] as const });
const Venue = builder.enumType('Venue', {
  values: { PAPER: { description: 'Paper trading against the live books of this region.' } },
});

export const SessionRef = builder.objectRef<Session>('Session').implement({
  description:
    'A trading session of the calling client: paper balances, orders, fills, positions. Expires after a period without activity.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Names its home region, the only one that writes it.' }),
    region: t.exposeString('region'),
    venue: t.field({ type: Venue, resolve: (s) => s.venue }),
    status: t.field({ type: SessionStatus, resolve: (s) => s.status }),
    createdAt: t.expose('createdAt', { type: 'Long' }),
    closedAt: t.expose('closedAt', { type: 'Long', nullable: true }),
    lastSeq: t.expose('seq', { type: 'Long', description: 'The seq of the last orderUpdates message.' }),
    balances: t.field({ type: [Balance], resolve: (s) => resolvers.balances(s) }),
    positions: t.field({ type: [Position], resolve: (s, _args, ctx) => resolvers.positions(ctx.deps, s) }),
    fills: t.field({
      type: [FillRef],
      description: 'The newest fills first (the session keeps its last 10000).',
      args: { first: t.arg.int({ defaultValue: 100 }) },
      resolve: (s, args, ctx) => resolvers.fills(ctx, s, { first: args.first ?? 100 }),
    }),
  }),
});

const BalanceInput = builder.inputType('BalanceInput', {
  fields: (t) => ({
    asset: t.string({ required: true }),
    amount: t.field({ type: 'Decimal', required: true }),
  }),
});

const CloseSessionResult = builder.unionType('CloseSessionResult', {
  types: [SessionRef, SessionNotFound, WrongRegion],
  resolveType: (value) => (isFailure(value) ? value.kind : 'Session'),
});

builder.mutationFields((t) => ({
  openSession: t.field({
    type: SessionRef,
    description: 'Opens a paper trading session with the given balances. Needs the `trade` scope.',
    args: { balances: t.arg({ type: [BalanceInput], required: true }) },
    resolve: (_root, args, ctx) => resolvers.openSession(ctx, args),
  }),
  closeSession: t.field({
    type: CloseSessionResult,
    description:
      "Cancels every open order of the session and closes it. WrongRegion from a server outside the session's home region.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) =>
      resolvers.closeSession(ctx, { id: String(args.id) }) as Promise<
        Session | FailureOf<'SessionNotFound'> | FailureOf<'WrongRegion'>
      >,
  }),
}));

builder.queryFields((t) => ({
  session: t.field({
    type: SessionRef,
    description: "One of your sessions. SESSION_NOT_FOUND otherwise (also for any other client's).",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => resolvers.session(ctx, { id: String(args.id) }),
  }),
  sessions: t.field({
    type: [SessionRef],
    description: 'Your sessions, newest first.',
    args: { first: t.arg.int({ defaultValue: 20 }) },
    resolve: (_root, args, ctx) => resolvers.sessions(ctx, { first: args.first ?? 20 }),
  }),
}));
