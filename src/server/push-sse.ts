import { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import { type FetchAPI, isAsyncIterable, type Plugin, processRegularResult } from 'graphql-yoga';
import type { PushSocket } from '../pubsub/push-connection.ts';
import type { PushTarget } from '../pubsub/push-sink.ts';
import type { Context } from '../schema/builder.ts';
import type { PushFrames } from './push-frames.ts';

/** As Yoga's SSE responses: a comment line every 12 s keeps proxies from closing a quiet stream. */
const PING_MS = 12_000;
const PING = ':\n\n';
const OPEN = 1;
const CLOSED = 3;

/**
 * The push path for SSE in distinct connections mode (one `text/event-stream` response per
 * operation on the GraphQL endpoint; see push-frames.ts for graphql-ws). Yoga's SSE response
 * pulls each event from the subscription's async iterator; here the book's frames are written
 * by the view into the response body directly, serialised once per (event, operation), and the
 * iterator only carries what is not a book message (the error event of a revoked key) and the
 * end. Single-connection SSE (graphql-sse, `/graphql/stream`) keeps the iterator path: its
 * events carry the operation's id inside the JSON and share one response among operations.
 *
 * The body is a Node stream this module owns: frames, pings and the final events go through it
 * in order. Its unread bytes plus the response's unsent ones are the stream's `bufferedAmount`,
 * which the push connection's slow-subscriber bound watches as it watches a WebSocket's; a stream
 * cut for being slow is destroyed, as on the iterator path (SSE has no close code).
 */
export class SsePushStream implements PushSocket {
  readonly body: Readable;
  private state = OPEN;
  private readonly closeListeners: (() => void)[] = [];

  constructor(private readonly res: ServerResponse) {
    this.body = new Readable({
      read() {},
      destroy: (error, callback) => {
        this.dispose();
        callback(error);
      },
    });
    res.once('close', () => this.dispose());
  }

  get readyState(): number {
    return this.state;
  }

  get bufferedAmount(): number {
    return this.body.readableLength + this.res.writableLength;
  }

  send(data: string): void {
    if (this.state === OPEN) this.body.push(data);
  }

  close(): void {
    this.res.destroy();
    this.dispose();
  }

  once(_event: 'close', listener: () => void): void {
    if (this.state === CLOSED) listener();
    else this.closeListeners.push(listener);
  }

  /**
   * The response for `result`, the operation's iterator: a ping first (some clients wait for a
   * first byte), the iterator's own results as `next` events, `complete` when it ends.
   */
  respond(result: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI): Response {
    const iterator = result[Symbol.asyncIterator]();
    this.body.push(PING);
    const ping = setInterval(() => {
      if (this.bufferedAmount === 0) this.send(PING);
    }, PING_MS);
    ping.unref();
    this.once('close', () => {
      clearInterval(ping);
      void iterator.return?.();
    });
    const run = async () => {
      for (;;) {
        const { value, done } = await iterator.next();
        if (value != null) {
          // Serialised as Yoga serialises a result (its internal extensions left out); rare here.
          const text = await (await processRegularResult(value, fetchAPI, 'application/json')).text();
          this.send(`event: next\ndata: ${text}\n\n`);
        }
        if (done) break;
      }
      this.send('event: complete\ndata:\n\n');
    };
    run().then(
      () => this.end(),
      () => this.body.destroy(),
    );
    return new fetchAPI.Response(this.body as never, {
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream',
        Connection: 'keep-alive',
        'Cache-Control': 'no-cache',
        'Content-Encoding': 'none',
      },
    });
  }

  private end(): void {
    if (this.state !== OPEN) return;
    this.body.push(null);
    this.dispose();
  }

  private dispose(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}

/** Whether Yoga answers `request`'s subscription as SSE: it accepts `text/event-stream` (or a wildcard of it). */
export function acceptsEventStream(request: Request): boolean {
  const accept = request.headers.get('accept') || '*/*';
  return accept
    .replace(/\s/g, '')
    .toLowerCase()
    .split(',')
    .some((part) => {
      const [type = '', ...params] = part.split(';');
      const charset = params.find((p) => p.startsWith('charset='));
      if (charset && charset !== 'charset=utf-8') return false;
      return type === '*/*' || type === 'text/*' || type === 'text/event-stream';
    });
}

/**
 * Puts an SSE push target in the context of each subscription Yoga will answer as a
 * `text/event-stream` of its own (on the GraphQL endpoint, with the Node response at hand), and answers
 * with the push stream when the resolver took it (book subscriptions); other subscriptions keep
 * Yoga's own SSE response.
 */
export function useSsePush(frames: PushFrames): Plugin {
  const streams = new WeakMap<Request, { stream: SsePushStream; target: PushTarget }>();
  let endpoint = '/graphql';
  return {
    onYogaInit({ yoga }) {
      endpoint = yoga.graphqlEndpoint;
    },
    onSubscribe({ args }) {
      const ctx = args.contextValue as unknown as Context & { request?: Request; res?: unknown };
      const { request, res } = ctx;
      if (!request || !(res instanceof ServerResponse)) return;
      if (new URL(request.url, 'http://localhost').pathname !== endpoint || !acceptsEventStream(request))
        return;
      const stream = new SsePushStream(res);
      const target = frames.sseTarget(stream, args);
      ctx.push = target;
      streams.set(request, { stream, target });
    },
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      const pushed = streams.get(request);
      if (!pushed?.target.claimed) return;
      streams.delete(request);
      // Yoga picked its SSE processor (the target exists only where the request accepts SSE,
      // and SSE is the only answer Yoga has for a subscription's stream): this one replaces it.
      if (!isAsyncIterable(result) || !resultProcessor) return;
      setResultProcessor(
        (iterable, fetchAPI) => pushed.stream.respond(iterable as AsyncIterable<ExecutionResult>, fetchAPI),
        'text/event-stream',
      );
    },
  };
}
