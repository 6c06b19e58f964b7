import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './manifests.ts';

/** Node 24 LTS: what package.json asks for, what the `node` devDependency brings, and what the lock file accepts. */
describe('Node 24', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8'));
  const installed = lock.packages['node_modules/node']?.version as string;

  it('the node devDependency brings 24; engines still admit the machines’ Node 20, on which CI runs a subset', () => {
    expect(pkg.engines.node).toBe('>=20');
    expect(installed).toMatch(/^24\./);
  });

  it('no package in the lock file refuses it: npm ci prints no engine warning on 24', () => {
    const out = execFileSync(
      process.execPath,
      [path.join(repoRoot, 'scripts/check-engines.mjs'), installed],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe(`0 packages refuse Node ${installed}`);
  });
});
