/**
 * The dashboard keeps up (issue 13): one headless Chromium page showing sim1 BTC/USDT while the
 * simulator moves every book RATE times a second, measured with the browser's own performance
 * metrics (CDP `Performance.getMetrics`): main-thread busy share (TaskDuration over wall time),
 * JS heap after a forced GC sampled over the run, frames rendered, book updates applied and
 * books dropped by the page. A baseline at 5 updates/s runs first in the same process. At the
 * end the feed is stopped and the ladder must equal `Query.orderBook` at the same seq: no state
 * dropped.
 *
 *   npm run bench:dashboard -- --duration=600 --baseline=120 --rate=50 --sample=30
 */
import { cpus, loadavg } from 'node:os';
import type { CDPSession, Page } from 'playwright-core';
import { createBookgraphClient, OrderBookDocument } from '../sdk/src/index.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startRuntime } from '../src/runtime.ts';
import { launchBrowser } from '../test/helpers/browser.ts';
import { shownLadder } from '../test/helpers/dashboard-page.ts';
import { cpuModel, flag, fmt, median, sleep, startPrivateRedis, table } from './lib.ts';

const DURATION_S = flag('duration', 600);
const BASELINE_S = flag('baseline', 120);
const RATE = flag('rate', 50);
const SAMPLE_S = flag('sample', 30);

/** Main-thread work (script, style, layout) and all renderer tasks, at the end and start of an interval. */
interface Sample {
  /** performance.now() at the first read, and after the GC and the last read. */
  readAt: number;
  doneAt: number;
  t: number;
  end: { main: number; tasks: number };
  start: { main: number; tasks: number };
  heapMb: number;
  updates: number;
  frames: number;
}

const busy = (m: Record<string, number>) => ({
  main: (m.ScriptDuration ?? 0) + (m.RecalcStyleDuration ?? 0) + (m.LayoutDuration ?? 0),
  tasks: m.TaskDuration ?? 0,
});

interface PageStats {
  updates: number;
  frames: number;
  resets: Record<string, number>;
}

async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

const pageStats = (page: Page) =>
  page.evaluate(() => {
    const d = (
      window as unknown as {
        bookgraphDashboard: {
          stats: { updates: number; resets: Record<string, number> };
          frames: { frames: number };
        };
      }
    ).bookgraphDashboard;
    return { updates: d.stats.updates, resets: { ...d.stats.resets }, frames: d.frames.frames } as PageStats;
  });

async function run(rate: number, seconds: number) {
  const redis = await startPrivateRedis();
  const config = loadConfig({ REDIS_URL: redis.url, PORT: '0', SIM_UPDATES_PER_SEC: String(rate) });
  const runtime = await startRuntime({
    config,
    log: createLogger('silent'),
    ingest: true,
    serve: true,
    launchRedis: false,
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    const origin = `http://127.0.0.1:${runtime.port}`;
    await page.goto(`${origin}/dashboard#exchange=sim1&symbol=BTC%2FUSDT&depth=20`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 120_000 });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    await sleep(5_000); // warm up: first books, history queries, chart layout
    const samples: Sample[] = [];
    // The forced GC and the reads fall between intervals: `end` before them, `start` after.
    const take = async (t0: number) => {
      const readAt = performance.now();
      const t = (readAt - t0) / 1000;
      const end = busy(await metrics(cdp));
      const s = await pageStats(page);
      await cdp.send('HeapProfiler.collectGarbage');
      const after = await metrics(cdp);
      samples.push({
        readAt,
        doneAt: performance.now(),
        t,
        end,
        start: busy(after),
        heapMb: (after.JSHeapUsedSize ?? 0) / 2 ** 20,
        updates: s.updates,
        frames: s.frames,
      });
    };
    const t0 = performance.now();
    await take(t0);
    while ((performance.now() - t0) / 1000 < seconds) {
      await sleep(Math.min(SAMPLE_S * 1000, seconds * 1000 - (performance.now() - t0)));
      await take(t0);
    }
    const stats = await pageStats(page);
    // No dropped state: stop the feed, then the page must show what the server holds.
    await runtime.ingester?.stop();
    const client = createBookgraphClient({ url: `${origin}/graphql` });
    const { orderBook } = await client.query(OrderBookDocument, {
      exchange: 'sim1',
      symbol: 'BTC/USDT',
      depth: 20,
    });
    let shown = await shownLadder(page);
    for (
      const until = Date.now() + 30_000;
      shown.seq !== orderBook.seq && Date.now() < until;
      await sleep(200)
    ) {
      shown = await shownLadder(page);
    }
    await client.dispose();
    const equal =
      shown.seq === orderBook.seq &&
      JSON.stringify(shown.bids) === JSON.stringify(orderBook.bids) &&
      JSON.stringify(shown.asks) === JSON.stringify(orderBook.asks);
    return { samples, stats, equal, seq: orderBook.seq };
  } finally {
    await browser.close();
    await runtime.stop();
    await redis.server.stop();
  }
}

function summary(name: string, rate: number, r: Awaited<ReturnType<typeof run>>) {
  const s = r.samples;
  const intervals = s.slice(1).map((b, i) => {
    const a = s[i]!;
    // From after the previous sample's GC and reads to this sample's first read.
    const wall = (b.readAt - a.doneAt) / 1000;
    return {
      main: (b.end.main - a.start.main) / wall,
      tasks: (b.end.tasks - a.start.tasks) / wall,
      ups: (b.updates - a.updates) / (b.t - a.t),
      fps: (b.frames - a.frames) / (b.t - a.t),
    };
  });
  const first = s[0]!;
  const last = s.at(-1)!;
  const heaps = s.map((x) => x.heapMb);
  return {
    name,
    rate,
    seconds: Math.round(last.t),
    idleMedian: 1 - median(intervals.map((i) => i.main)),
    idleMin: 1 - Math.max(...intervals.map((i) => i.main)),
    tasksMedian: median(intervals.map((i) => i.tasks)),
    updatesPerSec: median(intervals.map((i) => i.ups)),
    framesPerSec: median(intervals.map((i) => i.fps)),
    heapFirst: first.heapMb,
    heapLast: last.heapMb,
    heapMax: Math.max(...heaps),
    heapSeries: heaps.map((h) => fmt(h, 1)).join(' '),
    resets: r.stats.resets,
    ladderEqualsQuery: r.equal,
  };
}

console.log(`bench:dashboard  ${new Date().toISOString()}  node ${process.version}  cpu ${cpuModel()}`);
console.log(
  `baseline ${BASELINE_S} s at 5 updates/s, then ${DURATION_S} s at ${RATE} updates/s per book, samples every ${SAMPLE_S} s`,
);
const base = summary('baseline', 5, await run(5, BASELINE_S));
const load = summary('load', RATE, await run(RATE, DURATION_S));
const rows = [base, load];
console.log(
  table([
    [
      'run',
      'updates/s per book',
      's',
      'book updates applied/s (median)',
      'frames/s',
      'main thread idle (median, worst interval)',
      'renderer tasks s/s',
      'heap MB first → last (max)',
      'page resets',
      'ladder = orderBook at the end',
    ],
    ...rows.map((r) => [
      r.name,
      String(r.rate),
      String(r.seconds),
      fmt(r.updatesPerSec, 1),
      fmt(r.framesPerSec, 1),
      `${fmt(100 * r.idleMedian, 1)} % (${fmt(100 * r.idleMin, 1)} %)`,
      fmt(r.tasksMedian, 2),
      `${fmt(r.heapFirst, 1)} → ${fmt(r.heapLast, 1)} (${fmt(r.heapMax, 1)})`,
      JSON.stringify(r.resets),
      String(r.ladderEqualsQuery),
    ]),
  ]),
);
console.log(`main-thread busy ratio load/baseline: ${fmt((1 - load.idleMedian) / (1 - base.idleMedian), 2)}`);
console.log(
  `load average at the end: ${loadavg()
    .map((x) => fmt(x, 1))
    .join(' ')} on ${cpus().length} cores`,
);
for (const r of rows) console.log(`heap after GC, MB, every ${SAMPLE_S} s (${r.name}): ${r.heapSeries}`);
console.log(JSON.stringify({ bench: 'dashboard', baseline: base, load }));
