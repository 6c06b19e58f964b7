// The CLI's entry point. Only what reading the command line needs is imported here: every
// command's module is loaded when it runs, so `bookgraph --help` answers without loading the
// server, ccxt or OpenTelemetry.
import { StartupError, UsageError } from './cli/args.ts';
import { COMMAND_USAGE, GLOBAL_USAGE } from './cli/usage.ts';

const SERVER_COMMANDS = ['start', 'serve', 'ingest'] as const;
type ServerCommand = (typeof SERVER_COMMANDS)[number];

const OTHER_COMMANDS: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
  record: async () => (await import('./cli/record.ts')).record,
  replay: async () => (await import('./cli/replay.ts')).replay,
  clients: async () => (await import('./cli/clients.ts')).clients,
  regions: async () => (await import('./cli/regions.ts')).regions,
};

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    console.log(GLOBAL_USAGE);
    return;
  }
  // No command (or options only): `start`, as before.
  const command = first === undefined || first.startsWith('-') ? 'start' : first;
  const args = command === first ? rest : argv;
  const other = OTHER_COMMANDS[command];
  if (other) return (await other())(args);
  if (!(SERVER_COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError('bookgraph', [`unknown command "${command}" (bookgraph --help lists them)`]);
  }
  if (args.includes('--help') || args.includes('-h')) {
    // Answered before the server command's module (config, logging, zod) is loaded.
    console.log(COMMAND_USAGE[command as ServerCommand]);
    return;
  }
  const { runServerCommand } = await import('./cli/server.ts');
  return runServerCommand(command as ServerCommand, args);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    const name = error.command === 'bookgraph' ? 'bookgraph' : `bookgraph ${error.command}`;
    for (const problem of error.problems) console.error(`${name}: ${problem}`);
    console.error(`(${name} --help for usage)`);
    process.exit(2);
  }
  // ConfigError (src/config.ts) by name: importing it here would load zod for --help.
  const problems =
    error instanceof StartupError || (error instanceof Error && error.name === 'ConfigError')
      ? (error as StartupError).problems
      : undefined;
  if (problems) {
    for (const problem of problems) console.error(`bookgraph: ${problem}`);
  } else {
    console.error(error);
  }
  process.exit(1);
});
