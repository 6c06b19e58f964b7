/**
 * Top self-time functions of a V8 CPU profile (`node --cpu-prof`, or `BENCH_CPU_PROF=<dir>` for
 * the benchmark servers), as the tables in docs/BENCHMARKS.md show them:
 *
 *   npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top=25] [--inclusive=name,name…]
 *
 * Each row is a function (name, file:line), its self time as a share of the busy samples (all
 * samples but `(idle)`) and of all samples. `(garbage collector)` and `(program)` are V8's own.
 * A directory means its newest `.cpuprofile`. `--inclusive` adds, per function name, its
 * inclusive time: the samples with that name anywhere on their stack (each sample counted once),
 * which splits a server's work into phases (a socket flush, an event's execution, a Redis reply).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  micros: number;
}

/** Self time per function (samples weighted by their time deltas), largest first. */
export function selfTimes(profile: Profile): { rows: SelfTime[]; idle: number; total: number } {
  const byNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    byNode.set(id, (byNode.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const byFunction = new Map<string, SelfTime>();
  let idle = 0;
  let total = 0;
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0;
    if (micros === 0) continue;
    total += micros;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += micros;
      continue;
    }
    const file = url.replace(/^file:\/\//, '');
    const where = file ? `${shorten(file)}:${lineNumber + 1}` : '';
    const name = functionName || '(anonymous)';
    const key = `${name}\u0000${where}`;
    const row = byFunction.get(key) ?? { name, where, micros: 0 };
    row.micros += micros;
    byFunction.set(key, row);
  }
  return { rows: [...byFunction.values()].sort((a, b) => b.micros - a.micros), idle, total };
}

/** Per name: the time of samples whose stack holds a function of that name (once per sample). */
export function inclusiveTimes(profile: Profile, names: string[]): Map<string, number> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n] as const));
  const wanted = new Set(names);
  const memo = new Map<number, Set<string>>();
  const namesOn = (id: number): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const up = parent.get(id);
    const found = new Set(up === undefined ? [] : namesOn(up));
    const name = byId.get(id)?.callFrame.functionName;
    if (name && wanted.has(name)) found.add(name);
    memo.set(id, found);
    return found;
  };
  const totals = new Map<string, number>(names.map((n) => [n, 0]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    for (const name of namesOn(samples[i]!))
      totals.set(name, totals.get(name)! + Math.max(0, deltas[i] ?? 0));
  }
  return totals;
}

function shorten(file: string): string {
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) return file.slice(modules + 'node_modules/'.length);
  return relative(process.cwd(), file);
}

function newestProfile(path: string): string {
  if (!statSync(path).isDirectory()) return path;
  const files = readdirSync(path)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(path, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!files[0]) throw new Error(`no .cpuprofile in ${path}`);
  return files[0];
}

function main(): void {
  const args = process.argv.slice(2);
  const path = args.find((a) => !a.startsWith('--'));
  if (!path) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [--top=25]');
    process.exit(2);
  }
  const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  const file = newestProfile(path);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const { rows, idle, total } = selfTimes(profile);
  const busy = total - idle;
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((100 * idle) / total).toFixed(1)} % idle`);
  console.log('| function | where | % of busy | % of all |');
  console.log('| :-- | :-- | --: | --: |');
  for (const row of rows.slice(0, top)) {
    const ofBusy = ((100 * row.micros) / busy).toFixed(1);
    const ofAll = ((100 * row.micros) / total).toFixed(1);
    console.log(`| \`${row.name}\` | ${row.where} | ${ofBusy} | ${ofAll} |`);
  }
  const inclusive = args.find((a) => a.startsWith('--inclusive='))?.slice('--inclusive='.length);
  if (!inclusive) return;
  console.log('');
  console.log('| function (inclusive) | % of busy | % of all |');
  console.log('| :-- | --: | --: |');
  for (const [name, micros] of inclusiveTimes(profile, inclusive.split(','))) {
    console.log(
      `| \`${name}\` | ${((100 * micros) / busy).toFixed(1)} | ${((100 * micros) / total).toFixed(1)} |`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
