import { type DocumentNode, Lexer, Source, TokenKind } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Metrics } from '../../observability/metrics.ts';
import { ErrorCode } from '../../resolvers/errors.ts';
import type { EdgeLimits } from './limits.ts';

/** What a refused request is told: its own code, the limit's name, never its value. */
export function limitExceeded(limit: string, message: string, status = 400) {
  return createGraphQLError(message, {
    extensions: { code: ErrorCode.LimitExceeded, limit, http: { status } },
  });
}

/** Tokens of `text`, counting no further than `max + 1`; a lexing error stops the count (parse reports it). */
export function countTokens(text: string, max: number): number {
  const lexer = new Lexer(new Source(text));
  let n = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF && n <= max) n += 1;
  } catch {
    // Not ours to report: the parser says what is wrong with the document.
  }
  return n;
}

/**
 * Document size and tokens, measured before anything parses or caches the document, on every
 * transport (all of them parse through Yoga's envelop). A refused document is never cached.
 */
export function useDocumentLimits(limits: EdgeLimits, metrics: Metrics): Plugin {
  const refuse = (limit: string, message: string) => {
    metrics.armorRejections.inc({ protection: limit });
    return limitExceeded(limit, message);
  };
  return {
    onParse({ params }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      if (text.length > limits.maxDocumentBytes || Buffer.byteLength(text) > limits.maxDocumentBytes) {
        throw refuse('document_bytes', 'The document is too large.');
      }
      if (countTokens(text, limits.maxDocumentTokens) > limits.maxDocumentTokens) {
        throw refuse('max_tokens', 'The document has too many tokens.');
      }
    },
  };
}

/** The memory a parsed document holds, estimated: its text plus its tokens and nodes (kept by `loc`). */
function documentWeight(text: string, document: DocumentNode): number {
  let tokens = 0;
  for (let t = document.loc?.startToken ?? null; t; t = t.next) tokens += 1;
  return text.length * 2 + tokens * 400;
}

/**
 * Yoga's parse cache, bounded by estimated bytes as well as entries (its default holds 1,024
 * documents of any size). Least recently used first out.
 */
export class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode; weight: number }>();
  private used = 0;

  constructor(readonly maxBytes: number) {}

  /** Estimated bytes held (tests, metrics). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(text: string): DocumentNode | undefined {
    const entry = this.entries.get(text);
    if (!entry) return undefined;
    this.entries.delete(text);
    this.entries.set(text, entry);
    return entry.document;
  }

  set(text: string, document: DocumentNode): void {
    const weight = documentWeight(text, document);
    if (weight > this.maxBytes) return;
    const old = this.entries.get(text);
    if (old) {
      this.entries.delete(text);
      this.used -= old.weight;
    }
    this.entries.set(text, { document, weight });
    this.used += weight;
    for (const [key, entry] of this.entries) {
      if (this.used <= this.maxBytes) break;
      this.entries.delete(key);
      this.used -= entry.weight;
    }
  }
}

/** Parse errors are not cached: a flood of distinct bad documents would fill any cache of them. */
export const NO_ERROR_CACHE = { get: (_text: string): undefined => undefined, set: () => {} };
