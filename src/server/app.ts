import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log.ts';
import type { ResolverDeps } from '../resolvers/deps.ts';
import type { Context } from '../schema/builder.ts';
import { schema } from '../schema/index.ts';
import { usePlugins } from './plugins/index.ts';
import type { SharedExecutionStats } from './plugins/use-shared-execution.ts';

export interface AppOptions {
  deps: ResolverDeps;
  log: Logger;
  /** Serve GraphiQL at the GraphQL endpoint. Development only. @default false */
  graphiql?: boolean;
  /** Counts subscription executions and shared results (metrics, tests). */
  executionStats?: SharedExecutionStats;
}

export interface App {
  yoga: YogaServerInstance<Record<string, never>, Context>;
  server: Server;
  /** Listens on host:port (port 0 picks a free one); resolves with the bound port. */
  start(port: number, host?: string): Promise<number>;
  /** Closes WebSockets (1001), HTTP connections and the server. Redis stays the caller's. */
  stop(): Promise<void>;
}

interface Enveloped {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/** The GraphQL server: HTTP, SSE and WebSocket (graphql-ws) on one port and one endpoint. */
export function createApp(options: AppOptions): App {
  const { deps, log } = options;
  const yoga = createYoga<Record<string, never>, Context>({
    schema,
    context: () => ({ deps }),
    graphiql: options.graphiql
      ? { title: 'bookgraph', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_EXAMPLE }
      : false,
    logging: {
      debug: (...args) => log.debug(args.length === 1 ? args[0] : args),
      info: (...args) => log.info(args.length === 1 ? args[0] : args),
      warn: (...args) => log.warn(args.length === 1 ? args[0] : args),
      error: (...args) => log.error(args.length === 1 ? args[0] : args),
    },
    plugins: usePlugins({ deps, log, executionStats: options.executionStats }),
  });

  const server = createServer(yoga);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: 64 * 1024 });
  const wsServer = useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
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
        return errors.length > 0 ? errors : args;
      },
    },
    wss,
  );

  return {
    yoga,
    server,
    start(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      });
    },
    async stop() {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await wsServer.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const socket of sockets) socket.destroy();
      await closed;
      await yoga.dispose();
    },
  };
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
