import type { FeedStatus as FeedStatusModel } from '../marketdata/feed-health.ts';
import * as resolvers from '../resolvers/feeds.ts';
import { builder } from './builder.ts';

const FeedState = builder.enumType('FeedState', {
  values: {
    CONNECTED: { description: 'Connected and delivering data.' },
    DISCONNECTED: { description: 'The feed reports it is not connected (or its ingester stopped cleanly).' },
    STALE: { description: 'Connected, but nothing arrived within the staleness threshold.' },
    UNKNOWN: { description: 'No current status: no ingester wrote one, or it stopped renewing it.' },
  },
});

const FeedStatus = builder.objectRef<FeedStatusModel>('FeedStatus').implement({
  description: 'What the ingester last wrote about a feed; counters since the ingester started.',
  fields: (t) => ({
    region: t.exposeString('region'),
    connected: t.exposeBoolean('connected'),
    lastMessageTimestamp: t.expose('lastMessageTs', { type: 'Long', nullable: true }),
    messagesPerSecond: t.exposeFloat('messagesPerSec', {
      description: 'Book updates and trades per second over the last status interval.',
    }),
    messages: t.exposeInt('messages'),
    gaps: t.exposeInt('gaps', {
      description: 'Deltas with no open chain, and failed writes that broke one.',
    }),
    resyncs: t.exposeInt('resyncs'),
    errors: t.exposeInt('errors'),
    rejected: t.exposeInt('rejected', { description: 'Updates the normaliser refused.' }),
    lastError: t.exposeString('lastError', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'Long' }),
    updatedAt: t.expose('updatedAt', { type: 'Long', description: 'When the ingester wrote this status.' }),
    expiresAfterMs: t.exposeInt('expiresAfterMs'),
  }),
});

const FeedHealth = builder.objectRef<resolvers.FeedHealth>('FeedHealth').implement({
  description: 'The health of one feed of one exchange, as data.',
  fields: (t) => ({
    region: t.exposeString('region', {
      description: 'Region whose ingester reports this feed: health is per (region, exchange).',
    }),
    exchange: t.exposeString('exchange'),
    feed: t.exposeString('feed', { nullable: true }),
    state: t.field({ type: FeedState, resolve: (h) => h.state }),
    status: t.field({ type: FeedStatus, nullable: true, resolve: (h) => h.status }),
  }),
});

builder.queryField('feeds', (t) =>
  t.field({
    type: [FeedHealth],
    description: 'Feed health of every exchange in every region of REGIONS (this one first), or of one.',
    args: { exchange: t.arg.string() },
    resolve: (_root, args, ctx) => resolvers.feeds(ctx.deps, args),
  }),
);

builder.subscriptionField('feedStatus', (t) =>
  t.field({
    type: FeedHealth,
    description: 'The current feed health, then every change, including a status expiring into UNKNOWN.',
    args: { exchange: t.arg.string() },
    subscribe: (_root, args, ctx) => resolvers.feedStatusStream(ctx.deps, args),
    resolve: (h) => h,
  }),
);
