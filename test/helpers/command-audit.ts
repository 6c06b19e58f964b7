import { readFileSync } from 'node:fs';
import calculateSlot from 'cluster-key-slot';
import { Redis } from 'ioredis';

/**
 * Records the commands a Redis server executes (MONITOR) and checks them against the
 * Active-Active compatibility list in docs/active-active-commands.md: every command on the list,
 * every multi-key command within one Cluster slot.
 */

/** Commands whose first argument is a subcommand, listed as `CLIENT SETNAME`. */
const CONTAINERS = new Set([
  'ACL',
  'CLIENT',
  'CLUSTER',
  'COMMAND',
  'CONFIG',
  'FUNCTION',
  'LATENCY',
  'MEMORY',
  'OBJECT',
  'PUBSUB',
  'SCRIPT',
  'SLOWLOG',
  'XGROUP',
  'XINFO',
]);

export interface CapturedCommand {
  /** `127.0.0.1:port` of the connection, or `lua` for a command run by a script. */
  source: string;
  args: string[];
}

/** `HSET`, or `CLIENT SETNAME` for a container command. */
export function commandName(args: readonly string[]): string {
  const name = (args[0] ?? '').toUpperCase();
  return CONTAINERS.has(name) && args[1] ? `${name} ${args[1].toUpperCase()}` : name;
}

/** The command names of the compatibility table (first column of its rows). */
export function activeActiveCommands(
  path = new URL('../../docs/active-active-commands.md', import.meta.url),
): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const cell = /^\|\s*`([A-Z][A-Z_ -]*)`\s*\|/.exec(line)?.[1];
    if (cell) out.add(cell);
  }
  return out;
}

export interface CommandCapture {
  readonly commands: CapturedCommand[];
  /** Stops recording; the commands recorded so far stay in `commands`. */
  stop(): void;
}

/**
 * Records, from now on, the commands of connections that name themselves `<namePrefix>…`
 * (CLIENT SETNAME, which ioredis sends first on every connection it opens) and of the scripts
 * they run. Start it before the clients connect: a connection that never named itself is not the
 * app's (the test's own clients, this MONITOR).
 */
export async function captureCommands(port: number, namePrefix: string): Promise<CommandCapture> {
  const connection = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  connection.on('error', () => {});
  const monitor = await connection.monitor();
  monitor.on('error', () => {});
  const commands: CapturedCommand[] = [];
  const appSources = new Set<string>();
  let recording = true;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!recording) return;
    const name = commandName(args);
    if (name === 'CLIENT SETNAME' && args[2]?.startsWith(namePrefix)) appSources.add(source);
    // Script-run commands follow from an app's EVALSHA: only the app's scripts run here.
    if (source === 'lua' || appSources.has(source)) commands.push({ source, args });
  });
  return {
    commands,
    stop() {
      recording = false;
      monitor.disconnect();
      connection.disconnect();
    },
  };
}

/**
 * What is wrong with the captured commands: names off the list, and multi-key commands (or
 * MULTI blocks) whose keys span several slots. Keys are found by the server itself
 * (`COMMAND GETKEYS`, on `admin`), so every command's key positions are right.
 */
export async function auditCommands(
  commands: readonly CapturedCommand[],
  allowed: ReadonlySet<string>,
  admin: Redis,
): Promise<string[]> {
  const problems: string[] = [];
  const offList = new Set<string>();
  for (const c of commands) {
    const name = commandName(c.args);
    if (!allowed.has(name) && !offList.has(name)) {
      offList.add(name);
      problems.push(`${name} is not on the Active-Active list (${JSON.stringify(c.args.slice(0, 4))})`);
    }
  }

  const distinct = [...new Map(commands.map((c) => [JSON.stringify(c.args), c.args])).values()];
  const keysOf = new Map<string, string[]>();
  const pipeline = admin.pipeline();
  for (const args of distinct) pipeline.call('COMMAND', 'GETKEYS', ...args);
  const results = (await pipeline.exec()) ?? [];
  distinct.forEach((args, i) => {
    const [error, keys] = results[i] ?? [];
    // An error here means the command has no key arguments (PING, PUBLISH, CLIENT …).
    keysOf.set(JSON.stringify(args), error ? [] : (keys as string[]));
  });

  const crossSlot = (keys: readonly string[]) => new Set(keys.map((k) => calculateSlot(k))).size > 1;
  const transactions = new Map<string, string[]>();
  for (const c of commands) {
    const name = commandName(c.args);
    const keys = keysOf.get(JSON.stringify(c.args)) ?? [];
    if (crossSlot(keys)) problems.push(`${name} across slots: ${keys.join(' ')}`);
    if (name === 'MULTI') transactions.set(c.source, []);
    else if (name === 'EXEC' || name === 'DISCARD') {
      const inTransaction = transactions.get(c.source) ?? [];
      if (crossSlot(inTransaction)) problems.push(`MULTI across slots: ${inTransaction.join(' ')}`);
      transactions.delete(c.source);
    } else transactions.get(c.source)?.push(...keys);
  }
  return problems;
}
