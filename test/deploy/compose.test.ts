import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { SIM_VENUE_IDS } from '../../src/marketdata/simulator.ts';
import { at, documentedEnvVars, isObject, type JsonObject, repoRoot } from './manifests.ts';

/**
 * deploy/compose/compose.yaml, as Compose itself reads it: `docker-compose config` (Debian's
 * docker-compose; or `docker compose config` where the v2 plugin is installed) resolves the
 * anchors, merges and paths without a Docker daemon. Where neither exists the check cannot run:
 * the test says so loudly and checks the file as YAML, unless REQUIRE_COMPOSE=1 (CI) makes that a
 * failure.
 */

const file = path.join(repoRoot, 'deploy/compose/compose.yaml');

function composeConfig(): { tool: string; config: JsonObject } | { tool: undefined; reason: string } {
  const reasons: string[] = [];
  for (const [command, args] of [
    ['docker-compose', ['-f', file, 'config']],
    ['docker', ['compose', '-f', file, 'config']],
  ] as const) {
    const result = spawnSync(command, args, { encoding: 'utf8' });
    if (result.status === 0)
      return {
        tool: `${command} ${args[0] === 'compose' ? 'compose ' : ''}config`,
        config: parse(result.stdout),
      };
    reasons.push(`${command}: ${result.error?.message ?? result.stderr.trim().split('\n')[0]}`);
  }
  return { tool: undefined, reason: reasons.join('; ') };
}

const checked = composeConfig();
// Without Compose, the file as Compose would read its YAML: anchors and `<<` merge keys resolved.
const config: JsonObject = checked.tool ? checked.config : parse(readFileSync(file, 'utf8'), { merge: true });
const services = (isObject(config.services) ? config.services : {}) as Record<string, JsonObject>;
const bookgraph = Object.entries(services).filter(([name]) => name !== 'redis');

function env(service: JsonObject): Record<string, string> {
  return Object.fromEntries(
    Object.entries(isObject(service.environment) ? service.environment : {}).map(([k, v]) => [k, String(v)]),
  );
}

function command(service: JsonObject): string {
  return Array.isArray(service.command) ? String(service.command[0]) : String(service.command);
}

/** `4001:4000` (v1) or `{ published, target }` (v2) as [published, target]. */
function ports(service: JsonObject): [number, number][] {
  return (Array.isArray(service.ports) ? service.ports : []).map((p) => {
    if (isObject(p)) return [Number(p.published), Number(p.target)];
    const [published, target] = String(p).split(':');
    return [Number(published), Number(target)];
  });
}

describe('deploy/compose/compose.yaml', () => {
  it('is accepted by Compose itself (docker-compose config)', () => {
    if (!checked.tool) {
      console.warn(
        [
          '',
          '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
          '!!! COMPOSE FILE NOT CHECKED BY COMPOSE: no docker-compose and no `docker compose` here.',
          `!!! ${'reason' in checked ? checked.reason : ''}`,
          '!!! Only its YAML was checked. apt-get install docker-compose to check it for real.',
          '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
          '',
        ].join('\n'),
      );
      expect(process.env.REQUIRE_COMPOSE, 'REQUIRE_COMPOSE=1 but Compose is missing').not.toBe('1');
      return;
    }
    expect(Object.keys(services).sort()).toEqual([
      'ingester-a',
      'ingester-b',
      'redis',
      'server-1',
      'server-2',
    ]);
  });

  it('Redis, two ingesters, two servers: all from the one Dockerfile, each role by its command', () => {
    expect(services.redis?.image).toMatch(/^redis:\d/);
    expect(bookgraph.map(([, s]) => command(s)).sort()).toEqual(['ingest', 'ingest', 'serve', 'serve']);
    for (const [name, s] of bookgraph) {
      const build = isObject(s.build) ? s.build : {};
      expect(path.resolve(path.dirname(file), String(build.context)), name).toBe(repoRoot);
      expect(build.dockerfile, name).toBe('deploy/docker/Dockerfile');
      expect(at(s, 'depends_on', 'redis', 'condition'), name).toBe('service_healthy');
    }
  });

  it('servers listen on the production port 4000, published on distinct host ports', () => {
    const servers = bookgraph.filter(([, s]) => command(s) === 'serve');
    const published = servers.flatMap(([name, s]) => {
      const p = ports(s);
      expect(
        p.map(([, target]) => target),
        name,
      ).toEqual([4000]);
      expect(env(s).PORT, name).toBe('4000');
      expect(env(s).HOST, name).toBe('0.0.0.0');
      return p.map(([host]) => host);
    });
    expect(new Set(published).size).toBe(servers.length);
    expect(published).toContain(4000);
  });

  it('ingesters: every simulated venue has exactly one writer; every variable is documented and valid', () => {
    const venues = bookgraph
      .filter(([, s]) => command(s) === 'ingest')
      .flatMap(
        ([, s]) =>
          env(s)
            .FEEDS?.split(',')
            .map((f) => f.replace(/^sim:/, '')) ?? [],
      );
    expect(venues.sort()).toEqual([...SIM_VENUE_IDS].sort());
    const documented = documentedEnvVars();
    for (const [name, s] of bookgraph) {
      const vars = env(s);
      for (const key of Object.keys(vars))
        expect(documented.has(key) || key === 'NODE_ENV', `${name}: ${key} is not documented`).toBe(true);
      expect(vars.REDIS_URL, name).toBe('redis://redis:6379');
      expect(() => loadConfig(vars), name).not.toThrow();
    }
  });
});
