/**
 * loadKubeConfig: explicit file + context, default loading rules, in-cluster — and errors that
 * name the file/context but never echo the file's contents (tokens, keys).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FakeKubeApi } from '../src/testing/fake-kube-api.js';
import { KubeConfigError, loadKubeConfig } from '../src/kube/kube-config.js';
import { ClusterReader } from '../src/kube/cluster-reader.js';
import { kindInfo } from '../src/kube/catalog.js';

const TOKEN = 'tok-3b1f9c0e-very-secret';
let dir: string;
const savedEnv = { ...process.env };

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hh-kubeconfig-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  // Restore key by key: replacing process.env with a plain object would detach it from the real
  // environment that os.homedir() and child processes read.
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) Reflect.deleteProperty(process.env, k);
  for (const [k, v] of Object.entries(savedEnv)) process.env[k] = v;
});

function twoContexts(server = 'https://10.0.0.1:6443') {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'prod', cluster: { server } },
      { name: 'lab', cluster: { server: 'https://10.9.9.9:6443' } },
    ],
    users: [
      { name: 'ops', user: { token: TOKEN } },
      { name: 'dev', user: { token: 'other' } },
    ],
    contexts: [
      { name: 'prod-ctx', context: { cluster: 'prod', user: 'ops' } },
      { name: 'lab-ctx', context: { cluster: 'lab', user: 'dev' } },
    ],
    'current-context': 'lab-ctx',
  });
}

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

async function errorOf(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

test('file + context selects that context and its cluster', () => {
  const f = write('config', twoContexts());
  const kc = loadKubeConfig({ kubeconfigPath: f, context: 'prod-ctx' });
  expect(kc.getCurrentContext()).toBe('prod-ctx');
  expect(kc.getCurrentCluster()?.server).toBe('https://10.0.0.1:6443');
  expect(kc.getCurrentUser()?.token).toBe(TOKEN);
});

test("file without context uses the file's current-context", () => {
  const kc = loadKubeConfig({ kubeconfigPath: write('config', twoContexts()) });
  expect(kc.getCurrentContext()).toBe('lab-ctx');
});

test('a missing file is named', async () => {
  const f = path.join(dir, 'nope.yaml');
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: f }));
  expect(e).toBeInstanceOf(KubeConfigError);
  expect(e.message).toBe(`kubeconfig file ${f} does not exist`);
});

test('a directory instead of a file is named', async () => {
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: dir }));
  expect(e.message).toBe(`kubeconfig path ${dir} is not a file`);
});

test('an unknown context lists the known ones and no secrets', async () => {
  const f = write('config', twoContexts());
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: f, context: 'staging' }));
  expect(e).toBeInstanceOf(KubeConfigError);
  expect(e.message).toBe(
    `context "staging" is not defined in kubeconfig file ${f} (known contexts: prod-ctx, lab-ctx)`,
  );
  expect(e.message).not.toContain(TOKEN);
});

test('invalid YAML is reported by line, without quoting the file (which holds a token)', async () => {
  const f = write('config', `${twoContexts()}\nusers:\n- name: x\n  user: {token: ${TOKEN}\n`);
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: f }));
  expect(e).toBeInstanceOf(KubeConfigError);
  expect(e.message).toMatch(
    new RegExp(`^kubeconfig file ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid YAML at line \\d+`),
  );
  expect(e.message).not.toContain(TOKEN);
  expect(e.stack ?? '').not.toContain(TOKEN);
});

test('a structurally broken kubeconfig says what is missing', async () => {
  const f = write('config', toYaml({ clusters: [{ name: 'c', cluster: {} }], contexts: [], users: [] }));
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: f }));
  expect(e.message).toBe(`kubeconfig file ${f} is clusters[0].cluster.server is missing`);
});

test('a context naming an undefined cluster is refused', async () => {
  const f = write(
    'config',
    toYaml({
      clusters: [],
      users: [],
      contexts: [{ name: 'c', context: { cluster: 'ghost', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: f }));
  expect(e.message).toBe(`context "c" in kubeconfig file ${f} names cluster "ghost", which is not defined`);
});

test('plain http without insecure-skip-tls-verify is refused with a hint', async () => {
  const f = write('config', twoContexts('http://127.0.0.1:8001'));
  const e = await errorOf(() => loadKubeConfig({ kubeconfigPath: f, context: 'prod-ctx' }));
  expect(e.message).toMatch(
    /uses plain http \(http:\/\/127\.0\.0\.1:8001\); client-node requires insecure-skip-tls-verify: true/,
  );
});

test('~ is expanded to the home directory', () => {
  process.env.HOME = dir;
  fs.writeFileSync(path.join(dir, 'kc.yaml'), twoContexts());
  expect(loadKubeConfig({ kubeconfigPath: '~/kc.yaml' }).getCurrentContext()).toBe('lab-ctx');
});

test('default loading rules: $KUBECONFIG', () => {
  process.env.KUBECONFIG = write('config', twoContexts());
  expect(loadKubeConfig({ context: 'prod-ctx' }).getCurrentCluster()?.name).toBe('prod');
});

test('default loading rules: a $KUBECONFIG entry that does not exist is named', async () => {
  const f = path.join(dir, 'gone');
  process.env.KUBECONFIG = f;
  const e = await errorOf(() => loadKubeConfig({}));
  expect(e.message).toBe(`kubeconfig file ${f} (from $KUBECONFIG) does not exist`);
});

test('default loading rules with nothing to load: a clear error, not a silent localhost:8080', async () => {
  delete process.env.KUBECONFIG;
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
  process.env.HOME = dir; // no ~/.kube/config here
  const e = await errorOf(() => loadKubeConfig({}));
  expect(e).toBeInstanceOf(KubeConfigError);
  expect(e.message).toMatch(/^no kubeconfig found/);
});

test('in-cluster outside a pod says so', async () => {
  delete process.env.KUBERNETES_SERVICE_HOST;
  const e = await errorOf(() => loadKubeConfig({ inCluster: true }));
  expect(e.message).toMatch(/in-cluster access requested but KUBERNETES_SERVICE_HOST/);
});

test('a kubeconfig file written by the fake works end to end with the reader', async () => {
  const fake = new FakeKubeApi({ token: TOKEN });
  await fake.start();
  try {
    fake.create({
      apiVersion: 'vpc.githedgehog.com/v1beta1',
      kind: 'VPC',
      metadata: { name: 'v1', namespace: 'default' },
      spec: {},
    });
    const kc = loadKubeConfig({ kubeconfigPath: write('fake.yaml', fake.kubeconfigYaml()), context: 'fake' });
    const r = await new ClusterReader(kc).listKind(kindInfo('VPC')!);
    expect(r.complete).toBe(true);
    expect(r.observations.map((o) => o.name)).toEqual(['v1']);
  } finally {
    await fake.stop();
  }
});
