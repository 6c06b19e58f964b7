import { type ExecutionArgs, type ExecutionResult, execute, type GraphQLError } from 'graphql';
import { isPromise } from 'graphql-yoga';
import type { Logger } from '../log.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { BookUpdate } from '../pubsub/depth-view.ts';
import { PushConnection, type PushSocket } from '../pubsub/push-connection.ts';
import type { PushTarget } from '../pubsub/push-sink.ts';
import type { BackpressureLimits } from '../pubsub/slow-subscriber.ts';
import { operationKey, type SharedExecutionStats } from './plugins/use-shared-execution.ts';

export interface PushFramesOptions {
  limits?: BackpressureLimits;
  metrics?: Metrics;
  stats?: SharedExecutionStats;
  log: Logger;
  now: () => number;
  /** Yoga's error masking (mask-errors.ts), applied to each event's result as Yoga does. */
  maskError: (error: unknown) => GraphQLError;
}

const DEFAULT_LIMITS: BackpressureLimits = { maxBufferedBytes: 1024 * 1024, disconnectAfterMs: 10_000 };

/**
 * The push path's seam with graphql-ws (issue 15). graphql-ws runs a subscription as
 * `for await (const result of subscribe(args)) await socket.send(stringifyMessage(next))`: one
 * async chain, one stringify and one socket write per message per subscriber. Its hooks offer no
 * way to hand it bytes, and the server code is not meant to be patched, so the push path keeps
 * graphql-ws for what it owns (the handshake, `onSubscribe` as the gate, ids, duplicate ids,
 * `complete` from the client, errors before the stream starts, the socket's close) and replaces
 * only the per-message part: `onSubscribe` (app.ts) puts a PushTarget for (socket, id, operation)
 * in the context; the book resolvers, given one, return a PushSink, an async iterator that yields
 * nothing and ends when the subscription does (so graphql-ws's loop costs one pending promise per
 * subscription, not one per message), and the sink writes the frames this class renders.
 *
 * A frame is the graphql-ws `next` message: `{"id":<id>,"type":"next","payload":<result>}`, the
 * result being what the shared execution (use-shared-execution.ts) would hand graphql-ws for the
 * event, masked as Yoga masks it, serialised once per (event, operation) and reused by every
 * subscriber of that operation, whatever its id.
 */
export class PushFrames {
  private readonly payloads = new WeakMap<object, Map<string, string>>();
  private readonly connections = new WeakMap<PushSocket, PushConnection>();
  private readonly stats: SharedExecutionStats;

  constructor(private readonly options: PushFramesOptions) {
    this.stats = options.stats ?? { executed: 0, shared: 0 };
  }

  /** The target of graphql-ws subscription `id` on `socket`, running `args` per event. */
  target(socket: PushSocket, id: string, args: ExecutionArgs): PushTarget {
    return new FrameTarget(
      this,
      this.connection(socket),
      `{"id":${JSON.stringify(id)},"type":"next","payload":`,
      '}',
      args,
    );
  }

  /**
   * The target of an SSE subscription (distinct connections mode: one `text/event-stream`
   * response per operation, see push-sse.ts), running `args` per event. Its frame is the SSE
   * event Yoga writes for a result: `event: next`, then the result as one `data:` line.
   */
  sseTarget(stream: PushSocket, args: ExecutionArgs): PushTarget {
    return new FrameTarget(this, this.connection(stream), 'event: next\ndata: ', '\n\n', args);
  }

  /** The serialised `payload` of `args`' result for `event`: executed once per (event, operation). */
  payload(event: BookUpdate, key: string, args: ExecutionArgs): string {
    let byOperation = this.payloads.get(event);
    if (!byOperation) {
      byOperation = new Map();
      this.payloads.set(event, byOperation);
    }
    const cached = byOperation.get(key);
    if (cached !== undefined) {
      this.stats.shared += 1;
      return cached;
    }
    this.stats.executed += 1;
    const payload = this.serialise(execute({ ...args, rootValue: event }));
    byOperation.set(key, payload);
    return payload;
  }

  private serialise(result: ReturnType<typeof execute>): string {
    // Book fields resolve synchronously from the event; a field that does not cannot be pushed.
    const settled: ExecutionResult = isPromise(result)
      ? { data: null, errors: [this.options.maskError(new Error('asynchronous field on the push path'))] }
      : result;
    const { errors, ...rest } = settled;
    if (!errors) return JSON.stringify(rest);
    // As graphql-ws builds a `next` payload: the result without errors, then the masked errors.
    return JSON.stringify({ ...rest, errors: errors.map((error) => this.options.maskError(error)) });
  }

  private connection(socket: PushSocket): PushConnection {
    let connection = this.connections.get(socket);
    if (!connection) {
      const metrics = this.options.metrics;
      connection = new PushConnection(socket, {
        limits: this.options.limits ?? DEFAULT_LIMITS,
        now: this.options.now,
        onSlowDisconnect: metrics && (() => metrics.slowSubscriberDisconnects.inc()),
        onFlush:
          metrics &&
          ((sent) => {
            for (const [type, count] of sent) metrics.messagesSent.inc({ type }, count);
          }),
      });
      this.connections.set(socket, connection);
    }
    return connection;
  }
}

/** One subscription's frames: the shared payload between the transport's prefix and suffix. */
class FrameTarget implements PushTarget {
  private readonly key: string;
  claimed = false;

  constructor(
    private readonly frames: PushFrames,
    readonly connection: PushConnection,
    private readonly prefix: string,
    private readonly suffix: string,
    private readonly args: ExecutionArgs,
  ) {
    this.key = operationKey(args);
  }

  claim(): void {
    this.claimed = true;
  }

  frame(update: BookUpdate): string {
    return `${this.prefix}${this.frames.payload(update, this.key, this.args)}${this.suffix}`;
  }
}
