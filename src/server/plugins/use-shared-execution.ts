import {
  createSourceEventStream,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  print,
} from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import { PushSink } from '../../pubsub/push-sink.ts';

export interface SharedExecutionStats {
  /** Subscription events executed. */
  executed: number;
  /** Subscription events answered with a result another subscriber's execution produced. */
  shared: number;
}

const documentKeys = new WeakMap<DocumentNode, string>();

/** What a subscription's events are executed per: operation name, variables, document. */
export function operationKey(args: ExecutionArgs): string {
  let doc = documentKeys.get(args.document);
  if (doc === undefined) {
    doc = print(args.document);
    documentKeys.set(args.document, doc);
  }
  return `${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${doc}`;
}

/**
 * Executes each subscription event once per distinct (document, variables, operation) instead of
 * once per subscriber. Subscribers of one shared book view receive the same event object, so the
 * result computed for the first is handed to the others: fan-out costs a lookup, not an execution.
 * This holds because subscription fields resolve from the event and process-wide state only; a
 * field that reads per-client context must not be reached from a shared event.
 */
export function useSharedExecution(stats: SharedExecutionStats = { executed: 0, shared: 0 }): Plugin {
  const results = new WeakMap<object, Map<string, ExecutionResult | Promise<ExecutionResult>>>();
  const subscribe = async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    // The push path executes and writes its events itself (src/server/push-frames.ts).
    if (source instanceof PushSink) return source;
    const key = operationKey(args);
    return mapAsyncIterator(source as AsyncIterableIterator<unknown>, (event) => {
      if (typeof event !== 'object' || event === null) {
        stats.executed += 1;
        return execute({ ...args, rootValue: event });
      }
      let byOperation = results.get(event);
      if (!byOperation) {
        byOperation = new Map();
        results.set(event, byOperation);
      }
      const cached = byOperation.get(key);
      if (cached) {
        stats.shared += 1;
        return cached;
      }
      stats.executed += 1;
      const result = execute({ ...args, rootValue: event });
      byOperation.set(key, result);
      return result;
    });
  };
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as Parameters<typeof setSubscribeFn>[0]);
    },
  };
}
