import { parseArgs } from 'node:util';

/** The options a command takes: `string` takes a value (`--port 4000` or `--port=4000`). */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export type ParsedOptions = Record<string, string | boolean | undefined>;

/**
 * A command line that cannot be run: every problem found, one line each. The CLI prints them all
 * (never a stack trace) and exits 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly command: string,
    readonly problems: string[],
  ) {
    super(problems.join('\n'));
  }
}

/** A command that cannot go ahead: every problem found, one line each (the CLI exits 1). */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/**
 * Parses `argv` against `options` (plus `-h`/`--help`), collecting every unknown option, missing
 * value and value given to a flag instead of stopping at the first, as node's strict parseArgs
 * does with a stack trace.
 */
export function parseCommandLine(
  command: string,
  argv: string[],
  options: OptionSpec,
  maxPositionals = 0,
): { values: ParsedOptions; positionals: string[] } {
  const spec: OptionSpec = { ...options, help: { type: 'boolean', short: 'h' } };
  const tokenize = (args: string[]) =>
    parseArgs({ args, options: spec, strict: false, allowPositionals: true, tokens: true }).tokens;
  const tokens = tokenize(argv);
  const values: ParsedOptions = {};
  const positionals: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!token) continue;
    if (token.kind === 'positional') positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const known = spec[token.name];
    const shown = token.rawName;
    if (!known) {
      problems.push(`unknown option ${shown}`);
      continue;
    }
    if (known.type === 'boolean') {
      if (token.inlineValue) problems.push(`${shown} takes no value`);
      else values[token.name] = true;
      continue;
    }
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) {
      problems.push(`${shown} needs a value`);
      // `--symbols --port 1`: the option taken for the value is read as what it is.
      if (token.value !== undefined) tokens.splice(i + 1, 0, ...tokenize([token.value]));
      continue;
    }
    values[token.name] = token.value;
  }
  if (positionals.length > maxPositionals) {
    const extra = positionals.slice(maxPositionals);
    problems.push(
      `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((a) => `"${a}"`).join(' ')}`,
    );
  }
  if (problems.length > 0 && !values.help) throw new UsageError(command, problems);
  return { values, positionals };
}

/** `PORT`-like options: an integer in 0..65535, else a problem line. */
export function portProblem(option: string, value: string | boolean | undefined): string | null {
  if (typeof value !== 'string') return null;
  const port = Number(value);
  return /^\d+$/.test(value) && port <= 65535 ? null : `${option}: "${value}" is not a port (0-65535)`;
}
