import { Repeater } from '@repeaterjs/repeater';
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { AuthState } from '../../auth/access.ts';
import type { ClosableSocket, ConnectionGuard } from '../../auth/connection-guard.ts';
import { PushSink } from '../../pubsub/push-sink.ts';
import { apiError, ErrorCode } from '../../resolvers/errors.ts';
import { type QuotaBook, quotaSubject, rateLimited } from './quotas.ts';
import { streamTokenOf } from './sse-reservations.ts';

/** What a subscription's context tells of its caller and its connection, on any transport. */
interface StreamContext {
  auth?: AuthState;
  /** graphql-ws: the socket; its connection is guarded (4403) as a whole. */
  socket?: object;
  /** HTTP (Yoga's SSE, and graphql-sse through the Node adapter): the Node request. */
  req?: { socket?: { remoteAddress?: string } };
  /** graphql-ws: the upgrade request. */
  extra?: { request?: { socket?: { remoteAddress?: string } } };
  request?: Request;
  /** graphql-sse (single connection): the caller's address. */
  remoteAddress?: string;
}

const ids = new WeakMap<object, string>();
let nextId = 0;
function idOf(object: object): string {
  let id = ids.get(object);
  if (!id) {
    nextId += 1;
    id = `c${nextId}`;
    ids.set(object, id);
  }
  return id;
}

/** The connection several subscriptions share: a graphql-ws socket or a single-connection SSE stream. */
function connectionOf(ctx: StreamContext): string | undefined {
  if (ctx.socket) return idOf(ctx.socket);
  const token = ctx.request ? streamTokenOf(ctx.request) : null;
  return token ? `sse:${token}` : undefined;
}

function addressOf(ctx: StreamContext): string | undefined {
  return ctx.remoteAddress ?? ctx.req?.socket?.remoteAddress ?? ctx.extra?.request?.socket?.remoteAddress;
}

/** The last event of a stream whose key was withdrawn: an error naming why. */
function withdrawn(reason: string): ExecutionResult {
  const why = /expired/.test(reason) ? 'expired' : 'revoked';
  return {
    errors: [
      apiError(ErrorCode.Unauthenticated, `The API key was ${why}; the stream has ended.`, { reason: why }),
    ],
  };
}

/**
 * Passes `source` on until it ends, or until `end` is called: then `final` is sent and the stream
 * completes. `onEnd` runs once, however it ended.
 */
function endable<T>(
  source: AsyncIterable<T>,
  onEnd: () => void,
): { stream: Repeater<T>; end(final: T): void } {
  let ending: T | undefined;
  let endNow: ((final: T) => void) | undefined;
  const stream = new Repeater<T>(async (push, stop) => {
    const it = source[Symbol.asyncIterator]();
    endNow = (final) => {
      void push(final);
      stop();
    };
    if (ending !== undefined) endNow(ending);
    let stopped = false;
    const stopping = stop.then(() => {
      stopped = true;
      return undefined;
    });
    try {
      while (!stopped) {
        const next = await Promise.race([it.next(), stopping]);
        if (!next || next.done) break;
        await push(next.value);
      }
      stop();
    } catch (error) {
      stop(error);
    } finally {
      void it.return?.();
      onEnd();
    }
  });
  return {
    stream,
    end(final) {
      if (endNow) endNow(final);
      else ending = final;
    },
  };
}

/**
 * Every subscription, on every transport: counted against its key's (or address's) quotas, per
 * key and per connection (refused with `RATE_LIMITED` past them), and ended with an error event
 * when its key is revoked or expires. graphql-ws sockets are closed whole (4403) by the guard.
 */
export function useStreamGuard(quotas: QuotaBook, guard: ConnectionGuard): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const ctx = (args.contextValue ?? {}) as StreamContext;
      const release = quotas.subscription(quotaSubject(ctx.auth, addressOf(ctx)), connectionOf(ctx));
      if (typeof release !== 'function') {
        setResultAndStopExecution({ errors: [rateLimited(release)] } as never);
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) {
            release();
            return;
          }
          // A graphql-ws socket is closed whole on revocation: a push-path sink needs no wrapper
          // (each is a Repeater and its promises, per open subscription), only its release.
          if (ctx.socket && result instanceof PushSink) {
            result.whenEnded(release);
            return;
          }
          const principal = ctx.socket ? null : ctx.auth?.principal;
          const watched: ClosableSocket = { close: (_code, reason) => guardedStream.end(withdrawn(reason)) };
          const guardedStream = endable(result as AsyncIterable<ExecutionResult>, () => {
            release();
            if (principal) guard.release(watched, principal.clientId);
          });
          if (principal) void guard.admit(watched, principal);
          setResult(guardedStream.stream as never);
        },
        onSubscribeError() {
          release();
        },
      };
    },
  };
}
