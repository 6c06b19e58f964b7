import { createServer, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import { anonymous } from '../auth/access.ts';
import { ApiClientRegistry } from '../auth/api-keys.ts';
import { Authenticator, type InitialContext } from '../auth/authenticator.ts';
import { CLOSE_KEY_UNCHECKED, ConnectionGuard } from '../auth/connection-guard.ts';
import type { Logger } from '../log.ts';
import { Metrics } from '../observability/metrics.ts';
import type { Tracing } from '../observability/tracing.ts';
import type { ChannelSubscriber } from '../pubsub/channel-subscriber.ts';
import type { SubscriberTransport } from '../pubsub/slow-subscriber.ts';
import type { ResolverDeps } from '../resolvers/deps.ts';
import { staleAfterMs } from '../resolvers/orderbook.ts';
import type { Context } from '../schema/builder.ts';
import { schema } from '../schema/index.ts';
import { createTrading, type Trading } from '../trading/trading.ts';
import { type DashboardOptions, dashboardHandler } from './dashboard/serve.ts';
import { Edge, type EdgeOverrides } from './edge/index.ts';
import { listen } from './listen.ts';
import { maskErrors } from './mask-errors.ts';
import { HeldBookResults } from './plugins/held-book-results.ts';
import { usePlugins } from './plugins/index.ts';
import { SSE_STREAM_ENDPOINT } from './plugins/use-graphql-sse.ts';
import type { SharedExecutionStats } from './plugins/use-shared-execution.ts';
import { PushFrames } from './push-frames.ts';
import { useSsePush } from './push-sse.ts';
import { unreadyReasons } from './readiness.ts';

/** Returns why the process is not ready, or null when it is (a probe of Redis answers later). */
export type ReadinessCheck = () => string | null | Promise<string | null>;

export interface DrainOptions {
  /** How long `/ready` answers 503 before the listener closes, so load balancers stop routing here. @default 0 */
  readyGraceMs?: number;
  /** The longest wait for in-flight HTTP requests before connections are cut. @default 20000 */
  timeoutMs?: number;
}

export interface AppOptions {
  deps: ResolverDeps;
  /** The process's subscriber connection (made with the BookHub): key revocations, order updates. */
  channels: ChannelSubscriber;
  log: Logger;
  /** Serve GraphiQL at the GraphQL endpoint. Development only. @default false */
  graphiql?: boolean;
  /**
   * Answer introspection and suggest field names in errors. Off in production, where integrators
   * use the committed schema and the SDK. @default true
   */
  introspection?: boolean;
  /** Counts subscription executions and shared results (metrics, tests). */
  executionStats?: SharedExecutionStats;
  /** Answers of queries on held books, kept while the books do not change (tests read its counts). */
  heldBookResults?: HeldBookResults;
  /** The process's metrics, served at `/metrics`. @default a new registry */
  metrics?: Metrics;
  /** More reasons to be unready than the built-in ones (Redis down, draining). */
  readiness?: readonly ReadinessCheck[];
  drain?: DrainOptions;
  auth?: AuthOptions;
  /** Sessions and orders. @default paper trading over `deps` (its store's connection, its BookHub) */
  trading?: Trading;
  /** A span per GraphQL operation (src/server/plugins/use-tracing.ts). @default off */
  tracing?: Tracing;
  /** The market dashboard at `/dashboard` (`/` redirects there). @default off */
  dashboard?: Omit<DashboardOptions, 'log'>;
  /** Request limits and per-key quotas (src/server/edge/limits.ts). @default their production values */
  edge?: EdgeOverrides;
  /** Headers on every HTTP response and WebSocket handshake (a `serve --workers N` worker's id). @default none */
  responseHeaders?: Readonly<Record<string, string>>;
  /** Run queries compiled by graphql-jit (src/server/plugins/use-compiled-queries.ts). @default true */
  compiledQueries?: boolean;
  /**
   * Book subscriptions over graphql-ws and SSE (distinct connections mode) written straight from
   * their view to the socket, one serialisation per event (src/server/push-frames.ts,
   * push-sse.ts); off: one async iterator per subscription, as single-connection SSE always is
   * (`PUSH_PATH`). @default true
   */
  pushPath?: boolean;
}

export interface AuthOptions {
  /**
   * Serve market data to callers without a key. On in `start`, off by default in `serve`
   * (`ALLOW_ANONYMOUS_MARKETDATA`). Trading always needs a key. @default true
   */
  anonymousMarketData?: boolean;
  /** How often each connected key is re-read, in case a revocation message was lost. @default 5000 */
  recheckMs?: number;
}

export interface App {
  yoga: YogaServerInstance<Record<string, never>, Context>;
  server: Server;
  metrics: Metrics;
  trading: Trading;
  /** Request limits and quotas (tests read its document cache and counts). */
  edge: Edge;
  /** Why the server is not ready (what `/ready` answers 503 with); none when it is. */
  unready(): Promise<string[]>;
  /** Listens on host:port (port 0 picks a free one); resolves with the bound port. */
  start(port: number, host?: string): Promise<number>;
  /**
   * Graceful drain, then close: `/ready` turns 503, the listener closes, in-flight HTTP requests
   * finish (bounded by `drain.timeoutMs`), WebSockets are closed with 1012 (service restart: the
   * client should reconnect, elsewhere), remaining streams are cut. Redis stays the caller's.
   */
  stop(): Promise<void>;
}

interface Enveloped {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/** The GraphQL server: HTTP, SSE and WebSocket (graphql-ws) on one port and one endpoint. */
export function createApp(options: AppOptions): App {
  const { deps, log } = options;
  const metrics = options.metrics ?? new Metrics();
  let draining = false;
  const readiness: ReadinessCheck[] = [
    () => (draining ? 'draining' : null),
    () => (deps.redisReady() ? null : 'redis not connected'),
    ...(options.readiness ?? []),
  ];
  const registry = new ApiClientRegistry(deps.store.redis, deps.now);
  const auth = new Authenticator(registry, options.auth?.anonymousMarketData ?? true);
  const guard = new ConnectionGuard({
    registry,
    channels: options.channels,
    log,
    now: deps.now,
    recheckMs: options.auth?.recheckMs,
  });
  const edge = new Edge({ limits: options.edge, auth, guard, metrics, log, now: deps.now });
  const trading =
    options.trading ??
    createTrading({
      books: deps.store,
      hub: deps.hub,
      channels: options.channels,
      log,
      now: deps.now,
      staleAfterMs: (exchange, symbol) => staleAfterMs(deps, exchange, symbol),
      metrics,
    });
  const pushFrames =
    options.pushPath === false
      ? undefined
      : new PushFrames({
          limits: deps.limits.backpressure,
          metrics: deps.metrics,
          stats: options.executionStats,
          log,
          now: deps.now,
          maskError: (error) => {
            const masked = maskErrors.maskError!(error, 'Unexpected error.');
            if (masked !== error) log.error({ err: error }, 'masked error in a pushed subscription event');
            return masked as GraphQLError;
          },
        });

  const yoga = createYoga<Record<string, never>, Context>({
    schema,
    context: async (initial) => ({
      deps,
      trading,
      auth: await auth.forOperation(initial as InitialContext),
      transport: socketTransport(initial),
    }),
    // The GraphiQL bundle is served inline from the npm package: the page works offline
    // (yoga's default loads it from a CDN).
    renderGraphiQL,
    maskedErrors: maskErrors,
    // No landing page with yoga's version on unknown paths: `/` is the dashboard's, or a 404.
    landingPage: false,
    ...edge.yogaOptions(),
    graphiql: options.graphiql
      ? { title: 'bookgraph', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_EXAMPLE }
      : false,
    logging: {
      debug: (...args) => log.debug(args.length === 1 ? args[0] : args),
      info: (...args) => log.info(args.length === 1 ? args[0] : args),
      warn: (...args) => log.warn(args.length === 1 ? args[0] : args),
      error: (...args) => log.error(args.length === 1 ? args[0] : args),
    },
    plugins: [
      ...usePlugins({
        deps,
        log,
        metrics,
        readiness,
        executionStats: options.executionStats,
        tracing: options.tracing,
        introspection: options.introspection ?? true,
        edge,
        compiledQueries: options.compiledQueries ?? true,
        heldBookResults:
          options.heldBookResults ??
          new HeldBookResults(32, (reused) =>
            metrics.queryAnswers.inc({ answer: reused ? 'reused' : 'executed' }),
          ),
      }),
      ...(pushFrames ? [useSsePush(pushFrames)] : []),
    ],
  });

  const dashboard = options.dashboard && dashboardHandler({ ...options.dashboard, log });
  const server = createServer(
    edge.http(
      (req, res) => {
        if (dashboard?.(req, res)) return;
        yoga(req, res);
      },
      [yoga.graphqlEndpoint, SSE_STREAM_ENDPOINT],
    ),
  );
  const extraHeaders = Object.entries(options.responseHeaders ?? {});
  if (extraHeaders.length > 0) {
    // Prepended: it must run before a handler that answers at once (the dashboard's files).
    server.prependListener('request', (_req, res) => {
      for (const [name, value] of extraHeaders) res.setHeader(name, value);
    });
  }
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Requests a drain waits for: everything but event streams, which never end by themselves.
  let inflight = 0;
  let inflightDone: (() => void) | undefined;
  const answering = new Set<ServerResponse>();
  server.on('request', (req, res) => {
    // While draining, each connection closes after its answer: a kept-alive one would otherwise
    // bring a new request after the drain saw none in flight, and run it against closed Redis.
    if (draining) closeAfterAnswer(res);
    if (req.headers.accept?.includes('text/event-stream')) return;
    inflight += 1;
    answering.add(res);
    res.once('close', () => {
      answering.delete(res);
      inflight -= 1;
      if (inflight === 0) inflightDone?.();
    });
  });

  const wss = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: edge.limits.maxFrameBytes,
  });
  const wsServer = useServer(
    {
      connectionInitWaitTimeout: edge.limits.wsInitTimeoutMs,
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => {
        // The operation's envelop is needed to start it, not while it runs: graphql-ws keeps
        // `args` for the subscription's life (and the push path's frame target holds it too).
        const enveloped = args.rootValue as Enveloped;
        args.rootValue = undefined;
        return enveloped.subscribe(args) as never;
      },
      onConnect: async (ctx) => {
        // A presented key must be valid; no key is allowed only while anonymous market data is.
        const key = Authenticator.keyFromConnectionParams(ctx.connectionParams);
        const socket = ctx.extra.socket;
        const state =
          key === null
            ? anonymous(auth.anonymousMarketData)
            : await auth.fromKey(key).catch((err: unknown) => {
                log.warn({ err }, 'key not checked at the handshake (Redis)');
                return null;
              });
        // Not a refusal: the client retries, and is refused (4403) only once the key is known bad.
        if (state === null || state.rejected === 'unavailable') {
          socket.close(CLOSE_KEY_UNCHECKED, 'Try again later: the key cannot be checked now');
          return false;
        }
        if (state.rejected || (!state.principal && !state.anonymousMarketData)) return false;
        if (!edge.admitSocket(socket, state, ctx.extra.request.socket.remoteAddress)) return false;
        auth.rememberSocket(socket, state);
        const principal = state.principal;
        if (principal) {
          socket.once('close', () => guard.release(socket, principal.clientId));
          await guard.admit(socket, principal);
        }
        metrics.wsConnections.inc();
        return true;
      },
      onDisconnect: () => {
        metrics.wsConnections.dec();
      },
      onSubscribe: async (ctx, id, params) => {
        const limited = edge.wsOperation(ctx, await auth.forOperation({ extra: ctx.extra }));
        if (limited) return [limited];
        const {
          schema: s,
          execute,
          subscribe,
          contextFactory,
          parse,
          validate,
        } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args: ExecutionArgs = {
          schema: s,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies Enveloped,
        };
        const errors = validate(args.schema, args.document);
        if (errors.length > 0) return errors;
        if (pushFrames) (args.contextValue as Context).push = pushFrames.target(ctx.extra.socket, id, args);
        return args;
      },
    },
    wss,
    edge.limits.wsKeepAliveMs,
  );
  edge.quietSocketErrors(wss);
  if (extraHeaders.length > 0) {
    wss.on('headers', (headers) => headers.push(...extraHeaders.map(([name, value]) => `${name}: ${value}`)));
  }

  return {
    yoga,
    server,
    metrics,
    trading,
    edge,
    unready: () => unreadyReasons(readiness),
    start(port, host = '127.0.0.1') {
      return listen(server, port, host);
    },
    async stop() {
      if (draining) return;
      draining = true;
      metrics.draining.set(1);
      const drain = options.drain ?? {};
      if (drain.readyGraceMs) await new Promise((r) => setTimeout(r, drain.readyGraceMs));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const res of answering) closeAfterAnswer(res);
      server.closeIdleConnections();
      if (inflight > 0) {
        await Promise.race([
          new Promise<void>((resolve) => {
            inflightDone = resolve;
          }),
          new Promise((r) => setTimeout(r, drain.timeoutMs ?? 20_000).unref()),
        ]);
      }
      for (const client of wss.clients) client.close(1012, 'Service restart: reconnect');
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      guard.close();
      edge.close();
      trading.close();
      await yoga.dispose();
      metrics.draining.set(0);
    },
  };
}

/** The connection ends once this response is sent (`Connection: close`), if it is not sent yet. */
function closeAfterAnswer(res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
}

const GRAPHIQL_EXAMPLE = `# Live BTC/USDT book from the built-in simulator: press the run button.
subscription LiveBook {
  orderBookUpdates(exchange: "sim1", symbol: "BTC/USDT", depth: 10) {
    type
    seq
    prevSeq
    bids { price size }
    asks { price size }
  }
}
`;

/**
 * The connection a subscription is sent on, for the slow-subscriber bound: graphql-ws operations
 * carry their socket in the context (see onSubscribe above); SSE streams (Yoga's own, one
 * `text/event-stream` response per operation) their Node response, whose `writableLength` counts
 * what the socket has not sent yet. A stalled SSE reader is cut as a WebSocket is closed (SSE has
 * no close code: the client sees the stream end and reconnects).
 */
function socketTransport(initial: object): SubscriberTransport | undefined {
  const res = 'res' in initial ? initial.res : undefined;
  if (res instanceof ServerResponse) {
    return {
      bufferedBytes: () => res.writableLength,
      close: () => {
        if (res.destroyed) return false;
        res.destroy();
        return true;
      },
    };
  }
  const socket = 'socket' in initial ? initial.socket : undefined;
  if (!(socket instanceof WebSocket)) return undefined;
  return {
    bufferedBytes: () => socket.bufferedAmount,
    close: (code, reason) => {
      if (socket.readyState !== WebSocket.OPEN) return false;
      socket.close(code, reason);
      return true;
    },
  };
}
