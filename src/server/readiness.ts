import type { ReadinessCheck } from './app.ts';

/** Every check at once (probes run in parallel): the reasons to be unready, none when ready. */
export async function unreadyReasons(checks: readonly ReadinessCheck[]): Promise<string[]> {
  const results = await Promise.all(checks.map((check) => check()));
  return results.filter((reason): reason is string => reason !== null);
}
