import { type IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionArgs, type ExecutionResult, getOperationAST } from 'graphql';
import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from 'graphql-sse';
import { createHandler, type RequestContext } from 'graphql-sse/lib/use/fetch';
import type { Plugin } from 'graphql-yoga';
import type { SseReservations } from '../edge/sse-reservations.ts';

/** Where single-connection SSE is served, next to the GraphQL endpoint. */
export const SSE_STREAM_ENDPOINT = '/graphql/stream';

type Handler = (request: Request, context: RequestContext) => Promise<Response>;

/** The stream token a request names (graphql-sse: its header, else the `token` query parameter). */
function streamToken(headers: { get(key: string): string | null | undefined }, url: string): string | null {
  return headers.get(TOKEN_HEADER_KEY) ?? new URL(url, 'http://localhost/').searchParams.get(TOKEN_QUERY_KEY);
}

/**
 * GraphQL over SSE in "single connection mode" (graphql-sse's protocol): a client reserves one
 * stream at `/graphql/stream` (PUT), listens on it (GET) and sends each operation with the stream
 * token (POST), so many subscriptions share one HTTP connection — what browsers limited to six
 * connections per host need. "Distinct connections mode" (one `text/event-stream` response per
 * operation on `/graphql`) is Yoga's own and needs nothing here. Operations run through Yoga's
 * envelop (the same plugins as every other transport).
 *
 * Each operation's context gets the Node response of its stream's GET (`res`, as Yoga's own SSE
 * responses have), so a stalled reader is cut by the same bound as other transports (see
 * `socketTransport` in app.ts): cutting it ends every operation of that stream, as closing a
 * WebSocket does.
 *
 * Not `@graphql-yoga/plugin-graphql-sse`: it hands graphql-sse an error result as `{ errors }`
 * without `data`, which graphql-sse does not recognise as a result, so a validation error or a
 * subscription refused with MARKET_NOT_FOUND became a bare 400 "Unable to detect operation AST".
 */
export function useSingleConnectionSse(
  reservations: (dispose: (request: Request) => void) => SseReservations,
): Plugin {
  let handler: Handler | undefined;
  let streams: SseReservations | undefined;
  const addresses = new WeakMap<Request, string>();
  /** The response each open stream is written to, by token (the stall guard watches it). */
  const responses = new Map<string, ServerResponse>();
  return {
    onYogaInit({ yoga }) {
      const fetchAPI = yoga.fetchAPI;
      const dispose = (request: Request) => {
        handler?.(request, fetchAPI).catch(() => {});
      };
      const owned = reservations(dispose);
      streams = owned;
      handler = createHandler({
        authenticate: (request) => owned.authenticate(request.raw),
        async onSubscribe(request, params) {
          const remoteAddress = addresses.get(request.raw);
          const token = streamToken(request.headers, request.url);
          const res = token ? responses.get(token) : undefined;
          const enveloped = yoga.getEnveloped({
            request: request.raw,
            params,
            remoteAddress,
            ...(res ? { res } : {}),
          });
          const document = enveloped.parse(params.query);
          const errors = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return { data: null, errors };
          const args: ExecutionArgs = {
            schema: enveloped.schema,
            document,
            contextValue: await enveloped.contextFactory(),
            variableValues: params.variables,
            operationName: params.operationName,
          };
          const operation = getOperationAST(document, params.operationName)?.operation;
          const result = (await (operation === 'subscription' ? enveloped.subscribe : enveloped.execute)(
            args,
          )) as ExecutionResult | AsyncIterable<ExecutionResult>;
          return Symbol.asyncIterator in result ? result : { data: null, ...result };
        },
      });
    },
    onRequest({ request, url, endResponse, fetchAPI, serverContext }) {
      if (!handler || !streams || url.pathname !== SSE_STREAM_ENDPOINT) return;
      const res = (serverContext as { res?: unknown } | undefined)?.res;
      const token = streamToken(request.headers, request.url);
      if (request.method === 'GET' && token && res instanceof ServerResponse) {
        responses.set(token, res);
        res.once('close', () => {
          if (responses.get(token) === res) responses.delete(token);
        });
      }
      const { Response, ReadableStream, TextEncoder } = fetchAPI;
      const prepared = streams.prepare(request);
      // The caller's address, for the quotas of callers without a key.
      const address = (serverContext as { req?: IncomingMessage } | undefined)?.req?.socket.remoteAddress;
      if (address) addresses.set(prepared, address);
      return handler(prepared, { Response, ReadableStream, TextEncoder }).then(endResponse);
    },
  };
}
