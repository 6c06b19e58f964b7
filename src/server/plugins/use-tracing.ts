import type { IncomingHttpHeaders } from 'node:http';
import { context, createContextKey, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ExecutionArgs, ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { HeaderCarrier, Tracing } from '../../observability/tracing.ts';
import { errorCode, rootField } from './use-metrics.ts';

const OPERATION_SPAN = createContextKey('bookgraph.graphql.operation');

/** What the transports put on the initial context: a fetch Request (HTTP, SSE), a Node request (WebSocket). */
interface TransportContext {
  request?: { headers?: Pick<Headers, 'get'> };
  req?: { headers?: IncomingHttpHeaders };
}

function headersOf(initial: TransportContext): HeaderCarrier | undefined {
  return initial.request?.headers ?? initial.req?.headers;
}

function operationSpan(): Span | undefined {
  return context.active().getValue(OPERATION_SPAN) as Span | undefined;
}

function name(span: Span, args: ExecutionArgs): void {
  const { type, field } = rootField(args);
  span.updateName(`${type} ${field}`);
  span.setAttributes({ 'graphql.operation.type': type, 'bookgraph.graphql.root_field': field });
  const requestId = (args.contextValue as { requestId?: unknown } | undefined)?.requestId;
  if (typeof requestId === 'string') span.setAttribute('bookgraph.request_id', requestId);
}

function recordErrors(span: Span, result: ExecutionResult): void {
  if (!result.errors?.length) return;
  const codes = [...new Set(result.errors.map(errorCode))].sort();
  span.setAttribute('bookgraph.graphql.error_codes', codes);
  // Client errors (bad input, not found, refused) are answers, not failures of the server.
  if (codes.includes('INTERNAL')) span.setStatus({ code: SpanStatusCode.ERROR, message: 'INTERNAL' });
}

/**
 * One span per GraphQL operation, on every transport: `<type> <root field>` (e.g. `query orderBook`,
 * `subscription orderBookUpdates`), a child of the caller's W3C `traceparent` when it sent one
 * (HTTP and SSE request headers, the WebSocket upgrade request's headers). A query or mutation's
 * span covers its execution; a subscription's covers its set-up (not the stream). Attributes are
 * bounded: operation type, root field (a schema name or "other"), the error codes returned, the
 * request id. The whole phase, plugin hooks included, runs inside the span's context, so Redis
 * calls become child spans and log lines carry its trace id.
 */
export function useTracing(tracing: Tracing): Plugin {
  if (!tracing.enabled) return {};
  const around =
    (phase: string) =>
    (
      { context: initial }: { context: TransportContext },
      wrapped: () => Promise<void> | void,
    ): Promise<void> | undefined => {
      const parent = tracing.extract(headersOf(initial));
      const span = tracing.tracer.startSpan(`graphql ${phase}`, { kind: SpanKind.SERVER }, parent);
      const active = trace.setSpan(parent, span).setValue(OPERATION_SPAN, span);
      const fail = (error: unknown): never => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'INTERNAL' });
        span.end();
        throw error;
      };
      let done: Promise<void> | void;
      try {
        done = context.with(active, wrapped);
      } catch (error) {
        return fail(error);
      }
      if (done instanceof Promise) {
        return done.then(() => {
          span.end();
        }, fail);
      }
      span.end();
      return undefined;
    };
  return {
    instrumentation: {
      execute: around('execute'),
      subscribe: around('subscribe'),
    },
    onExecute({ args }) {
      const span = operationSpan();
      if (!span) return;
      name(span, args);
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) recordErrors(span, result);
        },
      };
    },
    onSubscribe({ args }) {
      const span = operationSpan();
      if (!span) return;
      name(span, args);
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) recordErrors(span, result);
        },
      };
    },
  };
}
