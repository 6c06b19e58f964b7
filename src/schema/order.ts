import * as resolvers from '../resolvers/order.ts';
import { averagePrice, remaining } from '../trading/accounting.ts';
import { isFailure, type TradingFailure } from '../trading/failures.ts';
import type { Order, OrderUpdate } from '../trading/types.ts';
import { builder } from './builder.ts';
import {
  type FailureOf,
  FillRef,
  OrderSide,
  SessionNotFound,
  SessionRef,
  TradingError,
  WrongRegion,
} from './session.ts';

const OrderType = builder.enumType('OrderType', { values: ['LIMIT', 'MARKET'] as const });
const TimeInForce = builder.enumType('TimeInForce', {
  values: {
    GTC: { description: 'Good till canceled: the unfilled part rests on the book.' },
    IOC: { description: 'Immediate or cancel: fill what crosses now, expire the rest.' },
    FOK: { description: 'Fill or kill: fill all of it now, or expire without any fill.' },
  },
});
const OrderStatus = builder.enumType('OrderStatus', {
  description:
    'NEW -> PARTIALLY_FILLED -> FILLED | CANCELED | EXPIRED; NEW -> REJECTED. The last four never change.',
  values: ['NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'] as const,
});
const RejectReason = builder.enumType('RejectReason', {
  values: [
    'POST_ONLY_WOULD_TAKE',
    'SESSION_CLOSED',
    'SESSION_ORDER_LIMIT',
    'MARKET_INACTIVE',
    'BOOK_UNAVAILABLE',
    'BOOK_STALE',
    'ORDER_NOT_OPEN',
    'VENUE_REJECTED',
  ] as const,
});

export const OrderRef = builder.objectRef<Order>('Order').implement({
  description: 'An order of one of your sessions. Written to Redis before it is acknowledged.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Names its session, and so its home region.' }),
    clientOrderId: t.exposeString('clientOrderId', { nullable: true }),
    sessionId: t.exposeID('sessionId'),
    region: t.exposeString('region'),
    exchange: t.exposeString('exchange'),
    symbol: t.exposeString('symbol'),
    side: t.field({ type: OrderSide, resolve: (o) => o.side }),
    type: t.field({ type: OrderType, resolve: (o) => o.type }),
    price: t.expose('price', {
      type: 'Decimal',
      nullable: true,
      description: 'Limit price; null for MARKET.',
    }),
    amount: t.expose('amount', { type: 'Decimal' }),
    timeInForce: t.field({ type: TimeInForce, resolve: (o) => o.timeInForce }),
    postOnly: t.exposeBoolean('postOnly'),
    status: t.field({ type: OrderStatus, resolve: (o) => o.status }),
    filled: t.expose('filled', { type: 'Decimal' }),
    remaining: t.field({ type: 'Decimal', resolve: (o) => remaining(o) }),
    averagePrice: t.field({
      type: 'Decimal',
      nullable: true,
      description: 'Quote value of the fills over their amount (18 places); null before a fill.',
      resolve: (o) => averagePrice(o),
    }),
    cost: t.expose('cost', { type: 'Decimal', description: 'Quote value of the fills.' }),
    fee: t.expose('fee', { type: 'Decimal' }),
    feeAsset: t.exposeString('quote'),
    rejectReason: t.field({
      type: RejectReason,
      nullable: true,
      resolve: (o) => o.rejectReason as 'POST_ONLY_WOULD_TAKE' | null,
    }),
    createdAt: t.expose('createdAt', { type: 'Long' }),
    updatedAt: t.expose('updatedAt', { type: 'Long' }),
    fills: t.field({ type: [FillRef], resolve: (o, _args, ctx) => resolvers.orderFills(ctx, o) }),
  }),
});

const MarketNotFound = builder.objectRef<FailureOf<'MarketNotFound'>>('MarketNotFound').implement({
  interfaces: [TradingError],
  fields: (t) => ({ exchange: t.exposeString('exchange'), symbol: t.exposeString('symbol') }),
});
const OrderNotFound = builder.objectRef<FailureOf<'OrderNotFound'>>('OrderNotFound').implement({
  description: "No such order for this client. Another client's order gives exactly this answer.",
  interfaces: [TradingError],
  fields: () => ({}),
});
const PrecisionField = builder.enumType('OrderField', { values: ['price', 'amount', 'notional'] as const });
const InvalidPrecision = builder.objectRef<FailureOf<'InvalidPrecision'>>('InvalidPrecision').implement({
  description: "The price or amount is not a multiple of the market's tick or lot size.",
  interfaces: [TradingError],
  fields: (t) => ({
    field: t.field({ type: PrecisionField, resolve: (f) => f.field }),
    value: t.expose('value', { type: 'Decimal' }),
    increment: t.expose('increment', { type: 'Decimal' }),
  }),
});
const BelowMinimum = builder.objectRef<FailureOf<'BelowMinimum'>>('BelowMinimum').implement({
  description: "The amount or the order value (price × amount) is below the market's minimum.",
  interfaces: [TradingError],
  fields: (t) => ({
    field: t.field({ type: PrecisionField, resolve: (f) => f.field }),
    value: t.expose('value', { type: 'Decimal' }),
    minimum: t.expose('minimum', { type: 'Decimal' }),
  }),
});
const AboveMaximum = builder.objectRef<FailureOf<'AboveMaximum'>>('AboveMaximum').implement({
  description: "The amount or the order value is above the market's maximum.",
  interfaces: [TradingError],
  fields: (t) => ({
    field: t.field({ type: PrecisionField, resolve: (f) => f.field }),
    value: t.expose('value', { type: 'Decimal' }),
    maximum: t.expose('maximum', { type: 'Decimal' }),
  }),
});
const InsufficientBalance = builder
  .objectRef<FailureOf<'InsufficientBalance'>>('InsufficientBalance')
  .implement({
    description:
      'The session does not have enough of an asset available (total minus what open orders reserve).',
    interfaces: [TradingError],
    fields: (t) => ({
      asset: t.exposeString('asset'),
      required: t.expose('required', { type: 'Decimal' }),
      available: t.expose('available', { type: 'Decimal' }),
    }),
  });
const OrderRejected = builder.objectRef<FailureOf<'OrderRejected'>>('OrderRejected').implement({
  description: 'The order was refused; `order` is set when it was recorded (as REJECTED, or already final).',
  interfaces: [TradingError],
  fields: (t) => ({
    reason: t.field({ type: RejectReason, resolve: (f) => f.reason }),
    order: t.field({ type: OrderRef, nullable: true, resolve: (f) => f.order }),
  }),
});
const IdempotencyConflict = builder
  .objectRef<FailureOf<'IdempotencyConflict'>>('IdempotencyConflict')
  .implement({
    description: 'The clientOrderId was already used by this client for a different order.',
    interfaces: [TradingError],
    fields: (t) => ({ clientOrderId: t.exposeString('clientOrderId'), orderId: t.exposeID('orderId') }),
  });

const kindOf = (value: object) => (isFailure(value) ? value.kind : 'Order');

const PlaceOrderResult = builder.unionType('PlaceOrderResult', {
  types: [
    OrderRef,
    MarketNotFound,
    SessionNotFound,
    InvalidPrecision,
    BelowMinimum,
    AboveMaximum,
    InsufficientBalance,
    OrderRejected,
    IdempotencyConflict,
    WrongRegion,
  ],
  resolveType: kindOf,
});

const CancelOrderResult = builder.unionType('CancelOrderResult', {
  types: [OrderRef, OrderNotFound, OrderRejected, WrongRegion],
  resolveType: kindOf,
});

const CanceledOrders = builder.objectRef<{ orders: Order[] }>('CanceledOrders').implement({
  fields: (t) => ({ orders: t.field({ type: [OrderRef], resolve: (r) => r.orders }) }),
});

const CancelAllOrdersResult = builder.unionType('CancelAllOrdersResult', {
  types: [CanceledOrders, SessionNotFound, WrongRegion],
  resolveType: (value) => (isFailure(value) ? value.kind : 'CanceledOrders'),
});

const PlaceOrderInput = builder.inputType('PlaceOrderInput', {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    exchange: t.string({ required: true }),
    symbol: t.string({ required: true }),
    side: t.field({ type: OrderSide, required: true }),
    type: t.field({ type: OrderType, required: true }),
    price: t.field({ type: 'Decimal', description: 'Required for LIMIT, absent for MARKET.' }),
    amount: t.field({ type: 'Decimal', required: true }),
    timeInForce: t.field({ type: TimeInForce, defaultValue: 'GTC' }),
    postOnly: t.boolean({
      defaultValue: false,
      description: 'Reject rather than take liquidity (GTC LIMIT only).',
    }),
    clientOrderId: t.string({
      description:
        'Makes placement idempotent per client: a retry returns the same order, another payload under the same id is an IdempotencyConflict. 1-64 of A-Z a-z 0-9 . _ : -',
    }),
  }),
});

const OrderFilter = builder.inputType('OrderFilter', {
  fields: (t) => ({
    sessionId: t.id({ required: true }),
    status: t.field({ type: [OrderStatus] }),
    exchange: t.string(),
    symbol: t.string(),
    side: t.field({ type: OrderSide }),
  }),
});

const OrderEdge = builder.objectRef<{ cursor: string; node: Order }>('OrderEdge').implement({
  fields: (t) => ({
    cursor: t.exposeString('cursor'),
    node: t.field({ type: OrderRef, resolve: (e) => e.node }),
  }),
});
const PageInfo = builder.objectRef<resolvers.OrderConnection['pageInfo']>('PageInfo').implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage'),
    endCursor: t.exposeString('endCursor', { nullable: true }),
  }),
});
const OrderConnection = builder.objectRef<resolvers.OrderConnection>('OrderConnection').implement({
  fields: (t) => ({
    edges: t.field({ type: [OrderEdge], resolve: (c) => c.edges }),
    pageInfo: t.field({ type: PageInfo, resolve: (c) => c.pageInfo }),
  }),
});

const OrderUpdateType = builder.enumType('OrderUpdateType', {
  values: {
    NEW: { description: 'The order was accepted (written before this message).' },
    FILL: { description: 'A fill; `order` shows the status after it (PARTIALLY_FILLED or FILLED).' },
    CANCELED: { description: 'Canceled by the client (or by closeSession).' },
    EXPIRED: { description: 'The unfilled part of an IOC, FOK or MARKET order expired.' },
    REJECTED: { description: 'Refused by the venue (post-only that would take).' },
  },
});

const OrderUpdateRef = builder.objectRef<OrderUpdate>('OrderUpdate').implement({
  description: 'One change of an order of the session. `seq` grows by one per message of the session.',
  fields: (t) => ({
    sessionId: t.exposeID('sessionId'),
    seq: t.expose('seq', { type: 'Long' }),
    type: t.field({ type: OrderUpdateType, resolve: (u) => u.type }),
    order: t.field({ type: OrderRef, resolve: (u) => u.order }),
    fill: t.field({ type: FillRef, nullable: true, resolve: (u) => u.fill }),
    timestamp: t.expose('ts', { type: 'Long' }),
  }),
});

builder.objectField(SessionRef, 'orders', (t) =>
  t.field({
    type: OrderConnection,
    description: "The session's orders, newest first.",
    args: {
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
      status: t.arg({ type: [OrderStatus] }),
    },
    resolve: (s, args, ctx) =>
      resolvers.orders(ctx, {
        filter: { sessionId: s.id, status: args.status },
        first: args.first ?? 20,
        after: args.after,
      }),
  }),
);

builder.mutationFields((t) => ({
  placeOrder: t.field({
    type: PlaceOrderResult,
    description:
      "Places an order in a session. Needs the `trade` scope. Malformed input is BAD_USER_INPUT; broken market rules are typed results; WrongRegion from a server outside the session's home region.",
    args: { input: t.arg({ type: PlaceOrderInput, required: true }) },
    resolve: (_root, args, ctx) =>
      resolvers.placeOrder(ctx, {
        input: { ...args.input, sessionId: String(args.input.sessionId) },
      }) as Promise<Order | Exclude<TradingFailure, { kind: 'OrderNotFound' }>>,
  }),
  cancelOrder: t.field({
    type: CancelOrderResult,
    description: 'Cancels an open order, named by exactly one of id and clientOrderId.',
    args: { id: t.arg.id(), clientOrderId: t.arg.string() },
    resolve: (_root, args, ctx) =>
      resolvers.cancelOrder(ctx, {
        id: args.id === null || args.id === undefined ? null : String(args.id),
        clientOrderId: args.clientOrderId,
      }) as Promise<
        Order | FailureOf<'OrderNotFound'> | FailureOf<'OrderRejected'> | FailureOf<'WrongRegion'>
      >,
  }),
  cancelAllOrders: t.field({
    type: CancelAllOrdersResult,
    description: 'Cancels every open order of the session (optionally of one exchange and symbol).',
    args: { sessionId: t.arg.id({ required: true }), exchange: t.arg.string(), symbol: t.arg.string() },
    resolve: (_root, args, ctx) =>
      resolvers.cancelAllOrders(ctx, { ...args, sessionId: String(args.sessionId) }) as Promise<
        { orders: Order[] } | FailureOf<'SessionNotFound'> | FailureOf<'WrongRegion'>
      >,
  }),
}));

builder.queryFields((t) => ({
  order: t.field({
    type: OrderRef,
    description:
      "One of your orders by id or clientOrderId (exactly one). ORDER_NOT_FOUND otherwise, also for any other client's.",
    args: { id: t.arg.id(), clientOrderId: t.arg.string() },
    resolve: (_root, args, ctx) =>
      resolvers.order(ctx, {
        id: args.id === null || args.id === undefined ? null : String(args.id),
        clientOrderId: args.clientOrderId,
      }),
  }),
  orders: t.field({
    type: OrderConnection,
    description: "A session's orders, newest first, filtered; page with `after: pageInfo.endCursor`.",
    args: {
      filter: t.arg({ type: OrderFilter, required: true }),
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
    },
    resolve: (_root, args, ctx) =>
      resolvers.orders(ctx, {
        filter: { ...args.filter, sessionId: String(args.filter.sessionId) },
        first: args.first ?? 20,
        after: args.after,
      }),
  }),
}));

builder.subscriptionField('orderUpdates', (t) =>
  t.field({
    type: OrderUpdateRef,
    description:
      "Every state change and fill of the session's orders, in seq order. With `afterSeq`, first the kept updates after it (the session keeps its last 10000). SESSION_NOT_FOUND for anything not yours.",
    args: { sessionId: t.arg.id({ required: true }), afterSeq: t.arg({ type: 'Long' }) },
    subscribe: (_root, args, ctx) =>
      resolvers.orderUpdates(ctx, { sessionId: String(args.sessionId), afterSeq: args.afterSeq }),
    resolve: (update) => update,
  }),
);
