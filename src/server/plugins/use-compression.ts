import type { Plugin } from 'graphql-yoga';

/** Whole answers worth compressing: GraphQL results, the GraphiQL page (9 MB plain), /metrics. */
const COMPRESSIBLE = /^(application\/(graphql-response\+)?json|text\/html|text\/plain)\b/;

/** The coding the client accepts that we send: gzip, else deflate; none for `q=0` or absent. */
export function chooseEncoding(acceptEncoding: string | null): 'gzip' | 'deflate' | undefined {
  if (!acceptEncoding) return undefined;
  const accepted = new Map(
    (acceptEncoding ?? '').split(',').map((part) => {
      const [name = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return [name, q === undefined ? 1 : Number(q)] as const;
    }),
  );
  const wants = (coding: string) => (accepted.get(coding) ?? accepted.get('*') ?? 0) > 0;
  if (wants('gzip')) return 'gzip';
  if (wants('deflate')) return 'deflate';
  return undefined;
}

/**
 * Compresses whole responses (`accept-encoding: gzip` or `deflate`), never a stream: SSE and
 * multipart responses are sent as they are produced, and their transport's buffered bytes are what
 * the slow-subscriber bound measures. Request bodies are not decompressed (no zip bombs).
 */
export function useCompression(): Plugin {
  return {
    onResponse({ request, response, setResponse }) {
      // The coding first: `response.body` of a finished answer builds a stream over it.
      const encoding = chooseEncoding(request.headers.get('accept-encoding'));
      if (!encoding) return;
      const type = response.headers.get('content-type') ?? '';
      if (!response.body || response.headers.has('content-encoding') || !COMPRESSIBLE.test(type)) return;
      const headers = new Headers(response.headers);
      headers.set('content-encoding', encoding);
      headers.append('vary', 'accept-encoding');
      headers.delete('content-length');
      setResponse(
        new Response(response.body.pipeThrough(new CompressionStream(encoding)), {
          status: response.status,
          statusText: response.statusText,
          headers,
        }),
      );
    },
  };
}
