import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** The folder of the nearest package.json above `from`: the repository (sources) or /app (image). */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/**
 * The dashboard's sources (dashboard/src, dashboard/index.html) and its built folder, found from
 * the package root: the same folder whether this module runs from src/ (tsx) or dist/server/.
 */
export const DASHBOARD_ROOT = join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'dashboard');
export const DASHBOARD_DIST = join(DASHBOARD_ROOT, 'dist');

/** The bundle: file name (relative to /dashboard/) -> bytes; `index.html` names the hashed assets. */
export type DashboardFiles = Map<string, Uint8Array>;

/**
 * Bundles the page with esbuild (a devDependency: loaded only here, never by a production server
 * that serves a prebuilt folder). Script and stylesheet get content-hashed names, so they can be
 * cached forever; index.html is the one file that changes under a fixed name.
 */
export async function buildDashboard(): Promise<DashboardFiles> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: DASHBOARD_ROOT,
    entryPoints: { dashboard: 'src/main.ts', style: 'src/style.css' },
    outdir: 'out',
    entryNames: 'assets/[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    // The SDK loads `ws` only where there is no WebSocket (Node.js 20): never in a browser.
    external: ['ws'],
    define: { 'process.env.NODE_ENV': '"production"' },
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const files: DashboardFiles = new Map();
  const outDir = join(DASHBOARD_ROOT, 'out');
  for (const file of result.outputFiles) files.set(file.path.slice(outDir.length + 1), file.contents);
  const named = (prefix: string, ext: string) => {
    const name = [...files.keys()].find((f) => f.startsWith(`assets/${prefix}-`) && f.endsWith(ext));
    if (!name) throw new Error(`dashboard build: no ${prefix}*${ext} in the output`);
    return name;
  };
  const template = await readFile(join(DASHBOARD_ROOT, 'index.html'), 'utf8');
  const html = template
    .replace('%SCRIPT%', named('dashboard', '.js'))
    .replace('%STYLE%', named('style', '.css'));
  files.set('index.html', new TextEncoder().encode(html));
  return files;
}

/** Compressed copies, as the server sends them: brotli at its best (build time only) and gzip. */
export function compress(body: Uint8Array, brotliQuality = constants.BROTLI_MAX_QUALITY) {
  return {
    br: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: brotliQuality } }),
    gzip: gzipSync(body, { level: 9 }),
  };
}

/** Only text compresses; fonts and images (none today) would be sent as they are. */
export const COMPRESSIBLE = /\.(html|js|css|map|json|txt|svg)$/;

/**
 * `npm run build:dashboard`: the bundle and its .br/.gz copies into `outDir`, replaced whole (a
 * server reading the folder never sees half of a build).
 */
export async function writeDashboard(outDir = DASHBOARD_DIST): Promise<string[]> {
  const files = await buildDashboard();
  const temp = join(dirname(outDir), `.${basename(outDir)}-${process.pid}-${Date.now()}`);
  const written: string[] = [];
  for (const [name, body] of files) {
    const path = join(temp, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    written.push(name);
    if (!COMPRESSIBLE.test(name)) continue;
    const { br, gzip } = compress(body);
    await writeFile(`${path}.br`, br);
    await writeFile(`${path}.gz`, gzip);
  }
  const old = `${temp}-old`;
  await rename(outDir, old).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rename(temp, outDir);
  await rm(old, { recursive: true, force: true });
  return written.sort();
}
