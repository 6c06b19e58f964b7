import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type Authenticator, authenticationError } from '../../auth/authenticator.ts';
import type { Logger } from '../../log.ts';
import type { EdgeLimits } from './limits.ts';
import { type QuotaBook, type QuotaRefusal, quotaSubject } from './quotas.ts';
import type { GatedRequests } from './use-body-bound.ts';

export interface HttpGateOptions {
  limits: EdgeLimits;
  auth: Authenticator;
  quotas: QuotaBook;
  log: Logger;
  /** The paths that run GraphQL (the endpoint and the single-connection SSE endpoint). */
  paths: readonly string[];
  /** Requests whose body the gate read within `maxBodyBytes` (use-body-bound.ts skips them). */
  gated: GatedRequests;
}

function refuse(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code, ...extra.extensions } }] });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...extra.headers,
  });
  res.end(body);
}

function refuseQuota(res: ServerResponse, refusal: QuotaRefusal): void {
  refuse(res, 429, 'RATE_LIMITED', `Quota exceeded (${refusal.quota}); retry later.`, {
    headers: { 'retry-after': String(refusal.retryAfterSeconds) },
    extensions: { quota: refusal.quota, retryAfterSeconds: refusal.retryAfterSeconds },
  });
}

/** Reads at most `max` bytes of the body; null (and the request drained away) when it is longer. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.resume();
        resolve(null);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

/**
 * Whether Yoga may answer `url` as GraphQL: it does for the endpoint with a trailing slash, and
 * for any URL ending with the endpoint (`/x/graphql`, even `/?a=/graphql`; its unhandled-route
 * check), so the gate covers all of those, not the exact path alone.
 */
export function servesGraphQL(url: string, paths: readonly string[]): boolean {
  const path = url.split('?')[0] ?? '/';
  return paths.some((p) => path === p || path === `${p}/` || url.endsWith(p) || url.endsWith(`${p}/`));
}

const JSON_TYPE = /^application\/(?:graphql-response\+)?json\s*(?:;|$)/i;

/**
 * What every HTTP request to GraphQL passes before Yoga sees it, cheapest check first: the
 * declared body size, the content type (JSON only: form and multipart posts are refused, so a
 * cross-site form cannot run a mutation), the key (refused before the body is read), the
 * request rate and open SSE streams of the key (or address), then the body, read up to its bound.
 */
export function httpGate(handler: RequestListener, options: HttpGateOptions): RequestListener {
  const { limits, auth, quotas } = options;
  return (req, res) => {
    if (!servesGraphQL(req.url ?? '/', options.paths) || req.method === 'OPTIONS') {
      handler(req, res);
      return;
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const declared = Number(req.headers['content-length'] ?? 0);
    if (hasBody && declared > limits.maxBodyBytes) {
      res.setHeader('connection', 'close');
      refuse(res, 413, 'LIMIT_EXCEEDED', 'The request body is too large.', {
        extensions: { limit: 'body_bytes' },
      });
      req.resume();
      return;
    }
    const type = req.headers['content-type'];
    if (req.method === 'POST' && !(type && JSON_TYPE.test(type))) {
      refuse(res, 415, 'BAD_REQUEST', 'Send GraphQL requests as JSON (content-type: application/json).');
      req.resume();
      return;
    }
    void (async () => {
      const state = await auth.forHeader(req.headers.authorization ?? null);
      const denial = authenticationError(state, hasBody);
      if (denial) {
        refuse(res, denial.status, denial.code, denial.message, {
          ...(denial.status === 503 ? { headers: { 'retry-after': '1' } } : {}),
        });
        req.resume();
        return;
      }
      const subject = quotaSubject(state, req.socket.remoteAddress);
      const refusal = quotas.request(subject);
      if (refusal) {
        refuseQuota(res, refusal);
        req.resume();
        return;
      }
      if (req.headers.accept?.includes('text/event-stream')) {
        const stream = quotas.sseStream(subject);
        if (typeof stream !== 'function') {
          refuseQuota(res, stream);
          req.resume();
          return;
        }
        res.once('close', stream);
      }
      auth.rememberRequest(req, state);
      if (hasBody) {
        const body = await readBody(req, limits.maxBodyBytes);
        if (body === null) {
          res.setHeader('connection', 'close');
          refuse(res, 413, 'LIMIT_EXCEEDED', 'The request body is too large.', {
            extensions: { limit: 'body_bytes' },
          });
          return;
        }
        // Read already: Yoga's Node adapter takes a request's `body` as it is.
        if (body.length > 0) (req as IncomingMessage & { body?: Buffer }).body = body;
        options.gated.add(req);
      }
      handler(req, res);
    })().catch((err: unknown) => {
      options.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'request refused at the edge',
      );
      if (!res.headersSent)
        refuse(res, 503, 'UNAVAILABLE', 'The request cannot be served right now; retry shortly.');
    });
  };
}
