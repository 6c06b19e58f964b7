import type { Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** How long the primary waits for one worker's metrics before its last answer stands in. */
const WORKER_METRICS_TIMEOUT_MS = 5_000;

/** What the primary needs of its workers to sum their metrics. */
export interface MetricsSources {
  serving(): Worker[];
  ask(worker: Worker, what: 'metrics', timeoutMs: number): Promise<unknown>;
}

/**
 * `/metrics` of `serve --workers N`: every worker's registry summed by prom-client's
 * AggregatorRegistry (counters and histograms added; gauges added unless the metric names another
 * aggregator, as `bookgraph_redis_connected` does with `min`), plus the primary's own metrics.
 *
 * Sums never go down when a worker exits: its counters and histograms as last seen stay in them
 * (a restarted worker counts from zero again, and Prometheus would read the drop as a reset).
 * What a worker counted after its last scrape dies with it.
 */
export class ClusterMetrics {
  readonly registry = new Registry();

  readonly workers = new Gauge({
    name: 'bookgraph_workers',
    help: 'Worker processes of serve --workers N serving now',
    registers: [this.registry],
    collect: () => {
      this.workers.set(this.sources.serving().length);
    },
  });

  readonly restarts = new Counter({
    name: 'bookgraph_worker_restarts_total',
    help: 'Workers forked again after exiting unexpectedly (crash, kill)',
    registers: [this.registry],
  });

  private readonly lastSeen = new Map<number, MetricsJson>();
  private retired: MetricsJson = [];
  private retiring: Promise<void> = Promise.resolve();

  constructor(private readonly sources: MetricsSources) {}

  get contentType() {
    return this.registry.contentType;
  }

  /** The Prometheus text of the sum over the workers serving now (and those retired). */
  async metrics(): Promise<string> {
    await Promise.all(
      this.sources.serving().map(async (worker) => {
        try {
          const json = await this.sources.ask(worker, 'metrics', WORKER_METRICS_TIMEOUT_MS);
          this.lastSeen.set(worker.id, json as MetricsJson);
        } catch {
          // Busy or exiting: its last answer stands in, so no sum goes down for a scrape.
        }
      }),
    );
    await this.retiring;
    const own = await this.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([...this.lastSeen.values(), this.retired, own]).metrics();
  }

  /** A worker exited: its counters and histograms as last seen join the retired sums. */
  retire(workerId: number): void {
    const last = this.lastSeen.get(workerId);
    this.lastSeen.delete(workerId);
    if (!last) return;
    // `type` is 'counter', 'gauge', … at run time (prom-client's typings declare a numeric enum).
    const monotonic = last.filter((m) => ['counter', 'histogram'].includes(String(m.type)));
    this.retiring = this.retiring.then(async () => {
      this.retired = await AggregatorRegistry.aggregate([this.retired, monotonic]).getMetricsAsJSON();
    });
  }
}
