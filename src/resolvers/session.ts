import { z } from 'zod';
import { type AuthState, requireScope } from '../auth/access.ts';
import { isZeroDecimal } from '../marketdata/decimal.ts';
import { available, unrealisedPnl } from '../trading/accounting.ts';
import { sessionNotFoundMessage } from '../trading/failures.ts';
import type { Trading } from '../trading/trading.ts';
import type { Outcome } from '../trading/trading-service.ts';
import type { Fill, Position, Session } from '../trading/types.ts';
import type { ResolverDeps } from './deps.ts';
import { apiError, ErrorCode } from './errors.ts';
import { orderBook, parseArgs } from './orderbook.ts';
import { mid } from './quote.ts';

/** What trading resolvers need: the process's deps, the caller, the trading service. */
export interface TradingCall {
  deps: ResolverDeps;
  auth: AuthState;
  trading: Trading;
}

export function sessionNotFoundError(sessionId: string) {
  return apiError(ErrorCode.SessionNotFound, sessionNotFoundMessage(sessionId), { sessionId });
}

const BalancesSchema = z
  .array(
    z.object({
      asset: z.string().regex(/^[A-Z0-9]{1,16}$/, 'must be 1-16 of A-Z 0-9'),
      amount: z
        .string()
        .max(40, 'must have at most 40 characters')
        .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal such as "1000"'),
    }),
  )
  .min(1, 'must name at least one asset')
  .max(64, 'must name at most 64 assets')
  .refine((list) => new Set(list.map((b) => b.asset)).size === list.length, 'must name each asset once');

const OpenSessionSchema = z.object({ balances: BalancesSchema });

export async function openSession(
  call: TradingCall,
  args: { balances: readonly { asset: string; amount: string }[] },
): Promise<Session> {
  const principal = requireScope(call.auth, 'trade');
  const { balances } = parseArgs(OpenSessionSchema, args);
  return call.trading.service.openSession(
    principal.clientId,
    new Map(balances.map((b) => [b.asset, b.amount])),
  );
}

export async function closeSession(call: TradingCall, args: { id: string }): Promise<Outcome<Session>> {
  const principal = requireScope(call.auth, 'trade');
  return call.trading.service.closeSession(principal.clientId, args.id);
}

/** The caller's session, or SESSION_NOT_FOUND — the same answer for another client's session. */
export async function session(call: TradingCall, args: { id: string }): Promise<Session> {
  const principal = requireScope(call.auth, 'trade');
  const found = await call.trading.service.session(principal.clientId, args.id);
  if (!found) throw sessionNotFoundError(args.id);
  return found;
}

export async function sessions(call: TradingCall, args: { first: number }): Promise<Session[]> {
  const principal = requireScope(call.auth, 'trade');
  const { first } = parseArgs(z.object({ first: z.number().int().min(1).max(100) }), args);
  const ids = await call.trading.service.store.sessionIds(principal.clientId, first);
  const found = await Promise.all(
    ids.map((id) => call.trading.service.store.readSession(principal.clientId, id)),
  );
  return found.filter((s): s is Session => s !== null);
}

export interface BalanceView {
  asset: string;
  initial: string;
  total: string;
  locked: string;
  available: string;
}

export function balances(s: Session): BalanceView[] {
  const assets = new Set([...s.initialBalances.keys(), ...s.totals.keys()]);
  return [...assets].sort().map((asset) => ({
    asset,
    initial: s.initialBalances.get(asset) ?? '0',
    total: s.totals.get(asset) ?? '0',
    locked: s.locked.get(asset) ?? '0',
    available: available(s, asset),
  }));
}

export interface PositionView extends Position {
  /** Live mid of the market, or null when its book is unavailable. */
  markPrice: string | null;
  unrealisedPnl: string | null;
}

/** The live mid of a market: the replica when one is warm, else the stored book; null if neither. */
export async function markPrice(
  deps: ResolverDeps,
  exchange: string,
  symbol: string,
): Promise<string | null> {
  try {
    const book = await orderBook(deps, { exchange, symbol, depth: 1 });
    return mid(book.bids[0], book.asks[0]);
  } catch {
    return null;
  }
}

/** Positions per market, marked to the live mid. */
export async function positions(deps: ResolverDeps, s: Session): Promise<PositionView[]> {
  const list = [...s.positions.values()].sort((a, b) =>
    `${a.exchange}|${a.symbol}`.localeCompare(`${b.exchange}|${b.symbol}`),
  );
  return Promise.all(
    list.map(async (p) => {
      const mark = isZeroDecimal(p.quantity) ? null : await markPrice(deps, p.exchange, p.symbol);
      return {
        ...p,
        markPrice: mark,
        unrealisedPnl: isZeroDecimal(p.quantity) ? '0' : mark === null ? null : unrealisedPnl(p, mark),
      };
    }),
  );
}

export async function fills(call: TradingCall, s: Session, args: { first: number }): Promise<Fill[]> {
  const { first } = parseArgs(z.object({ first: z.number().int().min(1).max(1_000) }), args);
  return call.trading.service.store.readFills(s.clientId, s.id, first);
}
