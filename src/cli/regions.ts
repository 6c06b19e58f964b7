import { type Config, loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { type Runtime, startRuntime } from '../runtime.ts';
import { parseCommandLine, portProblem, UsageError } from './args.ts';
import { stopOnSignals } from './signals.ts';

/** The regions of the production deployment, and the simulated venues each one ingests here. */
export const REGION_SPLIT: readonly { region: string; venues: readonly string[] }[] = [
  { region: 'asia-northeast1', venues: ['sim1', 'sim2'] },
  { region: 'europe-west1', venues: ['sim2', 'sim3'] },
  { region: 'us-west1', venues: ['sim3', 'sim1'] },
];

const REGION_NAMES = REGION_SPLIT.map((r) => r.region);

const USAGE = `Usage: bookgraph regions [--port N]

Runs three regions in one process, each with its GraphQL server and its ingester, on one Redis
keyspace standing in for the Active-Active database (REDIS_URL, else 127.0.0.1:6379 if it
answers, else a private redis-server). Each simulated venue is ingested by two regions:
${REGION_SPLIT.map((r) => `  ${r.region.padEnd(16)} ${r.venues.join(', ')}`).join('\n')}

Options:
  --port N   the first region's port; the others take N+1 and N+2 (0: any free port) (PORT)

Other configuration comes from the environment as for \`start\` (README.md); REGION, REGIONS and
FEEDS are set per region. SIGINT (Ctrl-C) or SIGTERM stops all three.`;

/** One region's REGION, every region in REGIONS, its venues in FEEDS (tests run the same split). */
export function regionEnv(
  split: (typeof REGION_SPLIT)[number],
): Record<'REGION' | 'REGIONS' | 'FEEDS', string> {
  return {
    REGION: split.region,
    REGIONS: REGION_NAMES.join(','),
    FEEDS: split.venues.map((v) => `sim:${v}`).join(','),
  };
}

/** One region's configuration: regionEnv over the environment, its port and the shared Redis. */
function regionConfig(
  env: NodeJS.ProcessEnv,
  split: (typeof REGION_SPLIT)[number],
  port: number,
  redisUrl: string | undefined,
): Config {
  return loadConfig({
    ...env,
    ...regionEnv(split),
    PORT: String(port),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
}

export async function regions(argv: string[]): Promise<void> {
  const values = parseCommandLine('regions', argv, { port: { type: 'string' } }).values as {
    port?: string;
    help?: boolean;
  };
  const problem = portProblem('--port', values.port);
  if (problem) throw new UsageError('regions', [problem]);
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const env = { ...process.env, ...(values.port ? { PORT: values.port } : {}) };
  const base = loadConfig(env);
  const log = createLogger(base.log.level, { pretty: base.log.pretty, env: base.env });
  const port = (i: number) => (base.http.port === 0 ? 0 : base.http.port + i);

  // The first region finds (or launches) the Redis; the others join it.
  const runtimes: Runtime[] = [];
  try {
    for (const [i, split] of REGION_SPLIT.entries()) {
      const config = regionConfig(env, split, port(i), runtimes[0]?.redisUrl ?? base.redis.url);
      runtimes.push(
        await startRuntime({
          config,
          log: log.child({ region: split.region }),
          ingest: true,
          serve: true,
          launchRedis: i === 0,
        }),
      );
    }
  } catch (error) {
    for (const runtime of runtimes.reverse()) await runtime.stop();
    throw error;
  }

  const first = runtimes[0]!;
  const shown = base.http.host === '0.0.0.0' || base.http.host === '::' ? 'localhost' : base.http.host;
  console.log(
    [
      '',
      `  bookgraph regions: three regions on one Redis keyspace (${first.redisUrl.replace(/\/\/[^@]*@/, '//***@')}${first.localRedis ? ', a private redis-server' : ''}),`,
      '  standing in for the Active-Active database. GraphQL per region, and the venues it ingests:',
      ...REGION_SPLIT.map(
        (split, i) =>
          `    ${split.region.padEnd(16)} http://${shown}:${runtimes[i]!.port}/graphql   ingests ${split.venues.join(', ')}`,
      ),
      '',
    ].join('\n'),
  );

  // The first region's runtime owns a private redis-server, if any: it stops last.
  const [owner, ...others] = runtimes;
  stopOnSignals(log, 2 * (base.drain.readyGraceMs + base.drain.timeoutMs), async () => {
    await Promise.all(others.map((runtime) => runtime.stop()));
    await owner?.stop();
  });
}
