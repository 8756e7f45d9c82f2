/**
 * ledger.publish against real Git: a bare repository as the remote, clones of it as other people's work trees.
 * New, changed and deleted objects; other documents byte-for-byte; external commits merged or in conflict; a hook
 * that refuses the push; two publishers at once; the round trip publish → desired sync → actual sync.
 */
import 'reflect-metadata';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openLedger, type Ledger } from '../src/index.js';
import { PublishRejectedError } from '../src/writeback/publish.js';
import { commitFiles, createGitRepo, git } from '../src/testing/git-repo.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { createEmptyDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';
import type { VPC } from '../src/kinds/index.js';

const API = 'vpc.githedgehog.com/v1beta1' as const;
const vpcYaml = (name: string, subnet: string, vlan = 1001) =>
  `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: ${name}\nspec:\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n    default:\n      subnet: ${subnet}\n      vlan: ${vlan}\n`;
const vpc = (name: string, subnet: string, vlan = 1001): VPC => ({
  apiVersion: API,
  kind: 'VPC' as const,
  metadata: { name },
  spec: { ipv4Namespace: 'default', vlanNamespace: 'default', subnets: { default: { subnet, vlan } } },
});

// A file a person wrote: a header comment, quoting, a comment inside the edited document, a document after it.
const VPCS_FILE =
  `# VPCs of tenant A — edited by hand\n` +
  vpcYaml('vpc-1', '10.0.1.0/24').replace('spec:\n', 'spec:\n  # keep the namespaces as they are\n') +
  `---\n# the second VPC\napiVersion: "${API}"\nkind: VPC\nmetadata:\n  name: 'vpc-2'\nspec: {ipv4Namespace: default, vlanNamespace: default, subnets: {default: {subnet: 10.0.2.0/24, vlan: 1002}}}\n`;

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let ledger: Ledger;
let dir: string;
let remote: string;
const api = new FakeKubeApi();
const AUTHOR = 'Ledger Bot <ledger@example.invalid>';

async function remoteFile(file: string, ref = 'main'): Promise<string | null> {
  return git(remote, 'show', `${ref}:${file}`).then(
    (t) => t + '\n',
    () => null,
  );
}

/** Someone else's commit, pushed to the remote. */
async function externalCommit(files: Record<string, string | null>, message: string): Promise<string> {
  const work = path.join(dir, `work-${Math.random().toString(36).slice(2)}`);
  await git(dir, 'clone', '-q', remote, work);
  const sha = await commitFiles(work, files, { message });
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
  return sha;
}

async function row(name: string) {
  const rows = await ledger.em
    .fork()
    .getConnection()
    .execute<Record<string, unknown>[]>(`SELECT * FROM hedgehog_resource WHERE name = ?`, [name]);
  return rows[0];
}

beforeAll(async () => {
  db = await createEmptyDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), 'hh-publish-'));
  const seed = path.join(dir, 'seed');
  await createGitRepo(seed, { 'fabric/vpcs.yaml': VPCS_FILE, 'fabric/other.yaml': vpcYaml('vpc-3', '10.0.3.0/24') });
  remote = path.join(dir, 'remote.git');
  await git(dir, 'clone', '-q', '--bare', seed, remote);
  await api.start();
  ledger = await openLedger({
    databaseUrl: db.url,
    kubeConfigFor: () => api.kubeConfig(),
    sync: { gitCacheDir: path.join(dir, 'cache', 'git-cache') },
  });
  await ledger.fabrics.create('dc1', {
    gitRepository: remote,
    gitRef: 'main',
    gitPath: 'fabric',
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

test('new, changed and deleted objects land as one commit; the rest of each file stays byte-for-byte', async () => {
  const before = await git(remote, 'rev-parse', 'main');
  await ledger.drafts.apply('dc1', vpc('vpc-1', '10.0.1.0/24', 1111), { actor: 'alice' });
  await ledger.drafts.apply('dc1', vpc('vpc-new', '10.0.9.0/24'), { actor: 'alice' });
  await ledger.drafts.delete('dc1', { kind: 'VPC', name: 'vpc-3' }, { actor: 'alice' });
  const events: { name: string; change: string; state?: string }[] = [];
  const onResource = (e: { name: string; change: string; state?: string }) => events.push(e);
  ledger.sync.on('resource', onResource);
  const report = await ledger.publish('dc1', { message: 'Tenant A changes', author: AUTHOR, actor: 'alice' });
  ledger.sync.off('resource', onResource);
  expect(events.map((e) => [e.name, e.change, e.state]).sort()).toEqual([
    ['vpc-1', 'updated', 'committed'],
    ['vpc-3', 'deleted', undefined],
    ['vpc-new', 'updated', 'committed'],
  ]);
  expect(report.status).toBe('completed');
  expect(report.pushed).toBe(true);
  expect(report.published.map((p) => [p.name, p.outcome]).sort()).toEqual([
    ['vpc-1', 'updated'],
    ['vpc-3', 'deleted'],
    ['vpc-new', 'created'],
  ]);
  const head = await git(remote, 'rev-parse', 'main');
  expect(report.commit).toBe(head);
  expect(await git(remote, 'rev-list', '--count', `${before}..${head}`)).toBe('1');
  expect(await git(remote, 'rev-parse', `${head}^`)).toBe(before);
  expect(await git(remote, 'log', '-1', '--format=%an <%ae>', head)).toBe(AUTHOR);
  const message = await git(remote, 'log', '-1', '--format=%B', head);
  expect(message).toMatch(/^Tenant A changes\n\n/);
  expect(message).toMatch(/update VPC default\/vpc-1 \(fabric\/vpcs.yaml\)/);
  expect(message).toMatch(/create VPC default\/vpc-new \(fabric\/managed\/vpcs\/vpc-new.yaml\)/);

  const edited = (await remoteFile('fabric/vpcs.yaml'))!;
  expect(edited).toBe(VPCS_FILE.replace('vlan: 1001', 'vlan: 1111'));
  expect(await remoteFile('fabric/other.yaml')).toBeNull(); // its only object was deleted
  expect(await remoteFile('fabric/managed/vpcs/vpc-new.yaml')).toMatch(/name: vpc-new[\s\S]*subnet: 10.0.9.0\/24/);

  const r1 = await row('vpc-1');
  expect(r1).toMatchObject({
    desired_commit: head,
    draft_operation: null,
    draft_spec: null,
    resource_state: 'committed',
  });
  expect(r1!.file_hash).toMatch(/^[0-9a-f]{64}$/);
  expect(await row('vpc-3')).toBeUndefined(); // not in the cluster either: nothing left to track
  const run = report.run;
  expect(run).toMatchObject({ type: 'publish', status: 'completed', commit: head });
  expect(run.counts).toMatchObject({ created: 1, updated: 1, cleared: 1, failed: 0 });
});

test('round trip: the next desired sync has nothing to change; the cluster showing it makes it synced', async () => {
  const desired = await ledger.sync.syncDesiredState('dc1');
  expect(desired.counts).toMatchObject({ created: 0, updated: 0, cleared: 0 });
  expect((await row('vpc-2'))!.external_modifications).toEqual([]);
  const spec = (await row('vpc-new'))!.desired_spec as Record<string, unknown>;
  api.load([{ ...vpc('vpc-new', '10.0.9.0/24'), metadata: { name: 'vpc-new', namespace: 'default' }, spec }]);
  expect((await ledger.sync.syncActualState('dc1')).status).not.toBe('failed');
  expect((await row('vpc-new'))!.resource_state).toBe('synced');
});

test('an external commit on another field is merged; on the same field it is a conflict and left out', async () => {
  await ledger.drafts.apply('dc1', vpc('vpc-2', '10.0.2.0/24', 2222), { actor: 'alice' });
  await ledger.drafts.apply('dc1', vpc('vpc-new', '10.0.9.0/24', 3333), { actor: 'alice' });
  const current = (await remoteFile('fabric/vpcs.yaml'))!;
  const newFile = (await remoteFile('fabric/managed/vpcs/vpc-new.yaml'))!;
  // Someone changes vpc-2's subnet (another field than the draft's vlan) and vpc-new's vlan (the draft's field).
  const ext = await externalCommit(
    {
      'fabric/vpcs.yaml': current.replace('subnet: 10.0.2.0/24', 'subnet: 10.0.20.0/24'),
      'fabric/managed/vpcs/vpc-new.yaml': newFile.replace('vlan: 1001', 'vlan: 4444'),
    },
    'hand edit',
  );
  const report = await ledger.publish('dc1', { message: 'second', author: AUTHOR });
  expect(report.status).toBe('partial');
  expect(report.leftOut.map((l) => l.name)).toEqual(['vpc-new']);
  expect(report.leftOut[0]!.conflicts).toEqual([
    expect.objectContaining({ path: '/subnets/default/vlan', ours: 3333, theirs: 4444, base: 1001 }),
  ]);
  const file = (await remoteFile('fabric/vpcs.yaml'))!;
  expect(file).toMatch(/subnet: 10.0.20.0\/24, vlan: 2222/); // both changes, in the flow style it was written in
  expect(await remoteFile('fabric/managed/vpcs/vpc-new.yaml')).toBe(newFile.replace('vlan: 1001', 'vlan: 4444'));
  expect(await git(remote, 'rev-parse', `${report.commit!}^`)).toBe(ext);

  const r2 = await row('vpc-2');
  expect(r2).toMatchObject({ conflict_status: 'resolved', draft_spec: null });
  expect(r2!.external_modifications).toEqual([
    expect.objectContaining({ commit: ext, path: 'fabric/vpcs.yaml', changedPaths: ['/subnets/default/subnet'] }),
  ]);
  const conflicted = await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-new' });
  expect(conflicted).toMatchObject({ conflictStatus: 'detected', operation: 'apply' });
  expect(conflicted!.conflict!.paths).toHaveLength(1);

  // --strategy ours settles it: the draft's value wins, recorded as resolved.
  const ours = await ledger.publish('dc1', { message: 'take ours', author: AUTHOR, strategy: 'ours' });
  expect(ours.status).toBe('completed');
  expect(await remoteFile('fabric/managed/vpcs/vpc-new.yaml')).toMatch(/vlan: 3333/);
  expect(await row('vpc-new')).toMatchObject({ conflict_status: 'resolved', draft_operation: null });
});

test('a pre-receive hook that refuses the push is a clear error; the drafts stay drafts', async () => {
  const hook = path.join(remote, 'hooks', 'pre-receive');
  await mkdir(path.dirname(hook), { recursive: true });
  await writeFile(hook, '#!/bin/sh\necho "main is protected: open a pull request" >&2\nexit 1\n');
  await chmod(hook, 0o755);
  const head = await git(remote, 'rev-parse', 'main');
  try {
    await ledger.drafts.apply('dc1', vpc('vpc-2', '10.0.20.0/24', 2223));
    const attempt = ledger.publish('dc1', { message: 'refused', author: AUTHOR });
    await expect(attempt).rejects.toThrow(PublishRejectedError);
    await expect(ledger.publish('dc1', { message: 'refused', author: AUTHOR })).rejects.toThrow(
      /refused the push.*main is protected/,
    );
    expect(await git(remote, 'rev-parse', 'main')).toBe(head);
    expect((await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-2' }))?.operation).toBe('apply');
    // A pull-request branch is not protected: the commit goes there, main and the draft stay as they were.
    await rm(hook);
    const pr = await ledger.publish('dc1', { message: 'via a branch', author: AUTHOR, branch: 'change/vpc-2' });
    expect(pr).toMatchObject({ status: 'completed', branch: 'change/vpc-2', pushed: true });
    expect(await git(remote, 'rev-parse', 'main')).toBe(head);
    expect(await remoteFile('fabric/vpcs.yaml', 'change/vpc-2')).toMatch(/vlan: 2223/);
    expect((await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-2' }))?.operation).toBe('apply');
    // Merged by a person: the next desired sync finds Git declaring the draft and clears it.
    await git(remote, 'update-ref', 'refs/heads/main', pr.commit!);
    await ledger.sync.syncDesiredState('dc1');
    expect(await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-2' })).toBeNull();
  } finally {
    await rm(hook, { force: true });
  }
});

test('two publishers at once on the same branch: both changes land, no force push', async () => {
  await ledger.fabrics.create('dc2', {
    gitRepository: remote,
    gitRef: 'main',
    gitPath: 'fabric',
    namespaces: ['default'],
  });
  await ledger.sync.syncDesiredState('dc2');
  await ledger.drafts.apply('dc1', vpc('vpc-a1', '10.1.1.0/24'));
  await ledger.drafts.apply('dc2', vpc('vpc-b1', '10.1.2.0/24'));
  const before = await git(remote, 'rev-parse', 'main');
  const [a, b] = await Promise.all([
    ledger.publish('dc1', { message: 'from a', author: AUTHOR }),
    ledger.publish('dc2', { message: 'from b', author: AUTHOR }),
  ]);
  expect([a.status, b.status]).toEqual(['completed', 'completed']);
  expect(await git(remote, 'rev-list', '--count', `${before}..main`)).toBe('2');
  expect(await remoteFile('fabric/managed/vpcs/vpc-a1.yaml')).toMatch(/vpc-a1/);
  expect(await remoteFile('fabric/managed/vpcs/vpc-b1.yaml')).toMatch(/vpc-b1/);
  expect(Math.max(a.attempts, b.attempts)).toBeGreaterThanOrEqual(1);
});

test('a template that leaves the fabric path leaves the object out with the reason; a crafted name is refused as a draft', async () => {
  await expect(ledger.drafts.apply('dc1', vpc('../../etc/passwd', '10.0.0.0/24'))).rejects.toThrow(/name/);
  await ledger.em
    .fork()
    .getConnection()
    .execute(`UPDATE hedgehog_fabric SET managed_file_template = '../../{name}.yaml' WHERE name = 'dc1'`);
  await ledger.drafts.apply('dc1', vpc('vpc-escape', '10.2.0.0/24'));
  const head = await git(remote, 'rev-parse', 'main');
  const report = await ledger.publish('dc1', { message: 'escape', author: AUTHOR });
  expect(report.leftOut).toEqual([
    expect.objectContaining({ name: 'vpc-escape', reason: expect.stringMatching(/leaves|escape|\.\./) }),
  ]);
  expect(await git(remote, 'rev-parse', 'main')).toBe(head);
  await ledger.em
    .fork()
    .getConnection()
    .execute(`UPDATE hedgehog_fabric SET managed_file_template = DEFAULT WHERE name = 'dc1'`);
  await ledger.drafts.discard('dc1', 'all');
});

test('an interrupted publish (Ctrl-C) stops before pushing: remote unchanged, drafts kept, run failed', async () => {
  await ledger.drafts.apply('dc1', vpc('vpc-stop', '10.3.0.0/24'));
  const head = await git(remote, 'rev-parse', 'main');
  const stop = new AbortController();
  stop.abort(new Error('interrupted by SIGINT'));
  await expect(ledger.publish('dc1', { message: 'stopped', author: AUTHOR, signal: stop.signal })).rejects.toThrow(
    /publish interrupted before anything was pushed \(interrupted by SIGINT\); the drafts are kept/,
  );
  expect(await git(remote, 'rev-parse', 'main')).toBe(head);
  expect((await ledger.drafts.get('dc1', { kind: 'VPC', name: 'vpc-stop' }))?.operation).toBe('apply');
  const [run] = await ledger.em
    .fork()
    .getConnection()
    .execute<{ status: string }[]>(`SELECT status FROM sync_operation WHERE type = 'publish' ORDER BY id DESC LIMIT 1`);
  expect(run!.status).toBe('failed');
  await ledger.drafts.discard('dc1', 'all');
});

test('publish with nothing drafted says so and makes no commit', async () => {
  const head = await git(remote, 'rev-parse', 'main');
  const report = await ledger.publish('dc1', { message: 'nothing', author: AUTHOR });
  expect(report).toMatchObject({ status: 'nothing', commit: null, pushed: false });
  expect(await git(remote, 'rev-parse', 'main')).toBe(head);
  await expect(ledger.publish('dc1', { message: '  ' })).rejects.toThrow(/commit message/);
});
