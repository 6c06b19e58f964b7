#!/usr/bin/env node
// The compiled CLI (`npm run build` writes dist/server/): what production and the image run.
// In development, bin/bookgraph-dev.js (`npm run dev -- <command>`) runs the TypeScript sources
// through tsx with no build step.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/server/cli.js', import.meta.url);
if (!existsSync(entry)) {
  console.error(
    'bookgraph: not built yet: run `npm run build` first (or `npm run dev -- <command>` to run the sources through tsx).',
  );
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(entry.href);
