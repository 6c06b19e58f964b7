import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from './app.ts';
import { listen } from './listen.ts';
import { unreadyReasons } from './readiness.ts';

/** Where `/metrics` comes from: a process's Metrics, or the sum over `serve --workers N`'s workers. */
export interface MetricsSource {
  registry: Pick<Registry, 'metrics' | 'contentType'>;
}

export interface OpsServer {
  server: Server;
  start(port: number, host: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * `/health`, `/ready` and `/metrics` for a process without the GraphQL server (`bookgraph ingest`),
 * so ingesters are probed and scraped like servers; beside it (`OPS_PORT`); and for the primary of
 * `serve --workers N`. `notes` adds lines to a ready answer (a hot standby says so there: it is
 * ready, yet writes nothing; the primary counts its serving workers).
 */
export function createOpsServer(
  metrics: MetricsSource,
  readiness: readonly ReadinessCheck[],
  notes: () => readonly string[] = () => [],
): OpsServer {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/ready') {
      unreadyReasons(readiness).then((reasons) => {
        if (reasons.length === 0)
          res.writeHead(200, { 'content-type': 'text/plain' }).end(['ready', ...notes(), ''].join('\n'));
        else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready:\n${reasons.join('\n')}\n`);
      });
    } else if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  return {
    server,
    start(port, host) {
      return listen(server, port, host);
    },
    stop() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
