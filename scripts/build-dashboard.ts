import { DASHBOARD_DIST, writeDashboard } from '../src/server/dashboard/build.ts';

/**
 * `npm run build:dashboard`: bundles the dashboard (dashboard/src) with esbuild into
 * dashboard/dist, with .br and .gz copies, for a production server (NODE_ENV=production serves that
 * folder; development builds in memory on the first request and needs no build step).
 */
const started = performance.now();
const files = await writeDashboard(process.argv[2] ?? DASHBOARD_DIST);
console.log(
  `dashboard built into ${process.argv[2] ?? DASHBOARD_DIST} in ${Math.round(performance.now() - started)} ms:\n  ${files.join('\n  ')}`,
);
