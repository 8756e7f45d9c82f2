/**
 * In-cluster configuration (`fabric add --in-cluster`, `loadKubeConfig({ inCluster: true })`) as a pod sees it:
 * KUBERNETES_SERVICE_HOST/PORT, and the service account's token, ca.crt and namespace under a directory — here a
 * temporary one, injected — against the project's fake API behind TLS signed by a test CA (the fake speaks plain
 * http; a loopback TLS terminator stands in for the API server's certificate). The token must reach the server
 * (the fake requires it), the CA must verify the server (a wrong CA is refused), and each missing piece is one
 * clear error naming the path.
 */
import 'reflect-metadata';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { ClusterReader } from '../src/kube/cluster-reader.js';
import { KubeConfigError, loadKubeConfig, type InClusterEnvironment } from '../src/kube/kube-config.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const FIXTURES = path.join('test', 'fixtures', 'in-cluster-tls');
const TOKEN = 'sa-token-for-the-test';
const VPC = FABRIC_KINDS.find((k) => k.kind === 'VPC')!;

let api: FakeKubeApi;
let terminator: tls.Server;
let tlsPort: number;
let saDir: string;
const sockets = new Set<net.Socket>();

function podEnvironment(over: Partial<InClusterEnvironment> = {}): InClusterEnvironment {
  return {
    env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(tlsPort) },
    serviceAccountDir: saDir,
    ...over,
  };
}

beforeAll(async () => {
  api = new FakeKubeApi({ token: TOKEN });
  api.load(generateSampleFabric({ targetObjects: 30, seed: 3 }));
  const upstream = new URL(await api.start());
  terminator = tls.createServer(
    { key: readFileSync(path.join(FIXTURES, 'server.key')), cert: readFileSync(path.join(FIXTURES, 'server.crt')) },
    (client) => {
      const server = net.connect(Number(upstream.port), upstream.hostname);
      for (const s of [client, server]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(server).pipe(client);
    },
  );
  await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
  tlsPort = (terminator.address() as net.AddressInfo).port;
  saDir = mkdtempSync(path.join(tmpdir(), 'hh-sa-'));
  writeFileSync(path.join(saDir, 'token'), TOKEN);
  copyFileSync(path.join(FIXTURES, 'ca.crt'), path.join(saDir, 'ca.crt'));
  writeFileSync(path.join(saDir, 'namespace'), 'hh-sync\n');
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => terminator.close(() => resolve()));
  await api.stop();
  rmSync(saDir, { recursive: true, force: true });
});

test('the service account token and CA reach the API server over TLS', async () => {
  const kc = loadKubeConfig({ inCluster: true, inClusterEnvironment: podEnvironment() });
  expect(kc.getCurrentCluster()).toMatchObject({
    server: `https://127.0.0.1:${tlsPort}`,
    caFile: path.join(saDir, 'ca.crt'),
    skipTLSVerify: false,
  });
  expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('hh-sync');
  api.clearRequests();
  const listed = await new ClusterReader(kc).listKind(VPC);
  expect(listed).toMatchObject({ complete: true, errors: [] });
  expect(listed.observations.length).toBe(api.list('VPC').length);
  expect(listed.observations.length).toBeGreaterThan(0);
  expect(api.requests.every((r) => r.status === 200)).toBe(true);
});

test('a token the server does not accept is a 401, not a silent empty list', async () => {
  writeFileSync(path.join(saDir, 'token'), 'rotated-away');
  try {
    const kc = loadKubeConfig({ inCluster: true, inClusterEnvironment: podEnvironment() });
    await expect(new ClusterReader(kc).listKind(VPC)).rejects.toThrow(/401|unauthori[sz]ed/i);
  } finally {
    writeFileSync(path.join(saDir, 'token'), TOKEN);
  }
});

test('a CA that did not sign the server certificate is refused', async () => {
  const other = mkdtempSync(path.join(tmpdir(), 'hh-sa-other-'));
  try {
    writeFileSync(path.join(other, 'token'), TOKEN);
    copyFileSync(path.join(FIXTURES, 'other-ca.crt'), path.join(other, 'ca.crt'));
    const kc = loadKubeConfig({ inCluster: true, inClusterEnvironment: podEnvironment({ serviceAccountDir: other }) });
    const result = await new ClusterReader(kc, { maxRetries: 0 }).listKind(VPC);
    expect(result.complete).toBe(false);
    expect(result.observations).toEqual([]);
    expect(result.failure).toMatch(/unable to verify the first certificate/);
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});

test('a fabric added with --in-cluster syncs through the pod configuration', async () => {
  const db: TestDatabase = await createTestDatabase();
  try {
    const em = db.orm.em;
    const sync = new FabricSyncService(em, {
      kubeConfigFor: (f) =>
        loadKubeConfig({ inCluster: f.inCluster, context: f.kubeContext, inClusterEnvironment: podEnvironment() }),
      reader: { baseDelayMs: 5, maxDelayMs: 50 },
    });
    await new FabricRegistry(em).create('pod', { inCluster: true });
    const run = await sync.syncActualState('pod');
    expect(run.status).toBe('completed');
    expect(run.counts.listed).toBe(api.list().length);
  } finally {
    await db.close();
  }
});

describe('missing pieces are one clear error each', () => {
  test('outside a pod (no KUBERNETES_SERVICE_HOST/PORT)', () => {
    expect(() => loadKubeConfig({ inCluster: true, inClusterEnvironment: podEnvironment({ env: {} }) })).toThrow(
      new KubeConfigError(
        'in-cluster access requested but KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: run inside a pod, or give a kubeconfig path',
      ),
    );
  });

  test('no token mounted (automountServiceAccountToken: false)', () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'hh-sa-empty-'));
    try {
      expect(() =>
        loadKubeConfig({ inCluster: true, inClusterEnvironment: podEnvironment({ serviceAccountDir: empty }) }),
      ).toThrow(`in-cluster access requested but no service account token is mounted at ${path.join(empty, 'token')}`);
      writeFileSync(path.join(empty, 'token'), TOKEN);
      expect(() =>
        loadKubeConfig({ inCluster: true, inClusterEnvironment: podEnvironment({ serviceAccountDir: empty }) }),
      ).toThrow(
        `in-cluster access requested but no cluster CA certificate is mounted at ${path.join(empty, 'ca.crt')}`,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('the default directory is the one kubelet mounts', async () => {
    const { SERVICE_ACCOUNT_DIR } = await import('../src/kube/kube-config.js');
    expect(SERVICE_ACCOUNT_DIR).toBe('/var/run/secrets/kubernetes.io/serviceaccount');
  });
});
