import {
  type BookgraphClient,
  BookgraphError,
  createBookgraphClient,
  ExchangesDocument,
  FeedStatusDocument,
  FeedsDocument,
  MarketsDocument,
} from '../../sdk/src/index.ts';
import { byId, el } from './dom.ts';
import { MarketSession, type Selection } from './market.ts';
import { createViews, type Views } from './views.ts';

/** What the server tells the page (`/dashboard/config.json`). */
interface PageConfig {
  region: string;
  env: string;
  keyRequired: boolean;
}

const DEPTHS = [5, 10, 20, 50];

/**
 * Asks for an API key and resolves with it. The key lives in this closure only: never in
 * localStorage, sessionStorage, a cookie or the URL, so reloading the page forgets it.
 */
function askForKey(error?: string): Promise<string> {
  const dialog = byId<HTMLDialogElement>('key-dialog');
  const input = byId<HTMLInputElement>('key-input');
  byId('key-error').textContent = error ?? '';
  input.value = '';
  if (!dialog.open) dialog.showModal();
  input.focus();
  return new Promise((resolve) => {
    byId<HTMLFormElement>('key-form').addEventListener(
      'submit',
      (event) => {
        event.preventDefault();
        const key = input.value.trim();
        input.value = '';
        byId('key-error').textContent = 'checking…';
        resolve(key);
      },
      { once: true },
    );
  });
}

function fromHash(): Partial<Selection> {
  const params = new URLSearchParams(location.hash.slice(1));
  const depth = Number(params.get('depth'));
  return {
    exchange: params.get('exchange') ?? undefined,
    symbol: params.get('symbol') ?? undefined,
    depth: DEPTHS.includes(depth) ? depth : undefined,
  };
}

function fillSelect(select: HTMLSelectElement, values: readonly string[], chosen: string): void {
  select.replaceChildren(...values.map((v) => el('option', { text: v })));
  select.value = values.includes(chosen) ? chosen : (values[0] ?? '');
}

/** Connects (asking for a key first where the server needs one) and checks the key with one query. */
async function connect(
  config: PageConfig,
  views: Views,
): Promise<{ client: BookgraphClient; exchanges: string[]; region: string }> {
  let problem: string | undefined;
  for (;;) {
    const key = config.keyRequired ? await askForKey(problem) : undefined;
    const client = createBookgraphClient({
      url: new URL('/graphql', location.href).href,
      token: key || undefined,
    });
    try {
      const { exchanges, region } = await client.query(ExchangesDocument);
      byId<HTMLDialogElement>('key-dialog').close();
      return { client, exchanges, region };
    } catch (error) {
      await client.dispose();
      const shown = error instanceof BookgraphError ? `${error.code}: ${error.message}` : String(error);
      views.status.set('error', shown);
      // Refused (UNAUTHENTICATED, FORBIDDEN) or not checkable now (UNAVAILABLE): say so, ask again.
      if (!config.keyRequired || !(error instanceof BookgraphError)) throw error;
      problem = shown;
    }
  }
}

async function start(): Promise<void> {
  let session: MarketSession | undefined;
  const views = createViews((interval) => session?.showCandles(interval));
  Object.assign(window, { bookgraphDashboard: { stats: views.stats, frames: views.frames } });
  const config = (await (await fetch('/dashboard/config.json')).json()) as PageConfig;
  document.body.dataset.env = config.env;
  const { client, exchanges, region } = await connect(config, views);
  views.status.setRegion(region, '');
  client.onConnectionChange((connected) => {
    if (!connected) views.status.set('reconnecting', 'connection lost: retrying');
  });

  const pickExchange = byId<HTMLSelectElement>('pick-exchange');
  const pickSymbol = byId<HTMLSelectElement>('pick-symbol');
  const pickDepth = byId<HTMLSelectElement>('pick-depth');
  const wanted = fromHash();
  fillSelect(pickExchange, exchanges, wanted.exchange ?? exchanges[0] ?? '');
  fillSelect(pickDepth, DEPTHS.map(String), String(wanted.depth ?? 20));
  byId('picker').addEventListener('submit', (event) => event.preventDefault());

  const open = () => {
    const interval = session?.selection.interval ?? 'ONE_MINUTE';
    session?.close();
    const selection = {
      exchange: pickExchange.value,
      symbol: pickSymbol.value,
      depth: Number(pickDepth.value),
      interval,
    };
    if (!selection.exchange || !selection.symbol) return;
    history.replaceState(
      null,
      '',
      `#${new URLSearchParams({ ...selection, depth: String(selection.depth) })}`,
    );
    session = new MarketSession(client, views, selection, region);
  };
  const loadMarkets = async (symbol: string) => {
    const { markets } = await client.query(MarketsDocument, { exchange: pickExchange.value });
    fillSelect(
      pickSymbol,
      markets.map((m) => m.symbol),
      symbol,
    );
    open();
  };
  pickExchange.addEventListener('change', () => void loadMarkets(pickSymbol.value).catch(report(views)));
  pickSymbol.addEventListener('change', open);
  pickDepth.addEventListener('change', open);
  await loadMarkets(wanted.symbol ?? '');

  // Feed health is a side panel: its failure is shown there, never in place of the book's state.
  try {
    const { feeds } = await client.query(FeedsDocument, {});
    for (const feed of feeds) views.feeds.update(feed);
    for await (const { feedStatus } of client.subscribe(FeedStatusDocument, {}))
      views.feeds.update(feedStatus);
  } catch (error) {
    views.feeds.failed(error instanceof BookgraphError ? `${error.code}: ${error.message}` : String(error));
  }
}

const report = (views: Views) => (error: unknown) =>
  views.status.set(
    'error',
    error instanceof BookgraphError ? `${error.code}: ${error.message}` : String(error),
  );

start().catch((error: unknown) => {
  console.error('dashboard:', error);
  const state = byId('conn');
  state.dataset.state = 'error';
  byId('conn-state').textContent = 'error';
  byId('conn-detail').textContent =
    error instanceof BookgraphError ? `${error.code}: ${error.message}` : String(error);
});
