/**
 * `hh-sync` on the actual side: a run that could read no kind exits 3 and leaves the fabric not
 * "connected"; one kind refused by RBAC is a warning (exit 0) naming the missing grant; a server URL's password
 * is never stored. Driven in-process on one database against a fake API in this process; each test has a
 * fabric of its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FakeKubeApi } from '../src/testing/index.js';
import { createSharedCliLedger, type SharedCliLedger } from './helpers/cli-in-process.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { ifSetUp } from './helpers/if-set-up.js';

const PASSWORD = 'pw-9d2e-hunter2';
let ledger: SharedCliLedger;
let api: FakeKubeApi;
let work: string;

const hh = (args: string[]) => ledger.hh(args);
const EVERY_LIST =
  /\/(vpcs|vpcattachments|vpcpeerings|externals|externalattachments|externalpeerings|ipv4namespaces|connections|servers|switches|switchgroups|switchprofiles|serverprofiles|vlannamespaces)$/;

beforeAll(async () => {
  ledger = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-actual-'));
  api = new FakeKubeApi();
  api.load([...vpcs(2), obj('Server', 'srv-1')]);
  await api.start();
  writeFileSync(join(work, 'kubeconfig'), api.kubeconfigYaml());
}, 60_000);

async function addFabric(name: string): Promise<void> {
  expect((await hh(['fabric', 'add', name, '--kubeconfig', join(work, 'kubeconfig')])).code).toBe(0);
}

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(ledger)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(() => api.clearFaults());

async function connectionStatus(name: string): Promise<string> {
  const list = JSON.parse((await hh(['fabric', 'list', '--json'])).stdout) as {
    name: string;
    connectionStatus: string;
  }[];
  return list.find((f) => f.name === name)!.connectionStatus;
}

test('no kind readable (every list refused): the run is failed, exit 3, and the fabric is not "connected"', async () => {
  await addFabric('lab');
  api.injectFault({ type: 'status', code: 403, match: { watch: false, path: EVERY_LIST } });
  const r = await hh(['sync', 'lab', '--actual', '--json']);
  expect(r.code).toBe(3);
  const report = JSON.parse(r.stdout);
  expect(report.status).toBe('failed');
  expect(report.errors).toHaveLength(14);
  expect(r.stderr).toMatch(/no fabric kind could be read from the cluster: every list failed: forbidden: cannot list/);
  expect(await connectionStatus('lab')).not.toBe('connected');
}, 60_000);

test('one kind refused by RBAC: partial, exit 0, the missing grant named; the rest lands', async () => {
  await addFabric('rbac');
  api.injectFault({ type: 'status', code: 403, match: { plural: 'servers' } });
  const r = await hh(['sync', 'rbac', '--actual', '--json']);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expect(report.status).toBe('partial');
  expect(report.counts).toMatchObject({ listed: 2, failed: 0 });
  expect(report.errors).toEqual([
    {
      kind: 'Server',
      namespace: null,
      name: null,
      file: null,
      line: null,
      reason:
        'list failed, rows of this kind left untouched: forbidden: cannot list servers.wiring.githedgehog.com in all namespaces (RBAC: grant "list" on "servers" in API group "wiring.githedgehog.com")',
    },
  ]);
}, 60_000);

test("a password in the kubeconfig server URL is not stored as the fabric's API server URL", async () => {
  const file = join(work, 'kubeconfig-with-password');
  const url = new URL(api.url);
  writeFileSync(
    file,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'c', cluster: { server: `http://admin:${PASSWORD}@${url.host}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  const add = await hh(['fabric', 'add', 'pw', '--kubeconfig', file, '--json']);
  expect(add.code).toBe(0);
  expect(JSON.parse(add.stdout).apiServerUrl).toBe(`http://${url.host}`);
  for (const out of [add.stdout, add.stderr]) expect(out).not.toContain(PASSWORD);
  // (A sync's messages, logs and records are checked in kube-secrets.test.ts, in process.)
}, 60_000);
