import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface Manifest extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string };
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `kubectl`, or KUBECTL: the binary whose built-in kustomize renders the overlays. */
export const KUBECTL = process.env.KUBECTL ?? 'kubectl';

/**
 * A kustomization rendered by the real kustomize (`kubectl kustomize DIR`), as what `kubectl apply
 * -k DIR` would send. Throws with kubectl's own message when it refuses the files, and says how
 * to get kubectl when there is none (no test here renders by other means).
 */
export function renderKustomization(dir: string): Manifest[] {
  let out: string;
  try {
    out = execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        `${KUBECTL} is not on the PATH: the deploy tests render overlays with \`kubectl kustomize\` (kustomize >= v4; .ci/run checks it). Set KUBECTL to another binary if needed.`,
      );
    throw new Error(`kubectl kustomize ${path.relative(repoRoot, dir)} failed: ${e.stderr ?? e.message}`);
  }
  return parseAllDocuments(out).map((doc) => doc.toJSON() as Manifest);
}

/** Paths and small typed accessors shared by the deploy tests. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const k8sDir = path.join(repoRoot, 'deploy/k8s');
export const terraformDir = path.join(repoRoot, 'deploy/terraform');

/** The regions the open issue asks for; further overlays are checked the same way. */
export const REQUIRED_REGIONS = ['asia-northeast1', 'europe-west1', 'us-west1'] as const;

export function overlayRegions(): string[] {
  return readdirSync(path.join(k8sDir, 'overlays'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** Follows `keys` through mappings and lists (numeric keys); undefined where anything is missing. */
export function at(value: JsonValue | undefined, ...keys: (string | number)[]): JsonValue | undefined {
  let node = value;
  for (const key of keys) {
    if (typeof key === 'number' && Array.isArray(node)) node = node[key];
    else if (typeof key === 'string' && isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

export function objects(value: JsonValue | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

export function stringMap(value: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** True when every selector pair is among the labels (an empty selector selects nothing here). */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const pairs = Object.entries(selector);
  return pairs.length > 0 && pairs.every(([k, v]) => labels[k] === v);
}

export function ofKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((m) => m.kind === kind);
}

export function byName(manifests: Manifest[], kind: string, name: string): Manifest | undefined {
  return manifests.find((m) => m.kind === kind && m.metadata.name === name);
}

export function podTemplateLabels(deployment: Manifest): Record<string, string> {
  return stringMap(at(deployment, 'spec', 'template', 'metadata', 'labels'));
}

export function containers(deployment: Manifest): JsonObject[] {
  return objects(at(deployment, 'spec', 'template', 'spec', 'containers'));
}

export function envOf(container: JsonObject): Map<string, JsonObject> {
  return new Map(objects(container.env).map((e) => [String(e.name), e]));
}

/** The environment variables README.md documents (its "Configuration" table). */
export function documentedEnvVars(): Set<string> {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Configuration')) ?? '';
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const firstCell = /^\|([^|]+)\|/.exec(line)?.[1] ?? '';
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) if (m[1]) names.add(m[1]);
  }
  return names;
}

/** GitHub's anchor for a Markdown heading. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} +(.+)$/gm)) {
    const text = (m[1] ?? '').trim().toLowerCase();
    anchors.add(text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return anchors;
}
