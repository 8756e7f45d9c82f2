/** ledger.drafts: changes prepared in the ledger, validated like Git documents, with their base and history. */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openLedger, type Ledger } from '../src/index.js';
import { DraftRefusedError } from '../src/drafts/drafts.js';
import { createGitRepo } from '../src/testing/git-repo.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createEmptyDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';
import type { VPC } from '../src/kinds/index.js';

const VPC_API = 'vpc.githedgehog.com/v1beta1' as const;
const vpc = (name: string, subnet = '10.0.1.0/24', extra: Record<string, unknown> = {}): VPC => ({
  apiVersion: VPC_API,
  kind: 'VPC' as const,
  metadata: { name },
  spec: { ipv4Namespace: 'default', vlanNamespace: 'default', subnets: { default: { subnet, vlan: 1001 } }, ...extra },
});
const asYaml = (name: string, subnet: string) =>
  `apiVersion: ${VPC_API}\nkind: VPC\nmetadata:\n  name: ${name}\nspec:\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n    default:\n      subnet: ${subnet}\n      vlan: 1001\n`;

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let ledger: Ledger;
let dir: string;
let commit: string;
const api = new FakeKubeApi();

beforeAll(async () => {
  db = await createEmptyDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), 'hh-drafts-'));
  commit = await createGitRepo(path.join(dir, 'repo'), { 'vpcs.yaml': asYaml('vpc-1', '10.0.1.0/24') });
  await api.start();
  ledger = await openLedger({ databaseUrl: db.url, kubeConfigFor: () => api.kubeConfig() });
  await ledger.fabrics.create('dc1', {
    gitRepository: path.join(dir, 'repo'),
    crdDirectory: path.resolve('test/fixtures/crds'),
    namespaces: ['default'],
  });
  expect((await ledger.sync.syncDesiredState('dc1')).status).toBe('completed');
});

afterAll(async () => {
  await ifSetUp(ledger)?.close();
  await api.stop();
  await ifSetUp(db)?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function row(name: string) {
  const rows = await ledger.em
    .fork()
    .getConnection()
    .execute<Record<string, unknown>[]>(`SELECT * FROM hedgehog_resource WHERE name = ?`, [name]);
  return rows[0];
}

async function transitions(name: string) {
  return ledger.em
    .fork()
    .getConnection()
    .execute<{ from_state: string | null; to_state: string; trigger: string; reason: string }[]>(
      `SELECT t.from_state, t.to_state, t."trigger", t.reason FROM state_transition t
         LEFT JOIN hedgehog_resource r ON r.id = t.resource_id WHERE coalesce(r.name, t.name) = ? ORDER BY t.id`,
      [name],
    );
}

test('a draft of a declared object records its base, its actor and the state draft with a transition', async () => {
  const before = (await row('vpc-1'))!.resource_state;
  const r = await ledger.drafts.apply('dc1', vpc('vpc-1', '10.0.9.0/24'), { actor: 'alice' });
  expect(r.results).toEqual([
    { kind: 'VPC', namespace: 'default', name: 'vpc-1', outcome: 'created', operation: 'apply' },
  ]);
  const stored = await row('vpc-1');
  expect(stored).toMatchObject({
    draft_operation: 'apply',
    draft_updated_by: 'alice',
    draft_base_commit: commit,
    resource_state: 'draft',
    conflict_status: 'none',
  });
  expect(stored!.draft_base_spec).toEqual(stored!.desired_spec);
  expect(stored!.draft_base_file_hash).toBe(stored!.file_hash);
  expect((stored!.draft_spec as { subnets: { default: { subnet: string } } }).subnets.default.subnet).toBe(
    '10.0.9.0/24',
  );
  expect((await transitions('vpc-1')).at(-1)).toMatchObject({
    from_state: before,
    to_state: 'draft',
    trigger: 'draft',
  });

  // A second edit keeps the base the first one was made from; the same edit again changes nothing.
  await ledger.drafts.apply('dc1', asYaml('vpc-1', '10.0.8.0/24'), { actor: 'bob' });
  const again = await ledger.drafts.apply('dc1', asYaml('vpc-1', '10.0.8.0/24'), { actor: 'bob' });
  expect(again.results[0]!.outcome).toBe('unchanged');
  const draft = await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-1' });
  expect(draft).toMatchObject({ operation: 'apply', updatedBy: 'bob', state: 'draft', base: { commit } });
  expect(draft!.base.spec).toEqual(draft!.desiredSpec);
});

test('a draft equal to what Git declares is nothing to draft; discarding returns the state', async () => {
  const [first] = await transitions('vpc-1');
  await ledger.drafts.discard('dc1', { kind: 'VPC', name: 'vpc-1' });
  const r = await ledger.drafts.apply('dc1', asYaml('vpc-1', '10.0.1.0/24'));
  expect(r.results[0]!.outcome).toBe('unchanged');
  expect(await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-1' })).toBeNull();
  expect((await row('vpc-1'))!.resource_state).toBe(first!.to_state);
});

test('a new object becomes a draft-only row; discarding it removes the row and keeps its history', async () => {
  await ledger.drafts.apply('dc1', vpc('vpc-new'), { actor: 'alice' });
  expect(await row('vpc-new')).toMatchObject({
    resource_state: 'draft',
    desired_spec: null,
    first_seen: null,
    draft_base_spec: null,
  });
  const r = await ledger.drafts.discard('dc1', { kind: 'VPC', name: 'vpc-new' }, { actor: 'alice' });
  expect(r.results[0]!.outcome).toBe('discarded');
  expect(await row('vpc-new')).toBeUndefined();
  expect((await transitions('vpc-new')).map((t: { to_state: string }) => t.to_state)).toEqual(['draft', 'deleted']);
});

test('one bad document of a multi-document input is refused with file and line; the others land', async () => {
  const text = [
    asYaml('vpc-a', '10.0.2.0/24'),
    asYaml('Bad_Name', '10.0.3.0/24'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
  ].join('---\n');
  const r = await ledger.drafts.apply('dc1', text, { source: 'changes.yaml' });
  expect(r.results.map((x) => x.name)).toEqual(['vpc-a']);
  expect(r.refused).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ file: 'changes.yaml', line: 16, reason: expect.stringMatching(/Bad_Name/) }),
      expect.objectContaining({ reason: expect.stringMatching(/ConfigMap.*not a fabric kind/) }),
    ]),
  );
  await ledger.drafts.discard('dc1', 'all');
  expect(await ledger.drafts.list('dc1')).toEqual([]);
});

test('the CRD schema refuses a draft, with the path; nothing is written', async () => {
  const bad = vpc('vpc-bad', '10.0.1.0/24', { subnets: { default: { subnet: '10.0.1.0/24', vlan: 'not-a-number' } } });
  await expect(ledger.drafts.apply('dc1', bad)).rejects.toThrow(DraftRefusedError);
  await expect(ledger.drafts.apply('dc1', bad)).rejects.toThrow(/vlan/);
  expect(await row('vpc-bad')).toBeUndefined();
});

test('a delete draft needs an object Git declares; listing shows it; discard --all clears it', async () => {
  await expect(ledger.drafts.delete('dc1', { kind: 'VPC', name: 'nowhere' })).rejects.toThrow(/does not declare/);
  const r = await ledger.drafts.delete('dc1', { kind: 'VPC', name: 'vpc-1' }, { actor: 'carol' });
  expect(r.results[0]).toMatchObject({ outcome: 'created', operation: 'delete' });
  const list = await ledger.drafts.list('dc1');
  expect(list.map((d) => [d.name, d.operation, d.spec])).toEqual([['vpc-1', 'delete', null]]);
  expect((await ledger.drafts.discard('dc1', 'all')).results).toHaveLength(1);
  expect((await row('vpc-1'))!.resource_state).not.toBe('draft');
});

test('syncs keep a pending draft and its state', async () => {
  await ledger.drafts.apply('dc1', vpc('vpc-1', '10.0.7.0/24'));
  expect((await ledger.sync.syncDesiredState('dc1')).status).toBe('completed');
  expect((await ledger.sync.syncActualState('dc1')).status).toBe('completed');
  expect(await row('vpc-1')).toMatchObject({ draft_operation: 'apply', resource_state: 'draft' });
  await ledger.drafts.discard('dc1', 'all');
});

test('git_to_ledger (fabric or resource) refuses drafts with a clear error', async () => {
  await ledger.em
    .fork()
    .getConnection()
    .execute(`UPDATE hedgehog_fabric SET sync_direction = 'git_to_ledger' WHERE name = 'dc1'`);
  await expect(ledger.drafts.apply('dc1', vpc('vpc-1', '10.0.5.0/24'))).rejects.toThrow(/git_to_ledger.*read only/);
  await ledger.em
    .fork()
    .getConnection()
    .execute(`UPDATE hedgehog_fabric SET sync_direction = 'bidirectional' WHERE name = 'dc1'`);
  await ledger.em
    .fork()
    .getConnection()
    .execute(`UPDATE hedgehog_resource SET sync_direction = 'git_to_ledger' WHERE name = 'vpc-1'`);
  await expect(ledger.drafts.apply('dc1', vpc('vpc-1', '10.0.5.0/24'))).rejects.toThrow(/this object is git_to_ledger/);
  expect((await ledger.drafts.apply('dc1', vpc('vpc-other'))).results).toHaveLength(1);
  await ledger.em
    .fork()
    .getConnection()
    .execute(`UPDATE hedgehog_resource SET sync_direction = 'inherit' WHERE name = 'vpc-1'`);
  await ledger.drafts.discard('dc1', 'all');
});
