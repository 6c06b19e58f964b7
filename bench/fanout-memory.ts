/**
 * `bench/fanout.ts --memory`: what an idle open subscription costs the server. Per server and
 * repeat: a fresh private Redis holding `books` books (written once by the real Ingester, then
 * idle), the server child with --expose-gc, its RSS and heap after a full GC, then
 * `subscriptions` orderBookUpdates subscriptions spread evenly over the books, `subsPerConn` per
 * WebSocket (50,000 sockets would need 100,000 descriptors on this one machine), every one
 * waited for until its SNAPSHOT arrived, 2 s idle, and RSS and heap after a full GC again.
 * Per subscription = (after − before) / subscriptions still open then (a subscription that failed,
 * e.g. a socket the server closed as too slow to read its snapshots, is not counted).
 */
import { idleBooks, openSubscribers, REGION, type SubscriberSet, startSource } from './book-workload.ts';
import { fmt, fmtInt, goal, loadLine, median, sleep, table } from './lib.ts';
import { type ServerKind, startServer } from './server-child.ts';

export interface MemoryOptions {
  subscriptions: number;
  /** Subscriptions opened at once; the next wave starts when every one has its SNAPSHOT. */
  wave: number;
  books: number;
  subsPerConn: number;
  depth: number;
  servers: ServerKind[];
  repeats: number;
}

export interface MemoryRun {
  server: ServerKind;
  notReady: number;
  /** Subscriptions open at the second measurement (SNAPSHOT received, no failure): the divisor. */
  open: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  rssPerSubKb: number;
  heapPerSubKb: number;
}

const MB = 2 ** 20;

/** A failure as one line: a close event's code and reason, GraphQL errors' messages, an Error's. */
function describe(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    return `close ${String(error.code)} ${String(error.reason)}`;
  }
  if (Array.isArray(error)) return error.map((e: { message?: string }) => e.message).join('; ');
  return error instanceof Error ? error.message : String(error);
}

export async function memoryRun(o: MemoryOptions, server: ServerKind): Promise<MemoryRun> {
  const { markets, snapshots } = idleBooks(o.books);
  const source = await startSource(markets, snapshots);
  const child = await startServer(source.url, REGION, { kind: server, exposeGc: true });
  let errors = 0;
  let firstError: string | undefined;
  try {
    const before = await child.cpu(true);
    // In waves of `wave` subscriptions, each waited for: a burst of 50,000 subscribes at once
    // makes bookgraph's per-subscribe Redis reads time out on a loaded machine, and every one
    // is refused ("cannot reach its data store").
    const sets: SubscriberSet[] = [];
    for (let opened = 0; opened < o.subscriptions; opened += o.wave) {
      sets.push(
        await openSubscribers({
          url: `ws://127.0.0.1:${child.port}/graphql`,
          markets,
          depth: o.depth,
          subscribers: Math.min(o.wave, o.subscriptions - opened),
          subsPerConn: o.subsPerConn,
          rounds: 1,
          readyTimeoutMs: 600_000,
          onError: (_sub, error) => {
            errors += 1;
            if (firstError === undefined) firstError = describe(error);
          },
        }),
      );
    }
    const subs = sets.flatMap((set) => set.subs);
    await sleep(2_000);
    const after = await child.cpu(true);
    // What the server holds: subscriptions that got their SNAPSHOT and did not fail since.
    const open = subs.filter((s) => s.snapshotSeq >= 0 && s.errors === 0).length;
    await Promise.all(sets.map((set) => set.dispose()));
    if (errors > 0) console.log(`! ${server}: ${errors} subscriptions failed; the first with ${firstError}`);
    // Where the RSS went: the child's own breakdown (MB) before and after, non-zero changes only.
    const moved = Object.entries(after.memory ?? {})
      .map(([k, v]) => [k, v - (before.memory?.[k] ?? 0)] as const)
      .filter(([, d]) => Math.abs(d) >= 1)
      .map(([k, d]) => `${k} ${d > 0 ? '+' : ''}${fmt(d, 0)}`);
    if (moved.length > 0) console.log(`# ${server} memory after − before (MB): ${moved.join(', ')}`);
    return {
      server,
      notReady: subs.filter((s) => s.snapshotSeq < 0).length,
      rssBeforeMb: before.rss / MB,
      rssAfterMb: after.rss / MB,
      heapBeforeMb: before.heapUsed / MB,
      heapAfterMb: after.heapUsed / MB,
      open,
      rssPerSubKb: (after.rss - before.rss) / 1024 / open,
      heapPerSubKb: (after.heapUsed - before.heapUsed) / 1024 / open,
    };
  } finally {
    await child.stop();
    await source.close();
  }
}

export async function runMemory(o: MemoryOptions): Promise<MemoryRun[]> {
  console.log(
    `# memory: ${fmtInt(o.subscriptions)} idle subscriptions on ${o.books} books, ${o.subsPerConn} per WebSocket ` +
      `(${fmtInt(Math.ceil(o.subscriptions / o.subsPerConn))} sockets), opened ${fmtInt(o.wave)} at a time, depth ${o.depth}, ` +
      `${o.repeats} interleaved repeats`,
  );
  const runs: MemoryRun[] = [];
  for (let repeat = 1; repeat <= o.repeats; repeat++) {
    const order = repeat % 2 === 1 ? o.servers : [...o.servers].reverse();
    for (const server of order) {
      const r = await memoryRun(o, server);
      runs.push(r);
      console.log(
        `# ${server} #${repeat}: RSS ${fmt(r.rssBeforeMb, 0)} → ${fmt(r.rssAfterMb, 0)} MB, heap ${fmt(r.heapBeforeMb, 0)} → ` +
          `${fmt(r.heapAfterMb, 0)} MB: ${fmt(r.rssPerSubKb, 1)} KB RSS, ${fmt(r.heapPerSubKb, 1)} KB heap per subscription ` +
          `(${fmtInt(r.open)} open)` +
          `${r.notReady > 0 ? ` · ${r.notReady} got no SNAPSHOT` : ''}`,
      );
    }
  }
  const rows = [
    [
      'server',
      'RSS before MB',
      'RSS after MB',
      'heap after MB',
      'KB RSS / sub',
      'KB heap / sub',
      'per repeat (RSS)',
    ],
  ];
  for (const server of o.servers) {
    const list = runs.filter((r) => r.server === server);
    rows.push([
      server,
      fmt(median(list.map((r) => r.rssBeforeMb)), 0),
      fmt(median(list.map((r) => r.rssAfterMb)), 0),
      fmt(median(list.map((r) => r.heapAfterMb)), 0),
      fmt(median(list.map((r) => r.rssPerSubKb)), 1),
      fmt(median(list.map((r) => r.heapPerSubKb)), 1),
      list.map((r) => fmt(r.rssPerSubKb, 1)).join(' / '),
    ]);
  }
  console.log('');
  console.log(table(rows));
  console.log('');
  const mine = runs.filter((r) => r.server === 'bookgraph');
  const peer = runs.filter((r) => r.server === 'naive-peer');
  if (mine.length > 0) {
    const perSub = median(mine.map((r) => r.rssPerSubKb));
    const peerPerSub = peer.length > 0 ? median(peer.map((r) => r.rssPerSubKb)) : null;
    goal({
      goal: `memory per idle subscription, RSS (${fmtInt(o.subscriptions)} on ${o.books} books); baseline = naive peer`,
      value: perSub,
      baseline: peerPerSub,
      ratio: peerPerSub === null ? null : perSub / peerPerSub,
      threshold: 'value <= 10 KB',
      pass: perSub <= 10,
      unit: 'KB',
    });
    const total = median(mine.map((r) => r.rssAfterMb));
    goal({
      goal: `server RSS with ${fmtInt(o.subscriptions)} open subscriptions`,
      value: total,
      baseline: null,
      ratio: null,
      threshold: 'value <= 1024 MB',
      pass: total <= 1024,
      unit: 'MB',
    });
  }
  const unready = runs.reduce((a, r) => a + r.notReady, 0);
  if (unready > 0)
    console.log(
      `! ${unready} subscriptions got no SNAPSHOT (not counted: per-subscription figures divide by those open)`,
    );
  console.log(loadLine());
  return runs;
}
