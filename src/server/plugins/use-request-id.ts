import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../../log.ts';
import { RateLimitedLog } from '../../observability/rate-limited-log.ts';
import { redisErrorKind } from '../../redis/command-error.ts';
import { isRedisUnavailable } from '../../redis/unavailable.ts';

const REQUEST_ID_RE = /^[\w.:-]{1,64}$/;

/** The request's id: the caller's `x-request-id` when it is sane, else a new UUID. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && REQUEST_ID_RE.test(given) ? given : randomUUID();
}

/**
 * Every HTTP request gets an id, echoed in the `x-request-id` response header and put on the
 * context; unexpected (masked) errors are logged with it, so a client's report finds the log line.
 */
export function useRequestId(log: Logger): Plugin<{ requestId?: string }> {
  const ids = new WeakMap<Request, string>();
  // Every query fails alike during a Redis outage (UNAVAILABLE): one line per kind per second.
  const outageLog = new RateLimitedLog(log);
  const idFor = (request: Request) => {
    let id = ids.get(request);
    if (!id) {
      id = requestIdOf(request);
      ids.set(request, id);
    }
    return id;
  };
  return {
    onContextBuilding({ context, extendContext }) {
      if (context.request) extendContext({ requestId: idFor(context.request) });
    },
    onExecute({ args }) {
      return {
        onExecuteDone({ result }) {
          if (!('errors' in result) || !result.errors) return;
          const requestId = (args.contextValue as { requestId?: string }).requestId;
          for (const error of result.errors) {
            if (!error.originalError || 'extensions' in error.originalError) continue;
            const fields = { err: error.originalError, requestId, path: error.path };
            if (isRedisUnavailable(error.originalError)) {
              outageLog.warn(
                `unavailable:${redisErrorKind(error.originalError)}`,
                fields,
                'redis unavailable',
              );
            } else log.error(fields, 'unexpected error');
          }
        },
      };
    },
    onResponse({ request, response }) {
      response.headers.set('x-request-id', idFor(request));
    },
  };
}
