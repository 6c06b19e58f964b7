import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BackendConfig } from '@kubernetes-models/gke/cloud.google.com/v1';
import { ManagedCertificate } from '@kubernetes-models/gke/networking.gke.io/v1';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import {
  at,
  byName,
  containers,
  documentedEnvVars,
  envOf,
  headingAnchors,
  isObject,
  type JsonObject,
  k8sDir,
  type Manifest,
  objects,
  ofKind,
  overlayRegions,
  podTemplateLabels,
  REQUIRED_REGIONS,
  renderKustomization,
  repoRoot,
  selects,
  stringMap,
} from './manifests.ts';

/**
 * Renders every overlay in deploy/k8s/overlays, and the dev overlay, with the real kustomize
 * (`kubectl kustomize`, manifests.ts), validates each manifest against the Kubernetes / CRD JSON schemas shipped by kubernetes-models,
 * and checks the properties the deployment relies on. The schemas accept unknown fields (as the
 * API server does without strict field validation), so the assertions below name every field
 * that matters.
 */

// The metric names the server exports (src/observability/metrics.ts); alerts and the HPA may
// only use these, prom-client's defaults and kube-state-metrics.
const BOOKGRAPH_METRICS = new Set([
  'bookgraph_graphql_request_duration_seconds',
  'bookgraph_graphql_errors_total',
  'bookgraph_ws_connections',
  'bookgraph_subscriptions_active',
  'bookgraph_pubsub_messages_received_total',
  'bookgraph_subscription_messages_sent_total',
  'bookgraph_ingest_updates_total',
  'bookgraph_ingest_write_errors_total',
  'bookgraph_ingest_merged_updates_total',
  'bookgraph_book_resets_total',
  'bookgraph_books_stale',
  'bookgraph_redis_command_duration_seconds',
  'bookgraph_subscriber_conflations_total',
  'bookgraph_draining',
  'bookgraph_redis_connected',
  'bookgraph_feed_connected',
  'bookgraph_feed_gaps_total',
  'bookgraph_feed_resyncs_total',
  'bookgraph_feed_errors_total',
  'bookgraph_venue_continuity_breaks_total',
  'bookgraph_venue_audit_divergences_total',
  'bookgraph_venue_reports_ignored_total',
]);
const DEFAULT_METRIC = /^(nodejs_|process_|kube_)/;

const REQUIRED_ALERTS = [
  'BookgraphNoReadyServers',
  'BookgraphServerNotReady',
  'BookgraphRedisUnreachable',
  'BookgraphRedisDisconnected',
  'BookgraphFeedDisconnected',
  'BookgraphFeedUnstable',
  'BookgraphBooksStale',
  'BookgraphHighResetRate',
  'BookgraphIngestWriteErrors',
  'BookgraphEventLoopLag',
  'BookgraphHighLatencyP99',
  'BookgraphWebSocketSaturation',
  'BookgraphHpaAtMax',
  'BookgraphVenueReportIgnored',
  'BookgraphVenueStreamBroken',
  'BookgraphVenueBookDiverged',
];

/** The server drains for at most this long after SIGTERM by default (src/config.ts, src/server/app.ts). */
const defaults = loadConfig({});
const SERVER_DRAIN_SECONDS = (defaults.drain.readyGraceMs + defaults.drain.timeoutMs) / 1000;

const validators: Record<string, (m: Manifest) => void> = {
  'v1/Namespace': (m) => new Namespace(m as never).validate(),
  'v1/ServiceAccount': (m) => new ServiceAccount(m as never).validate(),
  'v1/ConfigMap': (m) => new ConfigMap(m as never).validate(),
  'v1/Service': (m) => new Service(m as never).validate(),
  'apps/v1/Deployment': (m) => new Deployment(m as never).validate(),
  'autoscaling/v2/HorizontalPodAutoscaler': (m) => new HorizontalPodAutoscaler(m as never).validate(),
  'policy/v1/PodDisruptionBudget': (m) => new PodDisruptionBudget(m as never).validate(),
  'networking.k8s.io/v1/Ingress': (m) => new Ingress(m as never).validate(),
  'cloud.google.com/v1/BackendConfig': (m) => new BackendConfig(m as never).validate(),
  'networking.gke.io/v1/ManagedCertificate': (m) => new ManagedCertificate(m as never).validate(),
  'monitoring.coreos.com/v1/PodMonitor': (m) => new PodMonitor(m as never).validate(),
  'monitoring.coreos.com/v1/PrometheusRule': (m) => new PrometheusRule(m as never).validate(),
};

function validateAll(manifests: Manifest[]): void {
  for (const m of manifests) {
    const validate = validators[`${m.apiVersion}/${m.kind}`];
    expect(validate, `${m.apiVersion} ${m.kind} ${m.metadata.name}`).toBeDefined();
    expect(() => validate?.(m), `${m.kind} ${m.metadata.name}`).not.toThrow();
  }
}

/** The FEEDS value of each ingester Deployment. */
function ingesterFeeds(manifests: Manifest[]): string[] {
  return deployments(manifests, 'ingester').map((d) =>
    String(at(envOf(containers(d)[0] ?? {}).get('FEEDS'), 'value')),
  );
}

function deployments(manifests: Manifest[], component: 'server' | 'ingester'): Manifest[] {
  return ofKind(manifests, 'Deployment').filter(
    (d) => podTemplateLabels(d)['app.kubernetes.io/component'] === component,
  );
}

function preStopSleepSeconds(container: JsonObject): number {
  const command = at(container, 'lifecycle', 'preStop', 'exec', 'command');
  if (!Array.isArray(command) || command[0] !== 'sleep') return 0;
  return Number(command[1]);
}

function containerPort(container: JsonObject, nameOrNumber: string | number): number | undefined {
  const port = objects(container.ports).find(
    (p) => p.name === nameOrNumber || p.containerPort === nameOrNumber,
  );
  return typeof port?.containerPort === 'number' ? port.containerPort : undefined;
}

/** Identifiers with an underscore that are not function calls: metric names in our expressions. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b([a-z][a-z0-9]*_[a-z0-9_]+)\b(?!\s*\()/g)].map((m) => m[1] ?? '');
}

function baseMetric(name: string): string {
  return name.replace(/_(bucket|count|sum)$/, '');
}

const operationsDoc = readFileSync(path.join(repoRoot, 'docs/OPERATIONS.md'), 'utf8');
const documentedVars = documentedEnvVars();

describe('deploy/k8s overlays', () => {
  const regions = overlayRegions();

  it('has one overlay per required region', () => {
    expect(regions).toEqual(expect.arrayContaining([...REQUIRED_REGIONS]));
  });

  it('README documents the configuration (the env checks below read its table)', () => {
    expect([...documentedVars]).toEqual(
      expect.arrayContaining(['REDIS_URL', 'REGION', 'HOST', 'PORT', 'FEEDS']),
    );
  });

  describe.each(regions)('%s', (region) => {
    const manifests = renderKustomization(path.join(k8sDir, 'overlays', region));
    const configMaps = ofKind(manifests, 'ConfigMap');
    const servers = deployments(manifests, 'server');
    const ingesters = deployments(manifests, 'ingester');
    const server = servers[0];
    const serverContainer = server ? containers(server)[0] : undefined;

    it('renders only kinds with a schema, each valid against it', () => {
      validateAll(manifests);
    });

    it('labels every object and puts it in the bookgraph namespace', () => {
      for (const m of manifests) {
        const labels = stringMap(m.metadata.labels);
        expect(labels, `${m.kind} ${m.metadata.name}`).toMatchObject({
          'app.kubernetes.io/name': 'bookgraph',
          'app.kubernetes.io/part-of': 'bookgraph',
          'app.kubernetes.io/managed-by': 'kustomize',
          'bookgraph.io/region': region,
        });
        if (m.kind !== 'Namespace')
          expect(m.metadata.namespace, `${m.kind} ${m.metadata.name}`).toBe('bookgraph');
      }
      for (const d of ofKind(manifests, 'Deployment')) {
        expect(podTemplateLabels(d)).toMatchObject({
          'app.kubernetes.io/name': 'bookgraph',
          'app.kubernetes.io/part-of': 'bookgraph',
          'bookgraph.io/region': region,
        });
      }
    });

    it('every Deployment: selector matches its own pods only, non-root, read-only, bounded', () => {
      const all = ofKind(manifests, 'Deployment');
      for (const d of all) {
        const name = d.metadata.name;
        const selector = stringMap(at(d, 'spec', 'selector', 'matchLabels'));
        expect(selects(selector, podTemplateLabels(d)), name).toBe(true);
        for (const other of all.filter((o) => o !== d)) {
          expect(selects(selector, podTemplateLabels(other)), `${name} selects ${other.metadata.name}`).toBe(
            false,
          );
        }
        const pod = at(d, 'spec', 'template', 'spec');
        expect(at(pod, 'securityContext', 'runAsNonRoot'), name).toBe(true);
        expect(at(pod, 'securityContext', 'runAsUser'), name).not.toBe(0);
        expect(at(pod, 'automountServiceAccountToken'), name).toBe(false);
        for (const c of containers(d)) {
          expect(at(c, 'securityContext', 'readOnlyRootFilesystem'), name).toBe(true);
          expect(at(c, 'securityContext', 'allowPrivilegeEscalation'), name).toBe(false);
          expect(at(c, 'securityContext', 'capabilities', 'drop'), name).toEqual(['ALL']);
          for (const kind of ['requests', 'limits']) {
            expect(at(c, 'resources', kind, 'cpu'), `${name} ${kind}.cpu`).toBeDefined();
            expect(at(c, 'resources', kind, 'memory'), `${name} ${kind}.memory`).toBeDefined();
          }
          // The image from deploy/docker/Dockerfile, pinned and from this region's registry.
          expect(c.image, name).toMatch(new RegExp(`^${region}-docker\\.pkg\\.dev/.+/bookgraph:[^:]+$`));
          expect(c.image, name).not.toMatch(/:latest$/);
          // Node and its dependencies may write temp files: the temp dir must be writable.
          expect(objects(c.volumeMounts).map((v) => v.mountPath)).toContain('/tmp');
        }
      }
    });

    it('every process gets REGION from this overlay, REDIS_URL from the Secret, documented variables only', () => {
      for (const d of ofKind(manifests, 'Deployment')) {
        for (const c of containers(d)) {
          const env = envOf(c);
          const regionRef = at(env.get('REGION'), 'valueFrom', 'configMapKeyRef');
          const regionMap = configMaps.find((cm) => cm.metadata.name === at(regionRef, 'name'));
          expect(regionMap, `${d.metadata.name} REGION ConfigMap`).toBeDefined();
          expect(at(regionMap, 'data', String(at(regionRef, 'key')))).toBe(region);
          expect(at(env.get('REDIS_URL'), 'valueFrom', 'secretKeyRef')).toEqual({
            name: 'bookgraph-redis',
            key: 'REDIS_URL',
          });
          expect(at(env.get('NODE_ENV'), 'value')).toBe('production');
          const fromConfigMaps = objects(c.envFrom).map((f) => {
            const cm = configMaps.find((m) => m.metadata.name === at(f, 'configMapRef', 'name'));
            expect(cm, `${d.metadata.name} envFrom`).toBeDefined();
            return Object.keys(isObject(cm?.data) ? cm.data : {});
          });
          for (const name of [...env.keys(), ...fromConfigMaps.flat()]) {
            const known =
              documentedVars.has(name) || ['NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'].includes(name);
            expect(known, `${d.metadata.name}: ${name} is not in README.md's configuration table`).toBe(true);
          }
        }
      }
    });

    it('every server and ingester gets REGIONS: all three regions, this one among them', () => {
      const processes = [...servers, ...ingesters];
      for (const d of processes) {
        for (const c of containers(d)) {
          const ref = at(envOf(c).get('REGIONS'), 'valueFrom', 'configMapKeyRef');
          const map = configMaps.find((cm) => cm.metadata.name === at(ref, 'name'));
          const value = String(at(map, 'data', String(at(ref, 'key'))));
          expect(value.split(',').sort(), d.metadata.name).toEqual([...REQUIRED_REGIONS].sort());
          // What the process makes of it: its own region first, then the others.
          const config = loadConfig({ REGION: region, REGIONS: value });
          expect(config.regions[0]).toBe(region);
          expect([...config.regions].sort()).toEqual(regions);
        }
      }
    });

    it('one GraphQL server Deployment: serve on 0.0.0.0:4000, probes, drain, zone spread', () => {
      expect(servers).toHaveLength(1);
      if (!server || !serverContainer) return;
      expect(serverContainer.args).toEqual(['serve']);
      const env = envOf(serverContainer);
      expect(at(env.get('HOST'), 'value')).toBe('0.0.0.0');
      expect(at(env.get('PORT'), 'value')).toBe('4000');
      expect(containerPort(serverContainer, 'http')).toBe(4000);
      const probe = (kind: string) => at(serverContainer, kind, 'httpGet');
      expect(at(probe('readinessProbe'), 'path')).toBe('/ready');
      expect(at(probe('livenessProbe'), 'path')).toBe('/health');
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const port = at(probe(kind), 'port');
        expect(
          typeof port === 'string' || typeof port === 'number' ? containerPort(serverContainer, port) : 0,
        ).toBe(4000);
      }
      const preStop = preStopSleepSeconds(serverContainer);
      expect(preStop).toBeGreaterThan(0);
      const grace = Number(at(server, 'spec', 'template', 'spec', 'terminationGracePeriodSeconds'));
      expect(grace).toBeGreaterThanOrEqual(preStop + SERVER_DRAIN_SECONDS + 5);
      expect(at(server, 'spec', 'strategy', 'rollingUpdate', 'maxUnavailable')).toBe(0);
      expect(at(server, 'spec', 'replicas'), 'the HPA owns the replica count').toBeUndefined();
      const spread = objects(at(server, 'spec', 'template', 'spec', 'topologySpreadConstraints'));
      const zone = spread.find((s) => s.topologyKey === 'topology.kubernetes.io/zone');
      expect(zone).toBeDefined();
      expect(selects(stringMap(at(zone, 'labelSelector', 'matchLabels')), podTemplateLabels(server))).toBe(
        true,
      );
    });

    it('Service + BackendConfig: WebSockets live an hour, draining outlasts the server drain', () => {
      if (!server || !serverContainer) throw new Error('no server');
      const services = ofKind(manifests, 'Service');
      expect(services).toHaveLength(1);
      const service = services[0] as Manifest;
      const selector = stringMap(at(service, 'spec', 'selector'));
      expect(selects(selector, podTemplateLabels(server))).toBe(true);
      for (const i of ingesters) expect(selects(selector, podTemplateLabels(i))).toBe(false);
      const targetPort = at(service, 'spec', 'ports', 0, 'targetPort');
      expect(typeof targetPort === 'string' ? containerPort(serverContainer, targetPort) : targetPort).toBe(
        4000,
      );

      const annotations = stringMap(service.metadata.annotations);
      expect(JSON.parse(annotations['cloud.google.com/neg'] ?? '{}')).toEqual({ ingress: true });
      const backendConfigName = JSON.parse(annotations['cloud.google.com/backend-config'] ?? '{}').default;
      const backendConfig = byName(manifests, 'BackendConfig', backendConfigName);
      expect(backendConfig, 'the BackendConfig the Service names').toBeDefined();
      expect(Number(at(backendConfig, 'spec', 'timeoutSec'))).toBeGreaterThanOrEqual(3600);
      expect(
        Number(at(backendConfig, 'spec', 'connectionDraining', 'drainingTimeoutSec')),
      ).toBeGreaterThanOrEqual(preStopSleepSeconds(serverContainer) + SERVER_DRAIN_SECONDS);
      expect(at(backendConfig, 'spec', 'healthCheck', 'requestPath')).toBe('/ready');
      expect(at(backendConfig, 'spec', 'healthCheck', 'port')).toBe(4000);
    });

    it('Ingress: only /graphql, /graphql/stream and /dashboard are public, on the static IP and certificate of this region', () => {
      const ingress = byName(manifests, 'Ingress', 'bookgraph');
      expect(ingress).toBeDefined();
      const rules = objects(at(ingress, 'spec', 'rules'));
      const paths = rules.flatMap((r) => objects(at(r, 'http', 'paths')));
      expect(paths.map((p) => [p.path, p.pathType])).toEqual([
        ['/graphql', 'Exact'],
        ['/graphql/stream', 'Exact'],
        ['/dashboard', 'Prefix'],
      ]);
      for (const p of paths) {
        expect(byName(manifests, 'Service', String(at(p, 'backend', 'service', 'name')))).toBeDefined();
      }
      const annotations = stringMap(ingress?.metadata.annotations);
      // Terraform names each region's address "${var.name}-${region}" (deploy/terraform/network.tf).
      expect(annotations['kubernetes.io/ingress.global-static-ip-name']).toBe(`bookgraph-${region}`);
      const certificate = byName(
        manifests,
        'ManagedCertificate',
        annotations['networking.gke.io/managed-certificates'] ?? '',
      );
      expect(certificate).toBeDefined();
      expect(at(certificate, 'spec', 'domains')).toEqual(rules.map((r) => r.host));
      expect(String(rules[0]?.host)).toContain(region);
    });

    it('HPA scales the server on CPU and active subscriptions; PDB covers the server only', () => {
      const hpas = ofKind(manifests, 'HorizontalPodAutoscaler');
      expect(hpas).toHaveLength(1);
      const hpa = hpas[0] as Manifest;
      expect(at(hpa, 'spec', 'scaleTargetRef')).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: server?.metadata.name,
      });
      const min = Number(at(hpa, 'spec', 'minReplicas'));
      expect(min).toBeGreaterThanOrEqual(3); // one per zone
      expect(Number(at(hpa, 'spec', 'maxReplicas'))).toBeGreaterThan(min);
      const metrics = objects(at(hpa, 'spec', 'metrics'));
      expect(metrics.some((m) => at(m, 'resource', 'name') === 'cpu')).toBe(true);
      const pods = metrics.find((m) => m.type === 'Pods');
      expect(at(pods, 'pods', 'metric', 'name')).toBe('bookgraph_subscriptions_active');

      const pdbs = ofKind(manifests, 'PodDisruptionBudget');
      expect(pdbs).toHaveLength(1);
      const pdbSelector = stringMap(at(pdbs[0], 'spec', 'selector', 'matchLabels'));
      if (server) expect(selects(pdbSelector, podTemplateLabels(server))).toBe(true);
      for (const i of ingesters) expect(selects(pdbSelector, podTemplateLabels(i))).toBe(false);
    });

    it('ingesters: one single-writer Deployment per feed (replicas 1, Recreate, no HPA)', () => {
      const feeds = ingesters.map((d) => {
        const c = containers(d)[0];
        expect(c?.args, d.metadata.name).toEqual(['ingest']);
        expect(at(d, 'spec', 'replicas'), d.metadata.name).toBe(1);
        expect(at(d, 'spec', 'strategy'), d.metadata.name).toEqual({ type: 'Recreate' });
        const feed = String(at(envOf(c ?? {}).get('FEEDS'), 'value'));
        // One feed per process: later feeds are named like ccxt:binance.
        expect(feed, d.metadata.name).toMatch(/^(sim|ccxt:[a-z0-9]+)$/);
        expect(podTemplateLabels(d)['bookgraph.io/feed']).toBe(feed.replace(':', '-'));
        return feed;
      });
      expect(new Set(feeds).size, 'two ingesters for one feed in one region').toBe(feeds.length);
      for (const hpa of ofKind(manifests, 'HorizontalPodAutoscaler')) {
        expect(ingesters.map((i) => i.metadata.name)).not.toContain(
          at(hpa, 'spec', 'scaleTargetRef', 'name'),
        );
      }
    });

    it('real venues only: no simulator, known ccxt ids, never consolidated with simulated ones', async () => {
      const { default: ccxt } = await import('ccxt');
      const known = (ccxt.pro as unknown as { exchanges: string[] }).exchanges;
      for (const feed of ingesterFeeds(manifests)) {
        expect(feed, 'a region overlay ingests a simulated feed').toMatch(/^ccxt:/);
        expect(known).toContain(feed.slice('ccxt:'.length));
      }
      for (const cm of configMaps) expect(stringMap(cm.data).MIX_SIMULATED_VENUES ?? '0').toBe('0');
      for (const d of ofKind(manifests, 'Deployment'))
        for (const c of containers(d))
          expect(envOf(c).has('MIX_SIMULATED_VENUES'), d.metadata.name).toBe(false);
    });

    it('Prometheus scrapes /metrics of every pod on its http port', () => {
      const monitor = ofKind(manifests, 'PodMonitor')[0];
      const selector = stringMap(at(monitor, 'spec', 'selector', 'matchLabels'));
      const endpoint = at(monitor, 'spec', 'podMetricsEndpoints', 0);
      expect(at(endpoint, 'path')).toBe('/metrics');
      for (const d of ofKind(manifests, 'Deployment')) {
        expect(selects(selector, podTemplateLabels(d)), d.metadata.name).toBe(true);
        expect(containerPort(containers(d)[0] ?? {}, String(at(endpoint, 'port')))).toBe(4000);
        expect(stringMap(at(d, 'spec', 'template', 'metadata', 'annotations'))).toMatchObject({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': '4000',
          'prometheus.io/path': '/metrics',
        });
      }
    });

    it('alerts: the required set, known metrics only, each with a runbook section', () => {
      const rules = ofKind(manifests, 'PrometheusRule').flatMap((r) =>
        objects(at(r, 'spec', 'groups')).flatMap((g) => objects(g.rules)),
      );
      const names = rules.map((r) => String(r.alert));
      expect(names).toEqual(expect.arrayContaining(REQUIRED_ALERTS));
      const anchors = headingAnchors(operationsDoc);
      for (const rule of rules) {
        const expr = String(rule.expr);
        for (const metric of metricNames(expr)) {
          const known = BOOKGRAPH_METRICS.has(baseMetric(metric)) || DEFAULT_METRIC.test(metric);
          expect(known, `${String(rule.alert)} uses unknown metric ${metric}`).toBe(true);
        }
        expect(metricNames(expr).length, String(rule.alert)).toBeGreaterThan(0);
        expect(['critical', 'warning', 'info']).toContain(at(rule, 'labels', 'severity'));
        const runbook = String(at(rule, 'annotations', 'runbook'));
        expect(runbook).toBe(`docs/OPERATIONS.md#${String(rule.alert).toLowerCase()}`);
        expect(
          anchors.has(String(rule.alert).toLowerCase()),
          `docs/OPERATIONS.md has no "${rule.alert}" heading`,
        ).toBe(true);
      }
    });
  });
});

describe('deploy/k8s/dev (the simulator overlay)', () => {
  const manifests = renderKustomization(path.join(k8sDir, 'dev'));

  it('renders only kinds with a schema, each valid against it', () => {
    validateAll(manifests);
  });

  it('runs the simulator as its one ingester, in a region of its own', () => {
    expect(ingesterFeeds(manifests)).toEqual(['sim']);
    const config = ofKind(manifests, 'ConfigMap').find((m) => m.metadata.name.startsWith('bookgraph-config'));
    const data = stringMap(config?.data);
    expect(data.REGION).toBe('dev');
    expect(data.REGIONS).toBe('dev');
    // What the processes make of it: a valid configuration.
    expect(loadConfig({ ...data, FEEDS: 'sim' }).region).toBe('dev');
    for (const region of REQUIRED_REGIONS) expect(data.REGIONS).not.toContain(region);
  });
});
