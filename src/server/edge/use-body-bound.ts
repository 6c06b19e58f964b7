import type { ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { limitExceeded } from './documents.ts';

/** Node requests whose body the HTTP gate has read already, bounded by `maxBodyBytes`. */
export type GatedRequests = WeakSet<object>;

const tooLarge = () => limitExceeded('body_bytes', 'The request body is too large.', 413);

/**
 * The whole body of `request`, refused as soon as it passes `max` bytes. The rest is left unread:
 * ending the iteration early would destroy the Node request, and with it the socket before the
 * 413 is written; `closeAfter` makes that connection end after its answer instead.
 */
async function readBounded(
  request: Request,
  max: number,
  closeAfter: () => void,
): Promise<Buffer<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const body = request.body as unknown as AsyncIterable<Uint8Array>;
  const iterator = body[Symbol.asyncIterator]();
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    size += next.value.byteLength;
    if (size > max) {
      closeAfter();
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks) as Buffer<ArrayBuffer>;
}

/**
 * The request body bound, in place of Yoga's own (`maxRequestBodySize`, off in Edge.yogaOptions):
 * Yoga pipes every body through a TransformStream, and the end of that stream pipeline builds an
 * `AbortController` abort with a `DOMException` (stack trace included) on every request: ~6 % of
 * the server's CPU in bench/queries.ts. A body the HTTP gate read (src/server/edge/http-gate.ts)
 * is bounded already and passes as it is; any other (`yoga.fetch`, Yoga mounted in another
 * server) is read here up to the same `maxBodyBytes`.
 */
export function useBodyBound(maxBytes: number, gated: GatedRequests): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, serverContext, fetchAPI }) {
      const { req, res } = (serverContext ?? {}) as { req?: object; res?: ServerResponse };
      if ((req && gated.has(req)) || request.body == null || requestParser == null) return;
      const closeAfter = () => {
        if (res && !res.headersSent) res.setHeader('connection', 'close');
      };
      const declared = request.headers.get('content-length');
      if (declared !== null && Number(declared) > maxBytes) {
        closeAfter();
        throw tooLarge();
      }
      const parse = requestParser;
      setRequestParser(async (original) => {
        const body = await readBounded(original, maxBytes, closeAfter);
        return parse(
          new fetchAPI.Request(original.url, {
            method: original.method,
            headers: original.headers,
            signal: original.signal,
            body,
          }),
        );
      });
    },
  };
}
