/**
 * The command and key an ioredis error names, never its arguments. ioredis attaches
 * `command: { name, args }` to reply errors; logged as is, every failed EVALSHA would dump the
 * whole encoded book event (580 MB of logs in two minutes of READONLY errors, issue 14 row 13).
 */
export function redisCommandOf(error: unknown): { command: string; key: string | undefined } | undefined {
  if (!(error instanceof Error) || !('command' in error)) return undefined;
  const command: unknown = error.command;
  if (typeof command !== 'object' || command === null || !('name' in command)) return undefined;
  const name = String(command.name);
  const args = 'args' in command && Array.isArray(command.args) ? (command.args as unknown[]) : [];
  // EVAL/EVALSHA/FCALL: script or function, number of keys, then the keys.
  const scripted = /^(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/i.test(name);
  const key = scripted ? (Number(args[1]) > 0 ? args[2] : undefined) : args[0];
  return { command: name, key: typeof key === 'string' || Buffer.isBuffer(key) ? String(key) : undefined };
}

/**
 * What makes two Redis failures "the same kind" for rate-limited logs: the command and the
 * reply's error code (`READONLY`, `OOM`, …) or ioredis's own message, never keys or values.
 */
export function redisErrorKind(error: unknown): string {
  const command = redisCommandOf(error)?.command ?? '-';
  const message = error instanceof Error ? error.message : String(error);
  const code = /^[A-Z][A-Z_]+\b/.exec(message)?.[0] ?? message.slice(0, 40);
  return `${command}:${code}`;
}

/**
 * A Redis error as one short line: its message's first line, capped. Never the error object
 * itself: ioredis' ReplyError carries the command with every argument (an EVALSHA's whole book or
 * trade), and a logger serialising it wrote 580 MB in two minutes of READONLY errors.
 */
export function redisErrorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
