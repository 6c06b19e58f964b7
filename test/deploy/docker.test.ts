import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './manifests.ts';

/**
 * deploy/docker/Dockerfile, checked without a Docker daemon: a subset of hadolint's rules
 * (hadolint is not packaged for Debian; the rules are listed in docs/OPERATIONS.md), the build
 * context (.dockerignore), and what the image runs. Where a daemon answers, the image is also
 * built and run; where none does, the test says so loudly.
 */

const dockerfilePath = path.join(repoRoot, 'deploy/docker/Dockerfile');
const dockerfile = readFileSync(dockerfilePath, 'utf8');
const packageJson = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));

interface Instruction {
  line: number;
  op: string;
  args: string;
}

/** The instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    const continued = line.endsWith('\\');
    const body = continued ? line.slice(0, -1) : line;
    if (pending) pending.args += ` ${body}`;
    else {
      const [op = '', ...rest] = body.split(/\s+/);
      pending = { line: i + 1, op: op.toUpperCase(), args: rest.join(' ') };
    }
    if (!continued) {
      out.push(pending);
      pending = undefined;
    }
  });
  return out;
}

const all = instructions(dockerfile);
const stages = all.filter((i) => i.op === 'FROM');
const finalStage = all.slice(all.lastIndexOf(stages[stages.length - 1] as Instruction));

/** .dockerignore as a predicate (its patterns here are plain names and `*.ext` globs). */
function ignoredByDockerignore(relative: string): boolean {
  const patterns = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith('#'));
  const first = relative.split('/')[0] ?? '';
  return patterns.some((p) =>
    p.startsWith('*.') ? relative.endsWith(p.slice(1)) : first === p || relative === p,
  );
}

describe('deploy/docker/Dockerfile (rules from hadolint)', () => {
  it('DL3006/DL3007: every base image has a pinned tag, never latest; Node 24, as the node devDependency CI runs on', () => {
    const nodeMajor = /(\d+)/.exec(String(packageJson.devDependencies.node))?.[1];
    expect(nodeMajor).toBe('24');
    for (const from of stages) {
      const image = from.args.split(/\s+/)[0] ?? '';
      expect(image, `line ${from.line}`).toMatch(/^[^:]+:[^:]+$/);
      expect(image, `line ${from.line}`).not.toMatch(/:latest$/);
      expect(image, `line ${from.line}`).toMatch(new RegExp(`^node:${nodeMajor}-`));
    }
    expect(String(packageJson.devDependencies.node)).toMatch(new RegExp(`^\\^?${nodeMajor}\\.`));
  });

  it('DL3025: ENTRYPOINT and CMD in exec (JSON) form; DL3020: COPY, never ADD; DL3000: absolute WORKDIR', () => {
    for (const i of all.filter((x) => x.op === 'ENTRYPOINT' || x.op === 'CMD')) {
      expect(() => JSON.parse(i.args), `line ${i.line}`).not.toThrow();
    }
    expect(all.filter((i) => i.op === 'ADD')).toEqual([]);
    for (const i of all.filter((x) => x.op === 'WORKDIR')) expect(i.args, `line ${i.line}`).toMatch(/^\//);
  });

  it('DL3002: the image runs as a non-root user; DL3003: no cd in RUN; npm installs from the lock file only', () => {
    const users = finalStage.filter((i) => i.op === 'USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users[users.length - 1]?.args).not.toMatch(/^(root|0)(:|$)/);
    for (const run of all.filter((i) => i.op === 'RUN')) {
      expect(run.args, `line ${run.line}`).not.toMatch(/(^|&&|;)\s*cd\s/);
      expect(run.args, `line ${run.line}`).not.toMatch(/\bnpm (install|i)\b/);
    }
  });

  it('stages: unique names, COPY --from only from an earlier one; EXPOSE is the PORT it sets', () => {
    const names = stages.map((s) => /\bAS\s+(\S+)/i.exec(s.args)?.[1]);
    expect(new Set(names).size).toBe(names.length);
    for (const copy of all.filter((i) => i.op === 'COPY' && i.args.startsWith('--from='))) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1];
      const earlier = names.slice(0, stages.filter((s) => s.line < copy.line).length);
      expect(earlier, `line ${copy.line}`).toContain(from);
    }
    const env = finalStage.find((i) => i.op === 'ENV')?.args ?? '';
    const port = /\bPORT=(\d+)/.exec(env)?.[1];
    expect(finalStage.find((i) => i.op === 'EXPOSE')?.args).toBe(port);
    expect(/\bNODE_ENV=(\S+)/.exec(env)?.[1]).toBe('production');
  });

  it('build context: every COPY source exists and is not excluded by .dockerignore; bulky paths are', () => {
    for (const copy of all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        expect(existsSync(path.join(repoRoot, source)), `line ${copy.line}: ${source}`).toBe(true);
        expect(ignoredByDockerignore(source), `line ${copy.line}: ${source} is excluded`).toBe(false);
      }
    }
    for (const bulky of ['node_modules', '.git', 'dist', 'test'])
      expect(ignoredByDockerignore(bulky)).toBe(true);
  });

  it('the image runs the compiled CLI (bin/bookgraph.js -> dist/server) that build:server writes', () => {
    expect(JSON.parse(finalStage.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]')).toEqual([
      'node',
      'bin/bookgraph.js',
    ]);
    expect(readFileSync(path.join(repoRoot, 'bin/bookgraph.js'), 'utf8')).toContain('../dist/server/cli.js');
    const build = JSON.parse(
      readFileSync(path.join(repoRoot, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''),
    );
    expect(build.compilerOptions.outDir).toBe('dist/server');
    expect(all.some((i) => i.op === 'RUN' && i.args.includes('npm run build:server'))).toBe(true);
    expect(all.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
    // tsx is a development tool: the production dependencies must not need it.
    expect(packageJson.dependencies.tsx).toBeUndefined();
  });
});

describe('deploy/docker/Dockerfile: the image, built and started', () => {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8' });
  const daemon = info.status === 0 && info.stdout.trim() !== '';

  it('builds and answers --help where a Docker daemon runs, else says loudly that it was not built', () => {
    if (!daemon) {
      const reason = info.error ? String(info.error.message) : info.stderr.trim().split('\n')[0];
      console.warn(
        [
          '',
          '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
          '!!! DOCKER IMAGE NOT BUILT: no Docker daemon answers on this machine.',
          `!!! docker info: ${reason}`,
          '!!! Only the Dockerfile rules and the build context above were checked. Build it by hand:',
          '!!!   docker build -f deploy/docker/Dockerfile -t bookgraph . && docker run --rm bookgraph --help',
          '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
          '',
        ].join('\n'),
      );
      // What can be asserted: the warning is true (no daemon), not a skipped build.
      expect(daemon).toBe(false);
      return;
    }
    const tag = `bookgraph-test:${process.pid}`;
    try {
      execFileSync('docker', ['build', '-f', dockerfilePath, '-t', tag, repoRoot], { stdio: 'inherit' });
      const help = execFileSync('docker', ['run', '--rm', tag, '--help'], { encoding: 'utf8' });
      expect(help).toMatch(/^Usage: bookgraph/);
      const version = execFileSync('docker', ['run', '--rm', '--entrypoint', 'node', tag, '--version'], {
        encoding: 'utf8',
      });
      expect(version).toMatch(/^v24\./);
    } finally {
      spawnSync('docker', ['rmi', '-f', tag]);
    }
  });
});
