#!/usr/bin/env node
// Development only: runs the TypeScript sources directly (tsx registers its loader, then the CLI
// is imported), so a change needs no build. Production runs bin/bookgraph.js (compiled, dist/).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
