import { z } from 'zod';
import { emptyAsUndefined, list } from '../config-env.ts';
import { SIM_VENUE_IDS } from './simulator.ts';

/** A unified ccxt symbol: `BASE/QUOTE`, or `BASE/QUOTE:SETTLE` for a derivative. */
export const SYMBOL_RE = /^[A-Z0-9]+\/[A-Z0-9]+(?::[A-Z0-9]+)?$/;

/**
 * One item of FEEDS: `sim` (every simulated venue), `sim:<venue>` (one of them), `ccxt:<exchange
 * id>` (a real venue through ccxt, following SYMBOLS) or `ccxt:<exchange id>:<symbol>|<symbol>…`
 * (following its own symbols).
 */
export interface FeedSpec {
  /** `sim`, `sim:<venue>` or `ccxt:<exchange id>`: the feed without its symbol list. */
  name: string;
  /** The feed's own symbols (a ccxt feed given a list); undefined = SYMBOLS. */
  symbols?: readonly string[];
}

const FEED_RE = /^(sim|sim:[a-z0-9]+|ccxt:[a-z0-9]+)$/;
const KNOWN_FEEDS = 'known feeds: sim, sim:<venue>, ccxt:<exchange id>[:<symbol>|<symbol>…]';

function symbolList(exchange: string, text: string, ctx: z.RefinementCtx): string[] {
  const symbols = text.split('|').map((s) => s.trim());
  const where = `ccxt:${exchange}`;
  if (symbols.every((s) => s === '')) {
    ctx.addIssue({ code: 'custom', message: `${where}: empty symbol list (drop the ":" to follow SYMBOLS)` });
    return [];
  }
  const seen = new Set<string>();
  for (const symbol of symbols) {
    if (!SYMBOL_RE.test(symbol)) {
      const hint = symbol !== '' && SYMBOL_RE.test(symbol.toUpperCase()) ? ` (${symbol.toUpperCase()}?)` : '';
      ctx.addIssue({
        code: 'custom',
        message: `${where}: "${symbol}" is not a unified symbol BASE/QUOTE${hint}; symbols are separated by "|"`,
      });
    } else if (seen.has(symbol)) {
      ctx.addIssue({ code: 'custom', message: `${where}: ${symbol} is listed twice` });
    }
    seen.add(symbol);
  }
  return [...seen];
}

const feedItem = z.string().transform((item, ctx): FeedSpec => {
  const listed = /^ccxt:([a-z0-9]+):(.*)$/.exec(item);
  if (listed) {
    const [, exchange, text] = listed as unknown as [string, string, string];
    return { name: `ccxt:${exchange}`, symbols: symbolList(exchange, text, ctx) };
  }
  if (!FEED_RE.test(item)) {
    const message = /^sim(:[a-z0-9]+)?:./.test(item)
      ? `"${item}": a symbol list is for ccxt feeds only (simulated venues list their own markets)`
      : KNOWN_FEEDS;
    ctx.addIssue({ code: 'custom', message });
    return { name: item };
  }
  const venue = /^sim:(.+)$/.exec(item)?.[1];
  if (venue !== undefined && !SIM_VENUE_IDS.includes(venue)) {
    ctx.addIssue({
      code: 'custom',
      message: `unknown simulated venue "${venue}"; known: ${SIM_VENUE_IDS.join(', ')}`,
    });
  }
  return { name: item };
});

/**
 * The FEEDS variable: a comma list of feeds (default `sim`), e.g.
 * `ccxt:binance:BTC/USDT|ETH/USDT,ccxt:okx:BTC/USDT,sim:sim1`. Each problem is reported with the
 * item's index; a ccxt exchange named twice is one (two feeds of one venue would write the same
 * books: give one entry with all its symbols).
 */
export const feedsVariable = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .default('sim')
    .transform(list)
    .pipe(
      z
        .array(feedItem)
        .min(1)
        .superRefine((feeds, ctx) => {
          const seen = new Set<string>();
          feeds.forEach((feed, index) => {
            if (!feed.name.startsWith('ccxt:')) return;
            if (seen.has(feed.name)) {
              ctx.addIssue({
                code: 'custom',
                path: [index],
                message: `${feed.name} is named twice: give one entry with all its symbols (${feed.name}:A/B|C/D)`,
              });
            }
            seen.add(feed.name);
          });
        }),
    ),
);

/** The symbol lists the ccxt feeds were given, by exchange id (feeds without one follow SYMBOLS). */
export function feedSymbolLists(feeds: readonly FeedSpec[]): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const feed of feeds) {
    const exchange = /^ccxt:(.+)$/.exec(feed.name)?.[1];
    if (exchange && feed.symbols) out[exchange] = feed.symbols;
  }
  return out;
}
