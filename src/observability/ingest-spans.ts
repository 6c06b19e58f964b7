import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { INGEST_SPAN_PREFIX } from './tracing.ts';

/**
 * Runs one ingest write inside a root span when the ingest sampler picks it
 * (INGEST_TRACE_SAMPLE_RATIO), so its Redis script call becomes a child span; unsampled writes,
 * and every write without a tracer, run as they are.
 */
export function tracedWrite<T>(
  tracer: Tracer | undefined,
  write: string,
  exchange: string,
  symbol: string,
  call: () => Promise<T>,
): Promise<T> {
  if (!tracer) return call();
  const span = tracer.startSpan(
    `${INGEST_SPAN_PREFIX}${write}`,
    { kind: SpanKind.PRODUCER, attributes: { 'bookgraph.exchange': exchange, 'bookgraph.symbol': symbol } },
    ROOT_CONTEXT,
  );
  if (!span.isRecording()) return call();
  return context.with(trace.setSpan(ROOT_CONTEXT, span), call).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : 'failed',
      });
      span.end();
      throw error;
    },
  );
}
