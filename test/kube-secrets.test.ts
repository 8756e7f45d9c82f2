/**
 * Secrets of a kubeconfig never reach the ledger, the logs or the output: a password in the server URL
 * (`https://user:pass@host:6443`), and an exec plugin's stderr (it can carry tokens) — summarised as
 * "exec plugin <command> failed with exit code N".
 */
import 'reflect-metadata';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { MikroORM } from '@mikro-orm/postgresql';
import { kindInfo } from '../src/kube/catalog.js';
import { ClusterReader } from '../src/kube/cluster-reader.js';
import { KubeAuthError, describeKubeError } from '../src/kube/kube-errors.js';
import { apiServerUrlOf, loadKubeConfig } from '../src/kube/kube-config.js';
import { redactUrlCredentials as stripUrlCredentials } from '../src/kube/redact.js';
import { fabricSettingsFromFlags } from '../src/cli/fabric-options.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import type { Logger } from '../src/sync/logger.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { vpcs } from './helpers/kube-objects.js';

const PASSWORD = 'hunter2-Pa55';
const EXEC_SECRET = 'exec-token-7f3a9c-SECRET';
const VPC = kindInfo('VPC')!;

let dir: string;
let db: TestDatabase;
let orm: MikroORM;
let api: FakeKubeApi;
let closedPort: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hh-kube-secrets-'));
  db = await createTestDatabase();
  orm = db.orm;
  api = new FakeKubeApi();
  api.load(vpcs(2));
  await api.start();
  // A port nothing listens on: connections are refused, and the network error quotes the URL.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  await api.stop();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown> = {}): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  return file;
}

/** A logger that keeps every line, to search for secrets. */
function capturingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const keep = (obj: object | string, msg?: string) => void lines.push(JSON.stringify(obj) + (msg ?? ''));
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, text: () => lines.join('\n') };
}

async function everythingStoredAbout(fabricId: number): Promise<string> {
  const conn = orm.em.fork().getConnection();
  const fabric = await conn.execute(`SELECT * FROM hedgehog_fabric WHERE id = ?`, [fabricId]);
  const runs = await conn.execute(`SELECT * FROM sync_operation WHERE fabric_id = ?`, [fabricId]);
  return JSON.stringify({ fabric, runs });
}

async function syncWith(file: string) {
  const log = capturingLogger();
  const fabric = await new FabricRegistry(orm.em).create(`secrets-${path.basename(file, '.yaml')}`, {
    kubeconfigPath: file,
  });
  const svc = new FabricSyncService(orm.em, {
    logger: log.logger,
    reader: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 1, requestTimeoutMs: 2000 },
  });
  const report = await svc.syncActualState(fabric);
  return { report, log: log.text(), stored: await everythingStoredAbout(fabric.id) };
}

describe('a password in the server URL', () => {
  test('stripUrlCredentials / describeKubeError drop user:password from URLs', () => {
    expect(stripUrlCredentials(`https://admin:${PASSWORD}@10.0.0.1:6443/apis`)).toBe('https://10.0.0.1:6443/apis');
    expect(stripUrlCredentials('https://10.0.0.1:6443')).toBe('https://10.0.0.1:6443');
    const err = Object.assign(
      new Error(`request to https://admin:${PASSWORD}@10.0.0.1:6443/apis failed, reason: connect ECONNREFUSED`),
      {
        name: 'FetchError',
        code: 'ECONNREFUSED',
      },
    );
    expect(describeKubeError(err)).toBe(
      'FetchError: request to https://10.0.0.1:6443/apis failed, reason: connect ECONNREFUSED (ECONNREFUSED)',
    );
  });

  test('the kubeconfig error about plain http does not print it', () => {
    const file = kubeconfig('plain-http.yaml', { server: `http://admin:${PASSWORD}@127.0.0.1:${closedPort}` });
    expect(() => loadKubeConfig({ kubeconfigPath: file })).toThrow(
      new RegExp(`uses plain http \\(http://127\\.0\\.0\\.1:${closedPort}\\)`),
    );
    expect(() => loadKubeConfig({ kubeconfigPath: file })).not.toThrow(new RegExp(PASSWORD));
  });

  test('the URL stored for the fabric (fabric add/set) has no credentials', async () => {
    const file = kubeconfig('stored.yaml', { server: `https://admin:${PASSWORD}@10.0.0.1:6443` }, { token: 't' });
    expect(apiServerUrlOf(loadKubeConfig({ kubeconfigPath: file }))).toBe('https://10.0.0.1:6443');
    const prepared = await fabricSettingsFromFlags({ kubeconfig: file });
    expect(prepared.settings.apiServerUrl).toBe('https://10.0.0.1:6443');
  });

  test('a sync that cannot connect stores, logs and reports no password', async () => {
    const file = kubeconfig('refused.yaml', {
      server: `http://admin:${PASSWORD}@127.0.0.1:${closedPort}`,
      'insecure-skip-tls-verify': true,
    });
    const { report, log, stored } = await syncWith(file);
    expect(report.status).toBe('failed');
    expect(report.errorMessage).toMatch(/ECONNREFUSED/);
    expect(JSON.stringify(report)).toContain(`127.0.0.1:${closedPort}`);
    for (const text of [JSON.stringify(report), log, stored]) expect(text).not.toContain(PASSWORD);
  });
});

describe('an exec plugin that fails', () => {
  const failingPlugin = () =>
    kubeconfig(
      'exec.yaml',
      { server: api.url, 'insecure-skip-tls-verify': true },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: process.execPath,
          args: ['-e', `process.stderr.write('error: refreshing failed for token=${EXEC_SECRET}'); process.exit(3)`],
        },
      },
    );

  test('the reader fails with the command and the exit code, never the stderr', async () => {
    const reader = new ClusterReader(loadKubeConfig({ kubeconfigPath: failingPlugin() }), { maxRetries: 0 });
    const err = await reader.listKind(VPC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeAuthError);
    expect((err as Error).message).toBe(
      `cannot get the credentials of context "ctx": exec plugin ${path.basename(process.execPath)} failed with exit code 3`,
    );
  });

  test('a sync run stores, logs and reports the summary only', async () => {
    const { report, log, stored } = await syncWith(failingPlugin());
    expect(report.status).toBe('failed');
    expect(report.errorMessage).toContain('failed with exit code 3');
    for (const text of [JSON.stringify(report), log, stored]) expect(text).not.toContain(EXEC_SECRET);
  });

  test('a plugin that cannot be started is named, without its arguments', async () => {
    const file = kubeconfig(
      'exec-missing.yaml',
      { server: api.url, 'insecure-skip-tls-verify': true },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: '/nonexistent/kubelogin',
          args: [`--token=${EXEC_SECRET}`],
        },
      },
    );
    const err = await new ClusterReader(loadKubeConfig({ kubeconfigPath: file }), { maxRetries: 0 })
      .discover([VPC])
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'cannot get the credentials of context "ctx": exec plugin kubelogin could not be started (ENOENT)',
    );
  });
});
