import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalDecimal, divideDecimal, isZeroDecimal } from '../../src/marketdata/decimal.ts';
import type { FakeMarketSpec } from './fake-market.ts';
import type { RestAnswer } from './venue-server.ts';

/** OKX v5's trade answers and order records as the fake OKX sends them (fake-okx-orders.ts). */

export type OkxState = 'live' | 'partially_filled' | 'filled' | 'canceled';

export interface FakeOkxOrder {
  instId: string;
  unified: string;
  ordId: string;
  clOrdId: string;
  side: 'buy' | 'sell';
  ordType: 'limit' | 'market' | 'post_only' | 'ioc' | 'fok';
  px: string;
  sz: string;
  accFillSz: string;
  cumQuote: string;
  state: OkxState;
  cTime: number;
  uTime: number;
  locked: string;
  /** The last execution: `fillSz`/`fillPx`/`tradeId`/`execType` of the venue's answers. */
  last: { sz: string; px: string; tradeId: string; maker: boolean; time: number } | null;
}

export const failure = (status: number, code: string, msg: string): RestAnswer => ({
  status,
  body: { code, msg, data: [] },
});

/** One item of a trade answer: `sCode` "0" when it was done, else OKX's code and words. */
export interface TradeItem {
  clOrdId: string;
  ordId: string;
  sCode: string;
  sMsg: string;
  tag?: string;
  ts: string;
}

export const itemFailure = (clOrdId: string, sCode: string, sMsg: string): TradeItem => ({
  clOrdId,
  ordId: '',
  sCode,
  sMsg,
  tag: '',
  ts: String(Date.now()),
});

/** OKX's answer to a trade request: `code` "0" all done, "1" all failed, "2" some failed. */
export function tradeAnswer(items: TradeItem[]): RestAnswer {
  const failed = items.filter((i) => i.sCode !== '0').length;
  const code = failed === 0 ? '0' : failed === items.length ? '1' : '2';
  const msg =
    code === '0' ? '' : code === '1' ? 'All operations failed' : 'Bulk operation partially succeeded';
  const now = String(Date.now() * 1000);
  return { status: 200, body: { code, msg, data: items, inTime: now, outTime: now } };
}

export const sign = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(payload).digest('base64');

export function sameSignature(given: string | undefined, expected: string): boolean {
  return (
    given !== undefined &&
    given.length === expected.length &&
    timingSafeEqual(Buffer.from(given), Buffer.from(expected))
  );
}

/** An order as `GET /api/v5/trade/order` and the `orders` channel list it (OKX v5). */
export function orderJson(o: FakeOkxOrder) {
  const [base, quote] = o.unified.split('/') as [string, string];
  return {
    accFillSz: o.accFillSz,
    algoClOrdId: '',
    algoId: '',
    attachAlgoClOrdId: '',
    attachAlgoOrds: [],
    avgPx: isZeroDecimal(o.accFillSz) ? '' : canonicalDecimal(divideDecimal(o.cumQuote, o.accFillSz, 12)),
    cTime: String(o.cTime),
    cancelSource: o.state === 'canceled' ? '1' : '',
    category: 'normal',
    ccy: '',
    clOrdId: o.clOrdId,
    fee: '0',
    feeCcy: o.side === 'buy' ? base : quote,
    fillPx: o.last?.px ?? '',
    fillSz: o.last?.sz ?? '0',
    fillTime: o.last ? String(o.last.time) : '',
    instId: o.instId,
    instType: 'SPOT',
    isTpLimit: 'false',
    lever: '',
    linkedAlgoOrd: { algoId: '' },
    ordId: o.ordId,
    ordType: o.ordType,
    pnl: '0',
    posSide: 'net',
    px: o.ordType === 'market' ? '' : o.px,
    pxType: '',
    pxUsd: '',
    pxVol: '',
    quickMgnType: '',
    rebate: '0',
    rebateCcy: o.side === 'buy' ? quote : base,
    reduceOnly: 'false',
    side: o.side,
    slOrdPx: '',
    slTriggerPx: '',
    slTriggerPxType: '',
    source: '',
    state: o.state,
    stpId: '',
    stpMode: 'cancel_maker',
    sz: o.sz,
    tag: '',
    tdMode: 'cash',
    tgtCcy: '',
    tpOrdPx: '',
    tpTriggerPx: '',
    tpTriggerPxType: '',
    tradeId: o.last?.tradeId ?? '',
    uTime: String(o.uTime),
  };
}

/** `GET /api/v5/asset/currencies`: one chain per coin of the markets. */
export function currencies(markets: readonly FakeMarketSpec[]) {
  const coins = [...new Set(markets.flatMap((m) => m.symbol.split('/')))];
  return coins.map((ccy) => ({
    canDep: true,
    canInternal: true,
    canWd: true,
    ccy,
    chain: `${ccy}-${ccy}`,
    depQuotaFixed: '',
    depQuoteDailyLayer2: '',
    fee: '0.0001',
    logoLink: '',
    mainNet: true,
    maxFee: '0.0002',
    maxFeeForCtAddr: '',
    maxWd: '1000000',
    minDep: '0.00000001',
    minDepArrivalConfirm: '1',
    minFee: '0.0001',
    minFeeForCtAddr: '',
    minWd: '0.001',
    minWdUnlockConfirm: '2',
    name: ccy,
    needTag: false,
    usedDepQuotaFixed: '',
    usedWdQuota: '0',
    wdQuota: '10000000',
    wdTickSz: '8',
  }));
}
