import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative } from 'node:path';
import type { Logger } from '../../log.ts';
import { buildDashboard, COMPRESSIBLE, compress, DASHBOARD_DIST } from './build.ts';

/** What the page reads at `/dashboard/config.json` before it connects. */
export interface DashboardPageConfig {
  region: string;
  env: 'development' | 'production' | 'test';
  /** Ask for an API key before connecting: in production, or when market data needs a key. */
  keyRequired: boolean;
}

export interface DashboardOptions {
  /**
   * `build`: bundle the sources in memory on the first request (development and tests: always
   * current, no build step). `folder`: serve what `npm run build:dashboard` wrote (production).
   */
  source: 'build' | 'folder';
  /** The built folder (`source: 'folder'`). @default dashboard/dist */
  dir?: string;
  page: DashboardPageConfig;
  log: Logger;
}

interface Asset {
  body: Uint8Array;
  br?: Uint8Array;
  gzip?: Uint8Array;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Scripts and styles from this origin only; data only to this origin's /graphql (HTTP and ws). */
const CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  // lightweight-charts sizes its canvases through style attributes.
  "style-src 'self' 'unsafe-inline'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const etagOf = (body: Uint8Array) =>
  `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;

async function fromBuild(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [name, body] of await buildDashboard()) {
    // Quality 5: fast enough to build on a first request, most of the gain of 11.
    assets.set(name, { body, etag: etagOf(body), ...(COMPRESSIBLE.test(name) ? compress(body, 5) : {}) });
  }
  return assets;
}

async function fromFolder(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const optional = (path: string) => readFile(path).catch(() => undefined);
  for (const entry of entries) {
    if (!entry.isFile() || /\.(br|gz)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const body = await readFile(path);
    const [br, gzip] = await Promise.all([optional(`${path}.br`), optional(`${path}.gz`)]);
    const name = relative(dir, path).split('\\').join('/');
    assets.set(name, { body, br, gzip, etag: etagOf(body) });
  }
  if (!assets.has('index.html')) throw new Error(`no index.html in ${dir}`);
  return assets;
}

/** Each coding an `Accept-Encoding` header names, with whether it allows it (q above 0). */
function acceptedCodings(header: string | undefined): Map<string, boolean> {
  const codings = new Map<string, boolean>();
  for (const part of (header ?? '').split(',')) {
    const [name = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (name) codings.set(name, q === undefined || Number(q.slice(2)) > 0);
  }
  return codings;
}

/** brotli, else gzip, as the browser allows (`*` allows what it does not name); else none. */
function encodingFor(accept: string | undefined, asset: Asset): 'br' | 'gzip' | undefined {
  const codings = acceptedCodings(accept);
  const allows = (name: string) => codings.get(name) ?? codings.get('*') ?? false;
  if (asset.br && allows('br')) return 'br';
  if (asset.gzip && allows('gzip')) return 'gzip';
  return undefined;
}

function cacheControl(name: string): string {
  if (name === 'index.html') return 'no-cache';
  // Content-hashed names never change content.
  if (name.startsWith('assets/') && !name.endsWith('.map')) return 'public, max-age=31536000, immutable';
  return 'public, max-age=300';
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(`${text}\n`);
}

/**
 * The market dashboard at `/dashboard` (and `/` redirects there): the bundled page, with
 * content-hashed assets cached for a year, index.html revalidated by ETag, brotli or gzip as the
 * browser accepts. Returns a request listener that answers its own paths and returns false for
 * every other one.
 */
export function dashboardHandler(
  options: DashboardOptions,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  let loading: Promise<Map<string, Asset>> | undefined;
  const load = () => {
    loading ??= (options.source === 'build' ? fromBuild() : fromFolder(options.dir ?? DASHBOARD_DIST)).catch(
      (error: unknown) => {
        loading = undefined; // the next request tries again
        throw error;
      },
    );
    return loading;
  };
  const config = JSON.stringify(options.page);

  const serve = async (name: string, req: IncomingMessage, res: ServerResponse) => {
    let assets: Map<string, Asset>;
    try {
      assets = await load();
    } catch (err) {
      options.log.error({ err, source: options.source }, 'dashboard assets unavailable');
      const hint =
        options.source === 'folder' ? ' Run `npm run build:dashboard` before starting the server.' : '';
      return plain(res, 503, `The dashboard is not available: its assets could not be loaded.${hint}`);
    }
    const asset = assets.get(name);
    if (!asset) return plain(res, 404, 'Not found');
    const headers: Record<string, string> = {
      'content-type': TYPES[extname(name)] ?? 'application/octet-stream',
      'cache-control': cacheControl(name),
      etag: asset.etag,
      vary: 'accept-encoding',
      'x-content-type-options': 'nosniff',
    };
    if (name === 'index.html') {
      headers['content-security-policy'] = CSP;
      headers['referrer-policy'] = 'no-referrer';
    }
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers);
      return res.end();
    }
    const encoding = encodingFor(req.headers['accept-encoding'], asset);
    const body = (encoding && asset[encoding]) || asset.body;
    if (encoding) headers['content-encoding'] = encoding;
    headers['content-length'] = String(body.byteLength);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path !== '/' && path !== '/dashboard' && !path.startsWith('/dashboard/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'Method not allowed', { allow: 'GET, HEAD' });
      return true;
    }
    if (path === '/') {
      res.writeHead(302, { location: '/dashboard', 'cache-control': 'no-store' });
      res.end();
      return true;
    }
    if (path === '/dashboard/config.json') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(config);
      return true;
    }
    const name =
      path === '/dashboard' || path === '/dashboard/' ? 'index.html' : path.slice('/dashboard/'.length);
    let decoded: string;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      plain(res, 400, 'Bad request: malformed path');
      return true;
    }
    serve(decoded, req, res).catch((err: unknown) => {
      options.log.error({ err }, 'dashboard request failed');
      if (!res.headersSent) plain(res, 500, 'Internal error');
      else res.destroy();
    });
    return true;
  };
}
