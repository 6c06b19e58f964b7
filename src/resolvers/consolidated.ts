import type { Repeater } from '@repeaterjs/repeater';
import { z } from 'zod';
import { type ConsolidatedTop, consolidate, type VenueBook } from '../marketdata/consolidation.ts';
import { type Liquidity, liquidity } from '../marketdata/liquidity.ts';
import { SIM_VENUE_IDS } from '../marketdata/simulator.ts';
import type { ViewLease } from '../pubsub/book-hub.ts';
import { consolidatedStream } from '../pubsub/consolidated-stream.ts';
import type { ResolverDeps } from './deps.ts';
import { apiError, ErrorCode } from './errors.ts';
import {
  depthSchema,
  isStale,
  parseArgs,
  schemaPerLimits,
  staleAfterMs,
  throttleMsSchema,
} from './orderbook.ts';

/** One symbol across venues, as of one instant: what every consolidated answer is computed from. */
export interface ConsolidatedState {
  symbol: string;
  region: string;
  depth: number;
  /** Venues with a book, by exchange id; full depth (analytics need more than the top). */
  venues: VenueBook[];
  /** Venues listing the symbol with no book to serve yet (never written, or resynchronising). */
  unavailable: string[];
  top: ConsolidatedTop;
  /** Computed on first use: a query that does not ask for it does not pay for it. */
  liquidity: () => Liquidity;
}

export interface ConsolidatedArgs {
  symbol: string;
  depth: number;
  exchanges?: readonly string[] | null;
}

/** The venues (of `exchanges`, or all of every region) that list the symbol; MARKET_NOT_FOUND if none. */
async function venuesOf(
  deps: ResolverDeps,
  symbol: string,
  exchanges?: readonly string[] | null,
): Promise<string[]> {
  const { copies } = deps.hub;
  const candidates =
    exchanges && exchanges.length > 0 ? [...new Set(exchanges)].sort() : await copies.readExchanges();
  const listed = await Promise.all(
    candidates.map(async (x) => ((await copies.readMarket(x, symbol)) ? x : undefined)),
  );
  const venues = separateSimulated(
    deps,
    listed.filter((x): x is string => x !== undefined),
    Boolean(exchanges && exchanges.length > 0),
  );
  if (venues.length === 0) {
    throw apiError(ErrorCode.MarketNotFound, `No venue lists ${symbol} in region ${deps.region}.`, {
      symbol,
    });
  }
  return venues;
}

/**
 * Simulated venues (sim1-sim3) are never merged with real ones unless MIX_SIMULATED_VENUES is on:
 * a symbol real venues list is consolidated over those only; naming both kinds is refused.
 */
function separateSimulated(deps: ResolverDeps, venues: string[], named: boolean): string[] {
  if (deps.limits.mixSimulatedVenues) return venues;
  const real = venues.filter((x) => !SIM_VENUE_IDS.includes(x));
  if (real.length === 0 || real.length === venues.length) return venues;
  if (named) {
    throw apiError(
      ErrorCode.BadUserInput,
      `exchanges: simulated venues (${venues.filter((x) => SIM_VENUE_IDS.includes(x)).join(', ')}) are not consolidated with real ones (${real.join(', ')}); ask for one kind.`,
      { issues: [{ argument: 'exchanges', message: 'simulated and real venues together' }] },
    );
  }
  return real;
}

export function stateOf(
  deps: ResolverDeps,
  symbol: string,
  depth: number,
  venues: VenueBook[],
  unavailable: string[],
): ConsolidatedState {
  let memo: Liquidity | undefined;
  return {
    symbol,
    region: deps.region,
    depth,
    venues,
    unavailable,
    top: consolidate(venues, depth),
    liquidity: () => {
      memo ??= liquidity(venues);
      return memo;
    },
  };
}

const ALL = Number.MAX_SAFE_INTEGER;

/** A venue's whole book from its live replica, else from Redis (the chosen copy); undefined if it has none. */
async function venueBook(
  deps: ResolverDeps,
  exchange: string,
  symbol: string,
): Promise<VenueBook | undefined> {
  const replica = deps.hub.liveReplica(exchange, symbol);
  if (replica) {
    const top = replica.book.top(ALL);
    return {
      exchange,
      region: replica.region,
      epoch: replica.epoch,
      seq: replica.seq,
      exchangeTs: replica.exchangeTs,
      receiveTs: replica.receiveTs,
      stale: isStale(deps, replica.receiveTs, true, exchange, symbol),
      bids: top.bids,
      asks: top.asks,
    };
  }
  const region = await deps.hub.regionFor(exchange, symbol);
  const stored = await deps.hub.copies.store(region).readBook(exchange, symbol, 0);
  if (!stored) return undefined;
  return {
    exchange,
    region,
    epoch: stored.epoch,
    seq: stored.seq,
    exchangeTs: stored.exchangeTs,
    receiveTs: stored.receiveTs,
    stale: isStale(deps, stored.receiveTs, true, exchange, symbol),
    bids: stored.bids,
    asks: stored.asks,
  };
}

const consolidatedArgs = schemaPerLimits((deps) =>
  z.object({
    symbol: z.string(),
    depth: depthSchema(deps),
    exchanges: z.array(z.string()).nullish(),
    throttleMs: throttleMsSchema(deps).optional(),
  }),
);

function args(deps: ResolverDeps, raw: ConsolidatedArgs & { throttleMs?: number }) {
  return parseArgs(consolidatedArgs(deps), raw);
}

/** The consolidated top `depth` of a symbol across venues, with venue attribution per level. */
export async function consolidatedBook(
  deps: ResolverDeps,
  raw: ConsolidatedArgs,
): Promise<ConsolidatedState> {
  const { symbol, depth, exchanges } = args(deps, raw);
  const venues = await venuesOf(deps, symbol, exchanges);
  const books = await Promise.all(venues.map((x) => venueBook(deps, x, symbol)));
  const present = books.filter((b): b is VenueBook => b !== undefined);
  const unavailable = venues.filter((_, i) => books[i] === undefined);
  return stateOf(deps, symbol, depth, present, unavailable);
}

/** Liquidity analytics of a symbol per venue and consolidated. */
export async function symbolLiquidity(
  deps: ResolverDeps,
  raw: { symbol: string; exchanges?: readonly string[] | null },
): Promise<ConsolidatedState> {
  return consolidatedBook(deps, { ...raw, depth: 1 });
}

/**
 * The consolidated book, at most once per `throttleMs`, from the replicas of every venue (each
 * acquired as a subscription to that venue's book would). Sent again when a venue turns stale.
 */
export async function consolidatedBookStream(
  deps: ResolverDeps,
  raw: ConsolidatedArgs & { throttleMs: number },
): Promise<Repeater<ConsolidatedState>> {
  const { symbol, depth, exchanges, throttleMs } = args(deps, raw);
  const venues = await venuesOf(deps, symbol, exchanges);
  const leases: ViewLease[] = [];
  try {
    for (const x of venues) leases.push(await deps.hub.acquire(x, symbol, depth));
  } catch (error) {
    for (const lease of leases) lease.release();
    throw error;
  }
  const metrics = deps.metrics;
  metrics?.subscriptionsActive.inc({ field: 'consolidatedBook' });
  return consolidatedStream(leases, {
    throttleMs: throttleMs ?? deps.limits.minThrottleMs,
    now: deps.now,
    staleAfterMs: (exchange) => staleAfterMs(deps, exchange, symbol),
    build: (books, unavailable) =>
      stateOf(
        deps,
        symbol,
        depth,
        books.map((b) => ({ ...b, stale: isStale(deps, b.receiveTs, true, b.exchange, symbol) })),
        unavailable,
      ),
    onEnd: () => metrics?.subscriptionsActive.dec({ field: 'consolidatedBook' }),
  });
}
