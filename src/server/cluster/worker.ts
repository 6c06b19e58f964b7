import cluster from 'node:cluster';
import type { Metrics } from '../../observability/metrics.ts';
import type { App } from '../app.ts';
import { answer, isClusterMessage, Questions, type Send } from './messages.ts';

/** Set in the environment of the workers the `serve --workers N` primary forks. */
export const WORKER_MARK = 'BOOKGRAPH_WORKER';

/**
 * Every response and WebSocket handshake of a worker names it: its node:cluster id (a restarted
 * worker gets a new one), the id its log lines and the primary's lines about it carry.
 */
export function workerHeaders(): Record<string, string> {
  return { 'x-bookgraph-worker': String(cluster.worker?.id ?? 0) };
}

/**
 * Whether this process is a worker of `serve --workers N`: a node:cluster worker forked by
 * bookgraph's primary, not one of another supervisor's (pm2's cluster mode runs apps as workers).
 */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_MARK] === '1';
}

/** How long the API port's `/metrics` waits for the primary's sum over the workers. */
const CLUSTER_METRICS_TIMEOUT_MS = 10_000;

/**
 * Joins the primary: answers its questions (this worker's readiness and metrics), serves the
 * cluster's summed metrics on this worker's `/metrics`, and tells the primary it serves on `port`.
 */
export function joinPrimary({ app, metrics, port }: { app: App; metrics: Metrics; port: number }): void {
  const send: Send = (message) => {
    if (!process.connected || !process.send) return false;
    process.send(message);
    return true;
  };
  const questions = new Questions();
  process.on('message', (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.bookgraph === 'answer') questions.settle(message);
    else if (message.bookgraph === 'ask') {
      answer(send, message.id, () =>
        message.what === 'ready' ? app.unready() : metrics.registry.getMetricsAsJSON(),
      );
    }
  });
  // Whichever worker a scrape lands on answers for all of them. Only the text exposition is the
  // cluster's: the JSON the primary sums is still this worker's own (getMetricsAsJSON).
  metrics.registry.metrics = async () =>
    String(await questions.ask(send, 'cluster-metrics', CLUSTER_METRICS_TIMEOUT_MS));
  send({ bookgraph: 'started', port });
}
