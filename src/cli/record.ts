import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { openRecordingFile, Recorder } from '../marketdata/recording.ts';
import { createFeeds } from '../runtime.ts';
import { parseCommandLine, UsageError } from './args.ts';

export const RECORD_USAGE = `Usage: bookgraph record --out FILE [--gzip] [--duration S]

Runs the feeds named in FEEDS (no Redis needed) and writes what they produce, normalised and
sequenced as the ingester would, to FILE as NDJSON (gzipped with --gzip). Stops after S seconds,
or on Ctrl-C.`;

/** `bookgraph record`: feeds -> normaliser -> sequencer -> NDJSON file. */
export async function record(argv: string[]): Promise<void> {
  const values = parseCommandLine('record', argv, {
    out: { type: 'string', short: 'o' },
    gzip: { type: 'boolean' },
    duration: { type: 'string' },
  }).values as { out?: string; gzip?: boolean; duration?: string; help?: boolean };
  if (values.help) {
    console.log(RECORD_USAGE);
    return;
  }
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  const problems = [
    values.out ? null : '--out is required',
    duration === undefined || duration > 0
      ? null
      : `--duration: "${values.duration}" is not a positive number of seconds`,
  ].filter((p): p is string => p !== null);
  if (problems.length > 0 || !values.out) throw new UsageError('record', problems);
  const config = loadConfig();
  const log = createLogger(config.log.level, { pretty: config.log.pretty, env: config.env });
  const feeds = await createFeeds(config, log);
  const file = openRecordingFile(values.out, values.gzip ?? false);
  const recorder = new Recorder(file.out, config.region);
  for (const feed of feeds) {
    await feed.start(recorder.sinkFor(feed));
    recorder.markets(feed);
  }
  console.error(`bookgraph record: recording ${feeds.map((f) => f.name).join(', ')} to ${values.out}`);
  await new Promise<void>((resolve) => {
    const timer = duration === undefined ? undefined : setTimeout(resolve, duration * 1000);
    const onSignal = () => {
      if (timer) clearTimeout(timer);
      resolve();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  for (const feed of feeds) await feed.stop();
  await file.close();
  const s = recorder.stats;
  console.error(
    `bookgraph record: wrote ${s.books} book events, ${s.trades} trades, ${s.health} health events (${s.rejected} rejected) to ${values.out}`,
  );
  process.exit(0);
}
