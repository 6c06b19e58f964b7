import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  at,
  isObject,
  type JsonObject,
  type JsonValue,
  k8sDir,
  objects,
  overlayRegions,
  REQUIRED_REGIONS,
  terraformDir,
} from './manifests.ts';

/**
 * deploy/terraform parsed with HashiCorp's own HCL parser (@cdktf/hcl2json runs it as wasm,
 * offline) and checked for the structure the regions rely on. This is not `terraform validate`
 * (no provider schemas here): run that where terraform is installed (docs/OPERATIONS.md).
 */

/** Every resource type used, each checked against the provider docs (rediscloud 2.x, google 6.x). */
const KNOWN_RESOURCE_TYPES = new Set([
  'rediscloud_active_active_subscription',
  'rediscloud_active_active_subscription_database',
  'rediscloud_active_active_subscription_regions',
  'rediscloud_active_active_subscription_peering',
  'google_compute_network',
  'google_compute_subnetwork',
  'google_compute_router',
  'google_compute_router_nat',
  'google_compute_global_address',
  'google_compute_network_peering',
  'google_container_cluster',
  'google_container_node_pool',
]);

interface Config {
  resource: Record<string, Record<string, JsonObject>>;
  variable: Record<string, JsonObject>;
  output: Record<string, JsonObject>;
  terraform: JsonObject;
}

/** hcl2json gives every block as a list of bodies; merge the files and take the single body. */
async function loadTerraform(): Promise<Config> {
  const config: Config = { resource: {}, variable: {}, output: {}, terraform: {} };
  const single = (value: JsonValue | undefined, where: string): JsonObject => {
    const list = objects(value);
    if (list.length !== 1 || !list[0]) throw new Error(`${where}: expected one block`);
    return list[0];
  };
  for (const file of readdirSync(terraformDir).filter((f) => f.endsWith('.tf'))) {
    const parsed = (await parse(file, readFileSync(path.join(terraformDir, file), 'utf8'))) as JsonObject;
    for (const [type, byName] of Object.entries(isObject(parsed.resource) ? parsed.resource : {})) {
      for (const [name, bodies] of Object.entries(isObject(byName) ? byName : {})) {
        config.resource[type] ??= {};
        config.resource[type][name] = single(bodies, `${file} ${type}.${name}`);
      }
    }
    for (const [name, bodies] of Object.entries(isObject(parsed.variable) ? parsed.variable : {})) {
      config.variable[name] = single(bodies, `${file} variable ${name}`);
    }
    for (const [name, bodies] of Object.entries(isObject(parsed.output) ? parsed.output : {})) {
      config.output[name] = single(bodies, `${file} output ${name}`);
    }
    if (parsed.terraform !== undefined) config.terraform = single(parsed.terraform, `${file} terraform`);
  }
  return config;
}

function resource(config: Config, type: string): JsonObject {
  const byName = config.resource[type] ?? {};
  const bodies = Object.values(byName);
  if (bodies.length !== 1 || !bodies[0]) throw new Error(`expected one ${type}, found ${bodies.length}`);
  return bodies[0];
}

/** The content of `dynamic "<name>"` in a body, with its for_each. */
function dynamicBlock(
  body: JsonValue | undefined,
  name: string,
): { forEach: JsonValue | undefined; content: JsonObject } {
  const block = objects(at(body, 'dynamic', name))[0];
  return { forEach: block?.for_each, content: objects(block?.content)[0] ?? {} };
}

/** How hcl2json writes an expression: the HCL interpolation \`\${expr}\`. */
function hcl(expr: string): string {
  return `\${${expr}}`;
}

function cidrRange(cidr: string): [number, number] {
  const [ip, bits] = cidr.split('/');
  const octets = (ip ?? '').split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`bad CIDR ${cidr}`);
  }
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - Number(bits));
  const start = base - (base % size);
  return [start, start + size - 1];
}

describe('deploy/terraform', () => {
  let config: Config;
  let regions: Record<string, JsonObject>;

  beforeAll(async () => {
    config = await loadTerraform();
    const defaults = at(config.variable.regions, 'default');
    regions = Object.fromEntries(
      Object.entries(isObject(defaults) ? defaults : {}).filter((e): e is [string, JsonObject] =>
        isObject(e[1]),
      ),
    );
  });

  it('pins the rediscloud and google providers', () => {
    const providers = objects(at(config.terraform, 'required_providers'))[0];
    expect(at(providers, 'rediscloud', 'source')).toBe('RedisLabs/rediscloud');
    expect(at(providers, 'google', 'source')).toBe('hashicorp/google');
  });

  it('uses only resource types the providers document', () => {
    for (const type of Object.keys(config.resource)) expect(KNOWN_RESOURCE_TYPES.has(type), type).toBe(true);
  });

  it('regions: one map entry per region, the same regions as the k8s overlays', () => {
    expect(Object.keys(regions)).toEqual(expect.arrayContaining([...REQUIRED_REGIONS]));
    expect(Object.keys(regions).sort()).toEqual(overlayRegions());
  });

  it('per-region Redis throughput is a variable, sized as in the case study', () => {
    const ops = (r: string) => [
      at(regions[r], 'write_ops_per_second'),
      at(regions[r], 'read_ops_per_second'),
    ];
    expect(ops('asia-northeast1')).toEqual([50000, 50000]);
    expect(ops('us-west1')).toEqual([10000, 10000]);
    for (const r of Object.keys(regions)) for (const n of ops(r)) expect(n).toBeGreaterThan(0);
  });

  it('no two network ranges overlap (Redis /24s, subnets, pods, services, control planes)', () => {
    const ranges = Object.entries(regions).flatMap(([r, v]) =>
      ['redis_cidr', 'subnet_cidr', 'pods_cidr', 'services_cidr', 'master_cidr'].map((k) => ({
        label: `${r}.${k}`,
        range: cidrRange(String(v[k])),
      })),
    );
    for (const [i, a] of ranges.entries()) {
      for (const b of ranges.slice(i + 1)) {
        const overlap = a.range[0] <= b.range[1] && b.range[0] <= a.range[1];
        expect(overlap, `${a.label} overlaps ${b.label}`).toBe(false);
      }
    }
    for (const v of Object.values(regions)) expect(String(v.redis_cidr)).toMatch(/\/24$/);
  });

  it('subscription: GCP, one creation_plan region per map entry with its throughput', () => {
    const subscription = resource(config, 'rediscloud_active_active_subscription');
    expect(subscription.cloud_provider).toBe('GCP');
    const plan = objects(subscription.creation_plan)[0];
    const region = dynamicBlock(plan, 'region');
    expect(region.forEach).toBe(hcl('var.regions'));
    expect(region.content).toMatchObject({
      region: hcl('region.key'),
      networking_deployment_cidr: hcl('region.value.redis_cidr'),
      write_operations_per_second: hcl('region.value.write_ops_per_second'),
      read_operations_per_second: hcl('region.value.read_ops_per_second'),
    });
  });

  it('database: TLS, noeviction, persistence, password from a variable, per-region overrides', () => {
    const db = resource(config, 'rediscloud_active_active_subscription_database');
    expect(db.enable_tls).toBe(true);
    expect(db.data_eviction).toBe('noeviction');
    expect(db.global_data_persistence).toBe(hcl('var.data_persistence'));
    expect(at(config.variable.data_persistence, 'default')).not.toBe('none');
    expect(db.global_password).toBe(hcl('var.redis_password'));
    expect(at(config.variable.redis_password, 'sensitive')).toBe(true);
    expect(at(config.variable.redis_password, 'default')).toBeUndefined();
    const override = dynamicBlock(db, 'override_region');
    expect(override.forEach).toBe(hcl('var.regions'));
    expect(override.content.name).toBe(hcl('override_region.key'));
  });

  it('regions resource tracks every map entry with its local throughput, never deletes silently', () => {
    const regionsResource = resource(config, 'rediscloud_active_active_subscription_regions');
    expect(regionsResource.delete_regions).toBe(false);
    const region = dynamicBlock(regionsResource, 'region');
    expect(region.forEach).toBe(hcl('var.regions'));
    expect(objects(region.content.database)[0]).toMatchObject({
      local_write_operations_per_second: hcl('region.value.write_ops_per_second'),
      local_read_operations_per_second: hcl('region.value.read_ops_per_second'),
    });
  });

  it('VPC peering, GKE cluster, node pool, NAT and Ingress address for each region', () => {
    for (const type of [
      'rediscloud_active_active_subscription_peering',
      'google_compute_network_peering',
      'google_compute_subnetwork',
      'google_compute_router_nat',
      'google_compute_global_address',
      'google_container_cluster',
      'google_container_node_pool',
    ]) {
      expect(resource(config, type).for_each, type).toBe(hcl('var.regions'));
    }
    const peering = resource(config, 'rediscloud_active_active_subscription_peering');
    expect(peering).toMatchObject({ provider_name: 'GCP', source_region: hcl('each.key') });
    // The overlays' Ingress names the address "bookgraph-<region>".
    expect(resource(config, 'google_compute_global_address').name).toBe(
      `${hcl('var.name')}-${hcl('each.key')}`,
    );
    expect(at(config.variable.name, 'default')).toBe('bookgraph');
    const cluster = resource(config, 'google_container_cluster');
    expect(cluster.location).toBe(hcl('each.key'));
    expect(cluster.networking_mode).toBe('VPC_NATIVE');
  });

  it('outputs REGIONS: every region of var.regions, the list the k8s base gives every process', () => {
    expect(at(config.output.regions_env, 'value')).toBe(hcl('join(",", keys(var.regions))'));
    const base = readFileSync(path.join(k8sDir, 'base', 'kustomization.yaml'), 'utf8');
    const literal = /^\s*- REGIONS=(.+)$/m.exec(base)?.[1];
    expect(literal?.split(',').sort()).toEqual(Object.keys(regions).sort());
  });

  it('outputs per-region endpoints, used by render-overlay-secrets.sh', () => {
    const endpoints = String(at(config.output.redis_private_endpoints, 'value'));
    expect(endpoints).toContain('private_endpoint[r]');
    expect(at(config.output.redis_urls, 'sensitive')).toBe(true);
    expect(String(at(config.output.redis_urls, 'value'))).toMatch(/rediss:\/\//);
    const script = readFileSync(path.join(terraformDir, 'render-overlay-secrets.sh'), 'utf8');
    const used = [...script.matchAll(/tf_output (\w+)/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(config.output[name], `output ${name}`).toBeDefined();
    expect(script).toContain('bookgraph-redis');
    expect(script).toContain('REDIS_URL');
  });
});
