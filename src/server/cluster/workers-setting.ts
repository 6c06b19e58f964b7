import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { emptyAsUndefined } from '../../config-env.ts';

/** The most worker processes `serve` forks: more than a pod's cores only adds memory and context switches. */
export const MAX_WORKERS = 64;

const EXPECTED = `a count of 1 to ${MAX_WORKERS}, or auto (one per core)`;

/**
 * `--workers` / `WORKERS`: a whole number of 1..MAX_WORKERS, or `auto` for one per core the process
 * may use (`os.availableParallelism()`, which honours CPU affinity; capped at MAX_WORKERS).
 * Undefined for anything else.
 */
export function parseWorkers(value: string, cores: number = availableParallelism()): number | undefined {
  const text = value.trim();
  if (text === 'auto') return Math.max(1, Math.min(cores, MAX_WORKERS));
  if (!/^\d+$/.test(text)) return undefined;
  const count = Number(text);
  return count >= 1 && count <= MAX_WORKERS ? count : undefined;
}

/** The problem line for a bad `--workers` value, else null (absent is fine: WORKERS or 1). */
export function workersOptionProblem(value: string | boolean | undefined): string | null {
  if (typeof value !== 'string') return null;
  return parseWorkers(value) === undefined ? `--workers: "${value}" is not ${EXPECTED}` : null;
}

/** `WORKERS`, validated with the rest of the configuration (src/config.ts). */
export const WORKERS_ENV = {
  WORKERS: z.preprocess(
    emptyAsUndefined,
    z
      .string()
      .default('1')
      .transform((v, ctx) => {
        const count = parseWorkers(v);
        if (count === undefined) ctx.addIssue({ code: 'custom', message: `"${v}" is not ${EXPECTED}` });
        return count ?? 1;
      }),
  ),
};
