import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';

/**
 * A small kustomize renderer for the subset deploy/k8s uses, so CI can render every overlay with
 * no kustomize or kubectl binary and nothing downloaded. It is not kustomize: anything outside
 * the subset is refused with an error rather than approximated.
 *
 * Supported, with kustomize's semantics:
 * - `resources`: YAML files (inside the kustomization's directory, like kustomize's default load
 *   restrictor) and other kustomization directories (anywhere), built recursively;
 * - `configMapGenerator` with `literals` and `behavior` create | merge | replace; a content-hash
 *   suffix is added at the end of the top-level build and every configMapKeyRef / configMapRef /
 *   configMap volume that names the ConfigMap is rewritten, like kustomize's name reference
 *   transformer (the suffix is computed the way kustomize's hasher does, from kind, name and data);
 * - `patches` whose content is an RFC 6902 JSON patch (add, remove, replace, test) with a
 *   `target` of kind and name; a patch that matches nothing is an error here (kustomize is silent);
 * - `namespace`, `namePrefix`, `nameSuffix` (resource names only; no reference rewriting except for
 *   generated ConfigMaps, which may not be renamed by a prefix or suffix here);
 * - `labels` with `includeSelectors` / `includeTemplates` on metadata, pod templates, and the
 *   selectors of Deployments, StatefulSets, DaemonSets, Services and PodDisruptionBudgets;
 * - `images` (`newName`, `newTag`, `digest`) on containers and init containers of pod templates.
 * Transformers run in kustomize's order: patches, namespace, prefix/suffix, labels, images.
 * Not supported (an error): strategic-merge patches, components, secretGenerator, replicas,
 * replacements, vars, helmCharts, commonLabels/commonAnnotations, generatorOptions.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface Manifest extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string };
}

interface Level {
  resources: Manifest[];
  /** ConfigMaps made by a generator: they get the hash suffix at the end. */
  generated: Set<Manifest>;
}

const SUPPORTED_KEYS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'configMapGenerator',
  'patches',
  'namespace',
  'namePrefix',
  'nameSuffix',
  'labels',
  'images',
]);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
]);
const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

function asString(value: JsonValue | undefined, where: string): string {
  if (typeof value !== 'string') fail(where, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function asArray(value: JsonValue | undefined, where: string): JsonValue[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(where, 'expected a list');
  return value;
}

function asObject(value: JsonValue | undefined, where: string): JsonObject {
  if (!isObject(value)) fail(where, 'expected a mapping');
  return value;
}

/** Ensures `obj[key]` is a mapping (creating it) and returns it. */
function child(obj: JsonObject, key: string): JsonObject {
  const existing = obj[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  obj[key] = created;
  return created;
}

export function parseYamlDocuments(text: string, where: string): JsonValue[] {
  const out: JsonValue[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) fail(where, doc.errors.map((e) => e.message).join('; '));
    const value = doc.toJS({ maxAliasCount: 0 }) as JsonValue | undefined;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function toManifest(value: JsonValue, where: string): Manifest {
  const obj = asObject(value, where);
  const metadata = asObject(obj.metadata, `${where} metadata`);
  asString(obj.apiVersion, `${where} apiVersion`);
  asString(obj.kind, `${where} kind`);
  asString(metadata.name, `${where} metadata.name`);
  return obj as Manifest;
}

export function resourceId(m: Manifest): string {
  const ns = typeof m.metadata.namespace === 'string' ? m.metadata.namespace : '';
  return `${m.apiVersion}/${m.kind}/${ns}/${m.metadata.name}`;
}

function readKustomization(dir: string): JsonObject {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const file = path.join(dir, name);
    if (existsSync(file)) {
      const docs = parseYamlDocuments(readFileSync(file, 'utf8'), file);
      if (docs.length !== 1) fail(file, 'expected exactly one document');
      const k = asObject(docs[0], file);
      for (const key of Object.keys(k)) {
        if (!SUPPORTED_KEYS.has(key)) fail(file, `"${key}" is not supported by this renderer`);
      }
      if (k.kind !== undefined && k.kind !== 'Kustomization') fail(file, `kind ${String(k.kind)}`);
      return k;
    }
  }
  return fail(dir, 'no kustomization.yaml');
}

// ---------------------------------------------------------------------------------------------
// RFC 6902 JSON patch

function decodePointer(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) fail(where, `bad JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function walk(doc: JsonValue, tokens: string[], where: string): JsonValue {
  let node = doc;
  for (const token of tokens) {
    if (Array.isArray(node)) {
      const index = Number(token);
      if (!Number.isInteger(index) || index < 0 || index >= node.length) fail(where, `no index ${token}`);
      node = node[index] as JsonValue;
    } else if (isObject(node)) {
      if (!(token in node)) fail(where, `no key "${token}"`);
      node = node[token] as JsonValue;
    } else {
      fail(where, `cannot descend into a scalar at "${token}"`);
    }
  }
  return node;
}

export function applyJsonPatch(doc: JsonObject, operations: JsonValue[], where: string): void {
  for (const [i, raw] of operations.entries()) {
    const at = `${where} op ${i}`;
    const op = asObject(raw, at);
    const kind = asString(op.op, `${at} op`);
    const tokens = decodePointer(asString(op.path, `${at} path`), at);
    const last = tokens.at(-1);
    if (last === undefined) fail(at, 'the whole document cannot be patched');
    const parent = walk(doc, tokens.slice(0, -1), at);
    if (kind === 'test') {
      if (!isDeepStrictEqual(walk(doc, tokens, at), op.value)) fail(at, `test failed at ${String(op.path)}`);
      continue;
    }
    if (kind !== 'add' && kind !== 'remove' && kind !== 'replace') fail(at, `op "${kind}" is not supported`);
    if (kind !== 'remove' && !('value' in op)) fail(at, 'missing value');
    const value = op.value as JsonValue;
    if (Array.isArray(parent)) {
      const index = last === '-' && kind === 'add' ? parent.length : Number(last);
      const max = kind === 'add' ? parent.length : parent.length - 1;
      if (!Number.isInteger(index) || index < 0 || index > max) fail(at, `index ${last} out of range`);
      if (kind === 'add') parent.splice(index, 0, structuredClone(value));
      else if (kind === 'replace') parent[index] = structuredClone(value);
      else parent.splice(index, 1);
    } else if (isObject(parent)) {
      if (kind !== 'add' && !(last in parent)) fail(at, `no key "${last}" to ${kind}`);
      if (kind === 'remove') delete parent[last];
      else parent[last] = structuredClone(value);
    } else {
      fail(at, 'parent is a scalar');
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Transformers

function podSpecs(m: Manifest): JsonObject[] {
  if (!POD_TEMPLATE_KINDS.has(m.kind)) return [];
  const spec = m.spec;
  if (!isObject(spec) || !isObject(spec.template) || !isObject(spec.template.spec)) return [];
  return [spec.template.spec];
}

function containersOf(podSpec: JsonObject): JsonObject[] {
  return [...asArray(podSpec.containers, 'containers'), ...asArray(podSpec.initContainers, 'initContainers')]
    .filter(isObject)
    .map((c) => c);
}

function applyLabels(resources: Manifest[], entry: JsonObject, where: string): void {
  const pairs = asObject(entry.pairs, `${where} labels.pairs`);
  const selectors = entry.includeSelectors === true;
  const templates = selectors || entry.includeTemplates === true;
  const add = (target: JsonObject) => {
    for (const [k, v] of Object.entries(pairs)) target[k] = asString(v, `${where} label ${k}`);
  };
  for (const m of resources) {
    add(child(m.metadata, 'labels'));
    const spec = m.spec;
    if (!isObject(spec)) continue;
    if (templates && POD_TEMPLATE_KINDS.has(m.kind) && isObject(spec.template)) {
      add(child(child(spec.template, 'metadata'), 'labels'));
    }
    if (!selectors) continue;
    if (POD_TEMPLATE_KINDS.has(m.kind) || m.kind === 'PodDisruptionBudget') {
      add(child(child(spec, 'selector'), 'matchLabels'));
    } else if (m.kind === 'Service') {
      add(child(spec, 'selector'));
    }
  }
}

function applyImages(resources: Manifest[], entry: JsonObject, where: string): void {
  const name = asString(entry.name, `${where} images.name`);
  for (const m of resources) {
    for (const podSpec of podSpecs(m)) {
      for (const c of containersOf(podSpec)) {
        const image = asString(c.image, `${where} ${m.metadata.name} image`);
        const match = /^(?<repo>[^@]+?)(?::(?<tag>[^:/@]+))?(?:@(?<digest>.+))?$/.exec(image);
        const groups = match?.groups;
        if (!groups || groups.repo !== name) continue;
        const repo = typeof entry.newName === 'string' ? entry.newName : (groups.repo ?? name);
        if (typeof entry.digest === 'string') c.image = `${repo}@${entry.digest}`;
        else if (typeof entry.newTag === 'string' || typeof entry.newTag === 'number') {
          c.image = `${repo}:${entry.newTag}`;
        } else {
          c.image = `${repo}${groups.tag ? `:${groups.tag}` : ''}${groups.digest ? `@${groups.digest}` : ''}`;
        }
      }
    }
  }
}

function matchesTarget(m: Manifest, target: JsonObject): boolean {
  for (const key of Object.keys(target)) {
    if (!['kind', 'name', 'group', 'version'].includes(key)) throw new Error(`target.${key} not supported`);
  }
  const [group, version] = m.apiVersion.includes('/') ? m.apiVersion.split('/') : ['', m.apiVersion];
  return (
    (target.kind === undefined || target.kind === m.kind) &&
    (target.name === undefined || target.name === m.metadata.name) &&
    (target.group === undefined || target.group === group) &&
    (target.version === undefined || target.version === version)
  );
}

// ---------------------------------------------------------------------------------------------
// Build

function buildLevel(dir: string): Level {
  const file = path.join(dir, 'kustomization.yaml');
  const k = readKustomization(dir);
  const resources: Manifest[] = [];
  const generated = new Set<Manifest>();

  for (const entry of asArray(k.resources, `${file} resources`)) {
    const rel = asString(entry, `${file} resources`);
    const target = path.resolve(dir, rel);
    if (!existsSync(target)) fail(file, `resource ${rel} does not exist`);
    if (statSync(target).isDirectory()) {
      const sub = buildLevel(target);
      resources.push(...sub.resources);
      for (const g of sub.generated) generated.add(g);
    } else {
      if (path.relative(dir, target).startsWith('..')) fail(file, `${rel} is outside the kustomization root`);
      for (const doc of parseYamlDocuments(readFileSync(target, 'utf8'), target)) {
        resources.push(toManifest(doc, target));
      }
    }
  }

  for (const raw of asArray(k.configMapGenerator, `${file} configMapGenerator`)) {
    const gen = asObject(raw, `${file} configMapGenerator`);
    for (const key of Object.keys(gen)) {
      if (!['name', 'behavior', 'literals'].includes(key))
        fail(file, `configMapGenerator.${key} not supported`);
    }
    const name = asString(gen.name, `${file} configMapGenerator.name`);
    const data: JsonObject = {};
    for (const literal of asArray(gen.literals, `${file} literals`)) {
      const text = asString(literal, `${file} literal`);
      const eq = text.indexOf('=');
      if (eq <= 0) fail(file, `literal "${text}" is not KEY=value`);
      data[text.slice(0, eq)] = text.slice(eq + 1);
    }
    const behavior = gen.behavior ?? 'create';
    if (behavior === 'create') {
      const cm: Manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
      resources.push(cm);
      generated.add(cm);
    } else if (behavior === 'merge' || behavior === 'replace') {
      const existing = [...generated].find((g) => g.metadata.name === name);
      if (!existing) fail(file, `configMapGenerator ${name}: nothing to ${behavior}`);
      existing.data = behavior === 'merge' ? { ...asObject(existing.data ?? {}, name), ...data } : data;
    } else {
      fail(file, `configMapGenerator behavior ${String(behavior)}`);
    }
  }

  for (const [i, raw] of asArray(k.patches, `${file} patches`).entries()) {
    const where = `${file} patches[${i}]`;
    const p = asObject(raw, where);
    const text =
      typeof p.path === 'string'
        ? readFileSync(path.resolve(dir, p.path), 'utf8')
        : asString(p.patch, `${where} patch`);
    const docs = parseYamlDocuments(text, where);
    const operations = docs[0];
    if (docs.length !== 1 || !Array.isArray(operations)) {
      fail(where, 'only JSON 6902 patches (a list of operations) are supported');
    }
    const target = asObject(p.target, `${where} target`);
    const matched = resources.filter((m) => matchesTarget(m, target));
    if (matched.length === 0) fail(where, `target ${JSON.stringify(target)} matches nothing`);
    for (const m of matched) applyJsonPatch(m, operations, where);
  }

  if (k.namespace !== undefined) {
    const ns = asString(k.namespace, `${file} namespace`);
    for (const m of resources) if (!CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = ns;
  }

  const prefix = k.namePrefix === undefined ? '' : asString(k.namePrefix, `${file} namePrefix`);
  const suffix = k.nameSuffix === undefined ? '' : asString(k.nameSuffix, `${file} nameSuffix`);
  if (prefix || suffix) {
    if (generated.size > 0) fail(file, 'namePrefix/nameSuffix over generated ConfigMaps is not supported');
    for (const m of resources) {
      if (!CLUSTER_SCOPED.has(m.kind)) m.metadata.name = `${prefix}${m.metadata.name}${suffix}`;
    }
  }

  for (const raw of asArray(k.labels, `${file} labels`)) applyLabels(resources, asObject(raw, file), file);
  for (const raw of asArray(k.images, `${file} images`)) applyImages(resources, asObject(raw, file), file);

  const seen = new Set<string>();
  for (const m of resources) {
    const id = resourceId(m);
    if (seen.has(id)) fail(file, `two resources with the id ${id}`);
    seen.add(id);
  }
  return { resources, generated };
}

/** kustomize's ConfigMap hash: sha256 over JSON {data, kind, name}, first 10 hex digits, re-lettered. */
export function configMapHash(name: string, data: JsonObject): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const encoded = JSON.stringify({ data: sorted, kind: 'ConfigMap', name });
  const hex = createHash('sha256').update(encoded).digest('hex').slice(0, 10);
  const swap: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex].map((ch) => swap[ch] ?? ch).join('');
}

function rewriteConfigMapRefs(m: Manifest, renames: Map<string, string>): void {
  const ns = m.metadata.namespace;
  const rename = (ref: JsonValue | undefined) => {
    if (!isObject(ref) || typeof ref.name !== 'string') return;
    const next = renames.get(`${typeof ns === 'string' ? ns : ''}/${ref.name}`);
    if (next) ref.name = next;
  };
  for (const podSpec of podSpecs(m)) {
    for (const c of containersOf(podSpec)) {
      for (const env of asArray(c.env, 'env').filter(isObject)) {
        if (isObject(env.valueFrom)) rename(env.valueFrom.configMapKeyRef);
      }
      for (const from of asArray(c.envFrom, 'envFrom').filter(isObject)) rename(from.configMapRef);
    }
    for (const volume of asArray(podSpec.volumes, 'volumes').filter(isObject)) {
      rename(volume.configMap);
      if (isObject(volume.projected)) {
        for (const source of asArray(volume.projected.sources, 'sources').filter(isObject)) {
          rename(source.configMap);
        }
      }
    }
  }
}

/** Renders the kustomization in `dir` to its list of manifests, like `kustomize build dir`. */
export function renderKustomization(dir: string): Manifest[] {
  const { resources, generated } = buildLevel(path.resolve(dir));
  const renames = new Map<string, string>();
  for (const cm of generated) {
    const name = cm.metadata.name;
    const hashed = `${name}-${configMapHash(name, asObject(cm.data ?? {}, name))}`;
    const ns = typeof cm.metadata.namespace === 'string' ? cm.metadata.namespace : '';
    renames.set(`${ns}/${name}`, hashed);
    cm.metadata.name = hashed;
  }
  for (const m of resources) rewriteConfigMapRefs(m, renames);
  return resources;
}
