/**
 * `hh-sync` telling schema coverage the way a person meets it: `--crds` holding only the VPC CRD
 * names the Switch as NOT checked (text and --json), and an actual run whose CRD read is refused (403) is
 * partial naming the grant, after which the desired run says why it has no schemas. Driven in-process on one
 * database against a fake API in this process.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '../src/testing/index.js';
import { createSharedCliLedger, type SharedCliLedger } from './helpers/cli-in-process.js';
import { obj, vpcs } from './helpers/kube-objects.js';
import { ifSetUp } from './helpers/if-set-up.js';

let ledger: SharedCliLedger;
let api: FakeKubeApi;
let work: string;
const hh = (args: string[]) => ledger.hh(args);

const MANIFESTS = `apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
  namespace: default
spec:
  bogusVpcField: 1
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: sw-1
  namespace: default
spec:
  bogusField: 1
  role: not-a-role
`;

beforeAll(async () => {
  ledger = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-crds-'));
  mkdirSync(join(work, 'repo'));
  writeFileSync(join(work, 'repo', 'fabric.yaml'), MANIFESTS);
  mkdirSync(join(work, 'crds'));
  copyFileSync(join('test', 'fixtures', 'crds', 'vpcs.yaml'), join(work, 'crds', 'vpcs.yaml'));
  api = new FakeKubeApi({ crds: [] });
  api.load([...vpcs(1), obj('Switch', 'sw-1')]);
  await api.start();
  writeFileSync(join(work, 'kubeconfig'), api.kubeconfigYaml());
}, 60_000);

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(ledger)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('--crds with only the VPC CRD: the Switch is named as NOT checked, in the text and in --json', async () => {
  expect((await hh(['fabric', 'add', 'dir', '--git', join(work, 'repo'), '--crds', join(work, 'crds')])).code).toBe(0);
  const text = await hh(['sync', 'dir', '--desired']);
  expect(text.stdout).toContain(
    "schemas: checked against the fabric's CRD directory (--crds); NOT checked: Switch (no CRD schema for it)",
  );
  const json = JSON.parse((await hh(['sync', 'dir', '--desired', '--json'])).stdout);
  expect(json).toMatchObject({
    schemaSource: 'crds-dir',
    details: { schemaChecked: ['VPC'], schemaUnchecked: ['Switch'] },
  });
}, 60_000);

test('403 on the CRD list: the actual run is partial naming the grant; the desired run then says why nothing was checked', async () => {
  api.injectFault({ type: 'status', code: 403, match: { path: /\/customresourcedefinitions$/ } });
  expect(
    (await hh(['fabric', 'add', 'rbac', '--git', join(work, 'repo'), '--kubeconfig', join(work, 'kubeconfig')])).code,
  ).toBe(0);
  const actual = await hh(['sync', 'rbac', '--actual']);
  expect(actual.code).toBe(0);
  expect(actual.stdout).toMatch(/actual\s+partial/);
  expect(actual.stdout).toContain(
    "could not read the fabric's CRDs from the cluster: forbidden: cannot list customresourcedefinitions.apiextensions.k8s.io",
  );
  const desired = await hh(['sync', 'rbac', '--desired']);
  expect(desired.stdout).toMatch(
    /schemas: none known, documents were NOT checked against the CRD schemas \(the last actual sync could not read the CRDs: forbidden: .*grant "list" on "customresourcedefinitions"/,
  );
}, 60_000);
