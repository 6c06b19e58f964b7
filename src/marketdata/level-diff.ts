import type { Level } from './types.ts';

/**
 * The changes that turn one top-N window into the next: levels whose size changed or that
 * entered the window carry their new absolute size, levels that left it carry "0". A client that
 * applies them to the old window holds exactly the new one, with no truncation of its own.
 */
export function diffLevels(before: readonly Level[], after: readonly Level[]): Level[] {
  const changes: Level[] = [];
  const previous = new Map<string, string>();
  for (const [price, size] of before) previous.set(price, size);
  for (const [price, size] of after) {
    if (previous.get(price) !== size) changes.push([price, size]);
    previous.delete(price);
  }
  for (const price of previous.keys()) changes.push([price, '0']);
  return changes;
}
