import type { IncomingHttpHeaders } from 'node:http';
import {
  type Attributes,
  type Context,
  context,
  type Link,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type SpanKind,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  type Sampler,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';

/** Root spans of the ingest write path start with this; they are sampled at their own ratio. */
export const INGEST_SPAN_PREFIX = 'ingest ';

export interface TracingOptions {
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces` as JSON. */
  endpoint: string;
  serviceName: string;
  /** Share of GraphQL operations traced when the caller sent no `traceparent` (0..1). */
  sampleRatio: number;
  /** Share of ingest writes traced (0..1). */
  ingestSampleRatio: number;
  /** How long one export to the collector may take before it is given up. @default 10 s */
  exportTimeoutMs?: number;
  /** More resource attributes (region, …). */
  attributes?: Attributes;
}

/** Request headers as fetch's `Headers` or Node's `IncomingHttpHeaders`. */
export type HeaderCarrier = Pick<Headers, 'get'> | IncomingHttpHeaders;

const headerGetter: TextMapGetter<HeaderCarrier> = {
  keys: (carrier) => ('get' in carrier && typeof carrier.get === 'function' ? [] : Object.keys(carrier)),
  get: (carrier, key) => {
    if ('get' in carrier && typeof carrier.get === 'function') return carrier.get(key) ?? undefined;
    return (carrier as IncomingHttpHeaders)[key];
  },
};

/** Ingest spans at `ingest`, everything else at `operations`; both decided on the trace id. */
class ByRootSampler implements Sampler {
  constructor(
    private readonly operations: Sampler,
    private readonly ingest: Sampler,
  ) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const sampler = name.startsWith(INGEST_SPAN_PREFIX) ? this.ingest : this.operations;
    return sampler.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `ByRootSampler{operations=${this.operations}, ingest=${this.ingest}}`;
  }
}

let contextManagerInstalled = false;

/**
 * The process-wide context manager (AsyncLocalStorage), so a span started for a GraphQL operation
 * is the parent of the Redis calls its resolvers make and its trace id reaches log lines. The
 * tracer provider is deliberately not global: each runtime owns its own and shuts it down.
 */
function installContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * OpenTelemetry tracing of one process: a tracer exporting over OTLP/HTTP (JSON) in batches, or a
 * no-op one when tracing is off. Sampling is parent-based: a caller's sampled `traceparent` is
 * always followed; otherwise GraphQL operations are sampled at `sampleRatio` and ingest writes at
 * `ingestSampleRatio`.
 */
export class Tracing {
  private static readonly propagator = new W3CTraceContextPropagator();

  readonly tracer: Tracer;

  private constructor(private readonly provider: NodeTracerProvider | undefined) {
    this.tracer = provider
      ? provider.getTracer('bookgraph')
      : new ProxyTracerProvider().getTracer('bookgraph-noop');
  }

  /** Tracing switched off: spans are no-ops and nothing is exported. */
  static off(): Tracing {
    return new Tracing(undefined);
  }

  static start(options: TracingOptions): Tracing {
    installContextManager();
    const exporter = new OTLPTraceExporter({
      url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces`,
      timeoutMillis: options.exportTimeoutMs ?? 10_000,
    });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ ...options.attributes, 'service.name': options.serviceName }),
      sampler: new ParentBasedSampler({
        root: new ByRootSampler(
          new TraceIdRatioBasedSampler(options.sampleRatio),
          new TraceIdRatioBasedSampler(options.ingestSampleRatio),
        ),
      }),
      spanProcessors: [
        new BatchSpanProcessor(exporter, { exportTimeoutMillis: options.exportTimeoutMs ?? 30_000 }),
      ],
    });
    return new Tracing(provider);
  }

  get enabled(): boolean {
    return this.provider !== undefined;
  }

  /** The context a request's W3C `traceparent`/`tracestate` headers continue, or the root context. */
  extract(headers: HeaderCarrier | undefined): Context {
    if (!headers || !this.provider) return ROOT_CONTEXT;
    return Tracing.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
  }

  /** Exports every finished span now. */
  async flush(): Promise<void> {
    await this.provider?.forceFlush();
  }

  /** Flushes the exporter and stops it; spans ended afterwards are dropped. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }
}
