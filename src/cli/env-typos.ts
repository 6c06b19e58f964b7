/**
 * Environment variables that look like a misspelling of one of ours (`REDIS_URI` for `REDIS_URL`,
 * `SIM_UPDATES_PER_SECOND` for `SIM_UPDATES_PER_SEC`): they are otherwise silently ignored.
 */
export function misspelledVariables(
  env: NodeJS.ProcessEnv,
  known: readonly string[],
): { name: string; suggestion: string }[] {
  const knownSet = new Set(known);
  const found: { name: string; suggestion: string }[] = [];
  for (const name of Object.keys(env)) {
    if (knownSet.has(name) || !/^[A-Z][A-Z0-9_]{2,}$/.test(name) || /_API_(KEY|SECRET)$/.test(name)) continue;
    let best: { name: string; distance: number } | undefined;
    for (const candidate of known) {
      const distance = editDistance(name, candidate);
      if (distance <= allowedDistance(candidate) && (!best || distance < best.distance))
        best = { name: candidate, distance };
    }
    if (best) found.push({ name, suggestion: best.name });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/** Short names need a close match (PORT vs PATH must not warn); long ones tolerate a few letters. */
function allowedDistance(name: string): number {
  if (name.length <= 5) return 1;
  return name.length <= 12 ? 2 : 3;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
