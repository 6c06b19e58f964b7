import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyJsonPatch, configMapHash, type JsonObject, renderKustomization } from './kustomize.ts';
import { at } from './manifests.ts';

/** The renderer's own behaviour, on small kustomizations written to a temp dir. */

const root = mkdtempSync(path.join(tmpdir(), 'bookgraph-kustomize-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(root, 'k-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: { a: b }
spec:
  selector: { matchLabels: { a: b } }
  template:
    metadata: { labels: { a: b } }
    spec:
      containers:
        - name: c
          image: bookgraph
          env:
            - name: X
              valueFrom: { configMapKeyRef: { name: cfg, key: X } }
          envFrom:
            - configMapRef: { name: cfg }
`;

describe('JSON 6902 patches', () => {
  const doc = (): JsonObject => ({ metadata: { annotations: { x: '1' } }, list: [1, 2, 3] });

  it('adds, replaces, removes and tests, with ~1 and ~0 escapes', () => {
    const d = doc();
    applyJsonPatch(
      d,
      [
        { op: 'test', path: '/list/0', value: 1 },
        { op: 'add', path: '/metadata/annotations/a~1b~0c', value: 'v' },
        { op: 'replace', path: '/list/1', value: 20 },
        { op: 'remove', path: '/list/0' },
        { op: 'add', path: '/list/-', value: 4 },
      ],
      'test',
    );
    expect(d).toEqual({ metadata: { annotations: { x: '1', 'a/b~c': 'v' } }, list: [20, 3, 4] });
  });

  it('refuses a failed test, a missing parent, a missing key to replace and unknown ops', () => {
    expect(() => applyJsonPatch(doc(), [{ op: 'test', path: '/list/0', value: 9 }], 't')).toThrow(
      /test failed/,
    );
    expect(() => applyJsonPatch(doc(), [{ op: 'add', path: '/spec/x', value: 1 }], 't')).toThrow(
      /no key "spec"/,
    );
    expect(() => applyJsonPatch(doc(), [{ op: 'replace', path: '/nope', value: 1 }], 't')).toThrow(/no key/);
    expect(() => applyJsonPatch(doc(), [{ op: 'move', from: '/list', path: '/l' }], 't')).toThrow(
      /not supported/,
    );
  });
});

describe('renderKustomization', () => {
  it('generates, merges and hashes a ConfigMap and rewrites references to it', () => {
    const dir = write({
      'base/kustomization.yaml': `resources: [app.yaml]
configMapGenerator:
  - name: cfg
    literals: [X=1]
`,
      'base/app.yaml': deployment,
      'overlay/kustomization.yaml': `resources: [../base]
namespace: ns
configMapGenerator:
  - name: cfg
    behavior: merge
    literals: [Y=2]
images:
  - name: bookgraph
    newName: reg/bookgraph
    newTag: "1.2"
`,
    });
    const out = renderKustomization(path.join(dir, 'overlay'));
    const cm = out.find((m) => m.kind === 'ConfigMap');
    expect(cm?.data).toEqual({ X: '1', Y: '2' });
    expect(cm?.metadata.name).toBe(`cfg-${configMapHash('cfg', { X: '1', Y: '2' })}`);
    const app = out.find((m) => m.kind === 'Deployment');
    const container = at(app, 'spec', 'template', 'spec', 'containers', 0);
    expect(at(container, 'env', 0, 'valueFrom', 'configMapKeyRef', 'name')).toBe(cm?.metadata.name);
    expect(at(container, 'envFrom', 0, 'configMapRef', 'name')).toBe(cm?.metadata.name);
    expect(at(container, 'image')).toBe('reg/bookgraph:1.2');
    expect(out.every((m) => m.metadata.namespace === 'ns')).toBe(true);
  });

  it('hash: 10 characters in kustomize’s alphabet, changing with the data', () => {
    const a = configMapHash('cfg', { X: '1' });
    expect(a).toMatch(/^[2-9b-df-z]{10}$/);
    expect(configMapHash('cfg', { X: '1' })).toBe(a);
    expect(configMapHash('cfg', { X: '2' })).not.toBe(a);
  });

  it('labels with includeSelectors reach selectors and templates; a suffix renames', () => {
    const dir = write({
      'kustomization.yaml': `resources: [app.yaml]
nameSuffix: -one
labels:
  - pairs: { feed: one }
    includeSelectors: true
`,
      'app.yaml': deployment.replaceAll('name: cfg', 'name: other'),
    });
    const [app] = renderKustomization(dir);
    expect(app?.metadata.name).toBe('app-one');
    expect(at(app, 'spec', 'selector', 'matchLabels')).toEqual({ a: 'b', feed: 'one' });
    expect(at(app, 'spec', 'template', 'metadata', 'labels')).toEqual({ a: 'b', feed: 'one' });
  });

  it('refuses what it does not implement instead of guessing', () => {
    const unsupportedKey = write({
      'kustomization.yaml': 'resources: []\nreplicas: [{ name: app, count: 2 }]\n',
    });
    expect(() => renderKustomization(unsupportedKey)).toThrow(/"replicas" is not supported/);
    const strategicMerge = write({
      'kustomization.yaml': `resources: [app.yaml]
patches:
  - target: { kind: Deployment, name: app }
    patch: |-
      spec: { replicas: 2 }
`,
      'app.yaml': deployment,
    });
    expect(() => renderKustomization(strategicMerge)).toThrow(/only JSON 6902/);
    const noMatch = write({
      'kustomization.yaml': `resources: [app.yaml]
patches:
  - target: { kind: Deployment, name: nope }
    patch: '[{"op": "remove", "path": "/spec"}]'
`,
      'app.yaml': deployment,
    });
    expect(() => renderKustomization(noMatch)).toThrow(/matches nothing/);
  });

  it('refuses files outside the root and two resources with one id', () => {
    const outside = write({ 'app.yaml': deployment, 'k/kustomization.yaml': 'resources: [../app.yaml]\n' });
    expect(() => renderKustomization(path.join(outside, 'k'))).toThrow(/outside the kustomization root/);
    const twice = write({
      'kustomization.yaml': 'resources: [a.yaml, b.yaml]\n',
      'a.yaml': deployment,
      'b.yaml': deployment,
    });
    expect(() => renderKustomization(twice)).toThrow(/two resources with the id/);
  });
});
