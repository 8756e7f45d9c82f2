/**
 * deploy/ as Kubernetes would read it (client-node's loadAllYaml): the kinds a cluster install needs, two replicas,
 * a non-root pod, the database URL from a Secret, probes on the watch's /healthz and /readyz, the ServiceMonitor on
 * the container's metrics port, a PodDisruptionBudget — and a ClusterRole granting exactly the (verb, group,
 * resource) triples the code asks the API server for, recorded from the fake API while a sync and a watch run.
 * The Dockerfile is checked at lint level (images cannot be built on the test machines).
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { startWatch } from '../src/watch/index.js';
import { createTestDatabase } from './helpers/database.js';
import { waitFor } from './helpers/watch-support.js';

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
};

const DEPLOY = 'deploy';
const kustomization = loadAllYaml(readFileSync(path.join(DEPLOY, 'kustomization.yaml'), 'utf8'))[0] as {
  resources: string[];
};
const docs: Doc[] = kustomization.resources.flatMap(
  (file) => loadAllYaml(readFileSync(path.join(DEPLOY, file), 'utf8')) as Doc[],
);
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T names the shape the test reads
const one = <T = Doc>(kind: string): T => {
  const found = docs.filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as T;
};

interface Container {
  name: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  startupProbe?: { httpGet: { path: string; port: string } };
  securityContext: { allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; runAsNonRoot: boolean };
}
interface Deployment extends Doc {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: { runAsNonRoot: boolean; runAsUser: number };
        containers: Container[];
      };
    };
  };
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const deployment = () => one<Deployment>('Deployment');
const container = () => deployment().spec.template.spec.containers[0]!;

describe('the manifests', () => {
  test('every file of the kustomization loads, and the install is complete', () => {
    expect(docs.map((d) => d.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        'Namespace',
        'PodDisruptionBudget',
        'PrometheusRule',
        'Service',
        'ServiceAccount',
        'ServiceMonitor',
      ].sort(),
    );
    for (const d of docs) {
      expect(d.apiVersion).toMatch(/^[\w.]*\/?v\d/);
      expect(d.metadata.name).toMatch(/^hh-sync/);
      if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(d.kind))
        expect(d.metadata.namespace).toBe('hh-sync');
    }
  });

  test('two replicas of `hh-sync watch`, non-root, read-only root, no privilege escalation', () => {
    const d = deployment();
    expect(d.spec.replicas).toBe(2);
    expect(container().args[0]).toBe('watch');
    expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(d.spec.template.spec.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container().securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    expect(d.spec.template.spec.serviceAccountName).toBe(one('ServiceAccount').metadata.name);
  });

  test('the database URL comes from a Secret, never a literal', () => {
    const db = container().env.filter((e) => /DATABASE_URL$/.test(e.name));
    expect(db).toEqual([
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'hh-sync-database', key: 'url' } } },
    ]);
    expect(container().env.every((e) => e.value === undefined || !/postgres(ql)?:\/\//.test(e.value))).toBe(true);
  });

  test('probes and scraping use the metrics port the watch is told to serve', () => {
    const c = container();
    const port = c.ports.find((p) => p.name === 'metrics')!;
    const flag = c.args.indexOf('--metrics-port');
    expect(flag).toBeGreaterThan(0);
    expect(Number(c.args[flag + 1])).toBe(port.containerPort);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.args).toEqual(expect.arrayContaining(['--log-format', 'json']));

    const service = one<
      Doc & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } }
    >('Service');
    expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'metrics', targetPort: 'metrics' })]);
    const podLabels = deployment().spec.template.metadata.labels;
    for (const [k, v] of Object.entries(service.spec.selector)) expect(podLabels[k]).toBe(v);

    const monitor = one<
      Doc & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } }
    >('ServiceMonitor');
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    const serviceLabels = service.metadata.labels ?? {};
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(serviceLabels[k]).toBe(v);
  });

  test('a PodDisruptionBudget keeps one replica through a drain', () => {
    const pdb = one<Doc & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>(
      'PodDisruptionBudget',
    );
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual(deployment().spec.selector.matchLabels);
  });

  test('the ClusterRoleBinding binds the role to the service account', () => {
    const binding = one<Doc & { roleRef: { kind: string; name: string }; subjects: object[] }>('ClusterRoleBinding');
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: one('ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'hh-sync', namespace: 'hh-sync' }]);
  });
});

/** The (verb group/resource) triples a ClusterRole grants, expanded; `*` is refused (least privilege). */
function granted(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    expect(r.nonResourceURLs).toBeUndefined();
    expect(r.resourceNames).toBeUndefined();
    for (const x of [...r.apiGroups, ...r.resources, ...r.verbs]) expect(x).not.toBe('*');
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${v} ${g}/${res}`);
  }
  return [...out].sort();
}

/** Discovery paths (/version, /api, /api/v1, /apis, /apis/{g}, /apis/{g}/{v}): every authenticated user may read
 * them through the built-in system:discovery ClusterRole, so the role needs no rule for them. */
const DISCOVERY = /^\/(version|api(\/v1)?|apis(\/[^/]+){0,2})$/;

/** A request to the API as RBAC sees it: `verb group/resource`, or null for a discovery path. */
function rbacTriple(r: { method: string; path: string; query: Record<string, string> }): string | null {
  if (r.method !== 'GET') return `${r.method.toLowerCase()} ${r.path}`; // the code never writes: a mismatch below
  if (DISCOVERY.test(r.path)) return null;
  const m = /^\/apis\/([^/]+)\/[^/]+\/(?:namespaces\/[^/]+\/)?([^/]+)(\/[^/]+)?$/.exec(r.path);
  if (!m) return `unknown ${r.path}`;
  const [, group, resource, name] = m;
  const verb = name ? 'get' : r.query.watch === 'true' || r.query.watch === '1' ? 'watch' : 'list';
  return `${verb} ${group}/${resource}`;
}

test('the ClusterRole grants exactly what a sync and a watch ask the API server for', async () => {
  const api = new FakeKubeApi({ crds: [] });
  api.load(generateSampleFabric({ targetObjects: 40, seed: 21 }));
  await api.start();
  const db = await createTestDatabase();
  try {
    const em = db.orm.em;
    const sync = new FabricSyncService(em, {
      kubeConfigFor: () => api.kubeConfig(),
      reader: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    await new FabricRegistry(em).create('rbac', {});
    await sync.syncActualState('rbac');
    // A re-sync reads each kind by metadata and GETs what changed: change one object of every kind present.
    for (const kind of new Set(api.list().map((o) => o.kind))) {
      const o = api.list(kind)[0]!;
      api.apply({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, rbac: 'changed' } } });
    }
    await sync.syncActualState('rbac');
    const handle = await startWatch({ em, sync }, ['rbac'], { flushIntervalMs: 20, leasePollMs: 50 });
    try {
      await waitFor(() => handle.ready().includes('rbac'), 15_000, 'watch ready');
      const vpc = api.list('VPC')[0]!;
      api.apply({ ...vpc, metadata: { ...vpc.metadata, labels: { rbac: 'seen' } } });
      await waitFor(
        () => api.requests.some((r) => r.query.watch === 'true' || r.query.watch === '1'),
        15_000,
        'a watch',
      );
    } finally {
      await handle.stop();
    }
  } finally {
    await db.close();
    await api.stop();
  }
  const used = [...new Set(api.requests.map(rbacTriple).filter((t): t is string => t !== null))].sort();
  // Sanity: the recording saw the informers and the CRD read.
  expect(used).toEqual(
    expect.arrayContaining(['list vpc.githedgehog.com/vpcs', 'watch wiring.githedgehog.com/switches']),
  );
  expect(used).toContain('list apiextensions.k8s.io/customresourcedefinitions');
  // The GET path is the same code for every kind; the sample fabric has no object of some kinds (nothing to change,
  // so nothing to GET): `get` on those is the one triple taken from the code's shape rather than from the recording.
  const listed = used.filter((t) => t.startsWith('list ') && !t.includes('customresourcedefinitions'));
  const gets = used.filter((t) => t.startsWith('get '));
  expect(gets.length).toBeGreaterThanOrEqual(listed.length - 2);
  const expected = [...new Set([...used, ...listed.map((t) => t.replace(/^list /, 'get '))])].sort();
  const role = one<Doc & { rules: Rule[] }>('ClusterRole');
  expect(granted(role.rules)).toEqual(expected);
});

describe('Dockerfile (lint level: images cannot be built here)', () => {
  const text = readFileSync('Dockerfile', 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));

  test('multi-stage: a build stage, and a runtime stage that copies only the compiled output from it', () => {
    const froms = instructions.filter((l) => /^FROM /i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]).toMatch(/ AS build$/i);
    expect(instructions.filter((l) => /^COPY --from=build /i.test(l))).toEqual(['COPY --from=build /src/dist ./dist']);
    for (const f of froms) expect(f).toMatch(/^FROM node:20[\w.-]*\s/); // the Node the project supports
  });

  test('the runtime installs production dependencies only, with the MikroORM peers pinned to the tested versions', () => {
    const runtime = instructions.slice(instructions.findIndex((l, i) => i > 0 && /^FROM /i.test(l)));
    const run = runtime.filter((l) => /^RUN /.test(l)).join(' ');
    expect(run).toMatch(/npm ci --omit=dev/);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      peerDependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const peer of Object.keys(pkg.peerDependencies)) expect(run).toContain(`${peer}@${pkg.devDependencies[peer]}`);
    expect(runtime.some((l) => /^RUN .*npm (ci|install)(?!.*--omit=dev)/.test(l))).toBe(false);
  });

  test('runs as a non-root user, the CLI as entrypoint', () => {
    const users = instructions.filter((l) => /^USER /.test(l));
    expect(users.length).toBeGreaterThan(0);
    const last = users[users.length - 1]!.slice(5).trim();
    expect(last).not.toMatch(/^(root|0)(:|$)/);
    expect(instructions.indexOf(users[users.length - 1]!)).toBeGreaterThan(
      instructions.findIndex((l) => /^RUN .*npm ci --omit=dev/.test(l)),
    );
    expect(instructions).toContain('ENTRYPOINT ["node", "/app/bin/hh-sync.js"]');
  });
});
