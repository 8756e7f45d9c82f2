/**
 * Write-back as a hostile user meets it: remotes that never answer or refuse credentials, a ledger that cannot
 * record a push that landed, manifests in every shape YAML allows (kind: List, CRLF, BOM, anchors), objects
 * declared twice, Git removing or changing what a draft touches, unstorable strings, huge inputs, concurrent
 * calls. Real Git (bare remotes), real PostgreSQL; no mocks.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openLedger, type Ledger } from '../src/index.js';
import { commitFiles, createGitRepo, git } from '../src/testing/git-repo.js';
import { FakeKubeApi } from '../src/testing/index.js';
import { parseManifestFile } from '../src/gitops/manifest-parser.js';
import { LOCK_NAMESPACE } from '../src/store/fabric-lock.js';
import { createEmptyDatabase, describeWithServer } from './helpers/database.js';
import type { Logger } from '../src/sync/logger.js';
import type { VPC } from '../src/kinds/index.js';

const API = 'vpc.githedgehog.com/v1beta1' as const;
const AUTHOR = 'Hostile Tester <hostile@example.invalid>';
const SECRET = 's3cr3t-T0KEN-value';
const CRDS = path.resolve('test/fixtures/crds');

const vpcYaml = (name: string, subnet: string, vlan = 1001) =>
  `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: ${name}\nspec:\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n    default:\n      subnet: ${subnet}\n      vlan: ${vlan}\n`;
const vpc = (name: string, subnet: string, vlan = 1001): VPC => ({
  apiVersion: API,
  kind: 'VPC' as const,
  metadata: { name },
  spec: { ipv4Namespace: 'default', vlanNamespace: 'default', subnets: { default: { subnet, vlan } } },
});

let db: Awaited<ReturnType<typeof createEmptyDatabase>>;
let ledger: Ledger;
/** The same database with short limits: Git network operations and fabric-lock waits. */
let quick: Ledger;
const logged: string[] = [];
let dir: string;
const api = new FakeKubeApi();

const captureLogger: Logger = {
  debug: (o, m) => void logged.push(JSON.stringify(o) + (m ?? '')),
  info: (o, m) => void logged.push(JSON.stringify(o) + (m ?? '')),
  warn: (o, m) => void logged.push(JSON.stringify(o) + (m ?? '')),
  error: (o, m) => void logged.push(JSON.stringify(o) + (m ?? '')),
};

beforeAll(async () => {
  db = await createEmptyDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), 'hh-wb-hostile-'));
  await api.start();
  const common = { databaseUrl: db.url, kubeConfigFor: () => api.kubeConfig() };
  ledger = await openLedger({ ...common, sync: { gitCacheDir: path.join(dir, 'cache', 'git-cache') } });
  quick = await openLedger({
    ...common,
    logger: captureLogger,
    sync: { gitCacheDir: path.join(dir, 'cache', 'git-cache'), lockTimeoutMs: 300, desired: { gitTimeoutMs: 1500 } },
  });
});

afterAll(async () => {
  await quick.close();
  await ledger.close();
  await api.stop();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

/** A fabric on a fresh bare remote holding `files`, read once; returns the remote's path. */
async function fabricOn(name: string, files: Record<string, string | Uint8Array>): Promise<string> {
  const seed = path.join(dir, `${name}-seed`);
  await createGitRepo(seed, files);
  const remote = path.join(dir, `${name}.git`);
  await git(dir, 'clone', '-q', '--bare', seed, remote);
  await ledger.fabrics.create(name, {
    gitRepository: remote,
    gitRef: 'main',
    gitPath: 'fabric',
    crdDirectory: CRDS,
    namespaces: ['default'],
  });
  expect((await ledger.sync.syncDesiredState(name)).status).not.toBe('failed');
  return remote;
}

async function remoteFile(remote: string, file: string): Promise<Buffer | null> {
  return new Promise((resolve) => {
    execFile('git', ['--git-dir', remote, 'show', `main:${file}`], { encoding: 'buffer' }, (err, out) =>
      resolve(err ? null : out),
    );
  });
}

/** The error `p` rejects with, or null when it resolves. */
function rejection(p: Promise<unknown>): Promise<Error | null> {
  return p.then(
    () => null,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
}

/** Someone else's commit pushed to `remote`'s main. */
async function externalCommit(remote: string, files: Record<string, string | null>, message = 'hand edit') {
  const work = path.join(dir, `work-${Math.random().toString(36).slice(2)}`);
  await git(dir, 'clone', '-q', remote, work);
  const sha = await commitFiles(work, files, { message });
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
  return sha;
}

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return ledger.em.fork().getConnection().execute<T[]>(text, params);
}

async function row(fabric: string, name: string) {
  const rows = await sql(
    `SELECT r.* FROM hedgehog_resource r JOIN hedgehog_fabric f ON f.id = r.fabric_id WHERE f.name = ? AND r.name = ?`,
    [fabric, name],
  );
  return rows[0];
}

async function lastRun(fabric: string) {
  const rows = await sql(
    `SELECT o.* FROM sync_operation o JOIN hedgehog_fabric f ON f.id = o.fabric_id
      WHERE f.name = ? AND o.type = 'publish' ORDER BY o.id DESC LIMIT 1`,
    [fabric],
  );
  return rows[0]!;
}

/** The spec of `name` in `text`, as the manifest parser reads it (what a desired sync would store). */
function parsedSpec(file: string, text: Buffer, name: string): unknown {
  const parsed = parseManifestFile(file, text);
  expect(parsed.errors).toEqual([]);
  return parsed.observations.find((o) => o.name === name)?.spec;
}

describe('unreachable remotes and secrets', () => {
  test('a remote that accepts and never answers: a clear error within the time limit, drafts kept, run failed', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      await fabricOn('hang', { 'fabric/vpcs.yaml': vpcYaml('vpc-h', '10.9.0.0/24') });
      await ledger.drafts.apply('hang', vpc('vpc-h', '10.9.0.0/24', 1999));
      // A hostile (or careless) edit of the stored URL puts a token in it: it must still never be shown.
      await sql(`UPDATE hedgehog_fabric SET git_repository = ? WHERE name = 'hang'`, [
        `http://user:${SECRET}@127.0.0.1:${port}/repo.git`,
      ]);
      logged.length = 0;
      const error = await rejection(quick.publish('hang', { message: 'never answered', author: AUTHOR }));
      expect(error).toBeInstanceOf(Error);
      expect(error!.message).toMatch(/cannot fetch|timed out|time limit/i);
      expect(error!.message).not.toContain(SECRET);
      expect(error!.message.split('\n')).toHaveLength(1);
      const run = await lastRun('hang');
      expect(run).toMatchObject({ status: 'failed' });
      expect(JSON.stringify(run)).not.toContain(SECRET);
      expect(logged.join('\n')).not.toContain(SECRET);
      expect(await quick.drafts.get('hang', { kind: 'VPC', name: 'vpc-h' })).toMatchObject({ operation: 'apply' });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('HH_SYNC_GIT_TOKEN offered to a remote that refuses it never shows in the error, the run or the logs', async () => {
    let authorization = '';
    const server = http.createServer((req, res) => {
      authorization ||= req.headers.authorization ?? '';
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('no');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    process.env.HH_SYNC_GIT_TOKEN = SECRET;
    try {
      await fabricOn('token', { 'fabric/vpcs.yaml': vpcYaml('vpc-t', '10.9.1.0/24') });
      await ledger.drafts.apply('token', vpc('vpc-t', '10.9.1.0/24', 1998));
      await sql(`UPDATE hedgehog_fabric SET git_repository = ? WHERE name = 'token'`, [
        `http://127.0.0.1:${port}/repo.git`,
      ]);
      logged.length = 0;
      const error = await rejection(quick.publish('token', { message: 'refused', author: AUTHOR }));
      expect(error!.message).toMatch(/auth|cannot fetch/i);
      // The token did reach the remote (so this test exercises it), and nowhere else.
      expect(Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString()).toContain(SECRET);
      expect(error!.message).not.toContain(SECRET);
      expect(JSON.stringify(await lastRun('token'))).not.toContain(SECRET);
      expect(logged.join('\n')).not.toContain(SECRET);
      expect(await quick.drafts.get('token', { kind: 'VPC', name: 'vpc-t' })).not.toBeNull();
    } finally {
      delete process.env.HH_SYNC_GIT_TOKEN;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a push that never finishes', () => {
  test('is abandoned at the time limit with a clear error; nothing landed; the draft stays', async () => {
    const remote = await fabricOn('slowpush', { 'fabric/s.yaml': vpcYaml('vpc-s', '10.8.16.0/24') });
    await ledger.drafts.apply('slowpush', vpc('vpc-s', '10.8.16.0/24', 2016));
    const head = await git(remote, 'rev-parse', 'main');
    const hook = path.join(remote, 'hooks', 'pre-receive');
    await mkdir(path.dirname(hook), { recursive: true });
    // Far beyond Jest's limit: only the publisher's own time limit can end this push.
    await writeFile(hook, '#!/bin/sh\nexec sleep 600\n');
    await chmod(hook, 0o755);
    try {
      const error = await rejection(quick.publish('slowpush', { message: 'slow', author: AUTHOR }));
      expect(error?.message).toMatch(/cannot push to main/);
      expect(error!.message.split('\n')).toHaveLength(1);
    } finally {
      await rm(hook, { force: true });
    }
    expect(await git(remote, 'rev-parse', 'main')).toBe(head);
    expect(await lastRun('slowpush')).toMatchObject({ status: 'failed' });
    expect(await ledger.drafts.get('slowpush', { kind: 'VPC', name: 'vpc-s' })).toMatchObject({ operation: 'apply' });
  });
});

// Needs two sessions at once: the embedded PGlite serves one session's transaction at a time, so the lock holder
// below would also hold back the publish's own first statement (it shows as skipped without a server).
describeWithServer('the ledger cannot record a push that landed', () => {
  test('the error and the run say the commit was pushed; the next desired sync converges', async () => {
    const remote = await fabricOn('norecord', { 'fabric/vpcs.yaml': vpcYaml('vpc-n', '10.9.2.0/24') });
    await ledger.drafts.apply('norecord', vpc('vpc-n', '10.9.2.0/24', 1997));
    const [{ id }] = (await sql<{ id: number }>(`SELECT id FROM hedgehog_fabric WHERE name = 'norecord'`)) as [
      { id: number },
    ];
    // Another session holds the fabric's lock for the whole publish: the record step cannot take it.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    let error: Error | null | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_NAMESPACE, id]);
      error = await rejection(quick.publish('norecord', { message: 'lands unrecorded', author: AUTHOR }));
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    const head = await git(remote, 'rev-parse', 'main');
    expect((await remoteFile(remote, 'fabric/vpcs.yaml'))!.toString()).toMatch(/vlan: 1997/);
    expect(error).not.toBeNull();
    expect(error!.message).toContain(head.slice(0, 12));
    expect(error!.message).toMatch(/pushed/);
    const run = await lastRun('norecord');
    expect(run).toMatchObject({ status: 'failed', commit_sha: head });
    expect(String(run.error_message)).toMatch(/pushed/);
    // Nothing was recorded; the next desired sync finds Git declaring the draft and clears it.
    expect(await row('norecord', 'vpc-n')).toMatchObject({ draft_operation: 'apply' });
    expect((await ledger.sync.syncDesiredState('norecord')).status).toBe('completed');
    const after = await row('norecord', 'vpc-n');
    expect(after).toMatchObject({ draft_operation: null, draft_spec: null, desired_commit: head });
    expect((after!.desired_spec as { subnets: { default: { vlan: number } } }).subnets.default.vlan).toBe(1997);
    // The ledger's own commit (its run says it pushed it) is no external modification.
    expect(after!.external_modifications).toEqual([]);
  });
});

describe('manifests in every shape', () => {
  const LIST =
    `apiVersion: v1\nkind: List\nitems:\n` +
    `  - apiVersion: ${API}\n    kind: VPC\n    metadata:\n      name: vpc-l1\n    spec:\n      ipv4Namespace: default\n      vlanNamespace: default\n      subnets:\n        default:\n          subnet: 10.7.1.0/24\n          vlan: 1701\n` +
    `  - apiVersion: ${API}\n    kind: VPC\n    metadata:\n      name: vpc-l2\n    spec:\n      ipv4Namespace: default\n      vlanNamespace: default\n      subnets:\n        default:\n          subnet: 10.7.2.0/24\n          vlan: 1702\n`;
  const CRLF = (vpcYaml('vpc-c1', '10.7.3.0/24', 1703) + '---\n' + vpcYaml('vpc-c2', '10.7.4.0/24', 1704)).replace(
    /\n/g,
    '\r\n',
  );
  const BOM = '\uFEFF' + vpcYaml('vpc-b1', '10.7.5.0/24', 1705);
  const ANCHORS =
    `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: vpc-a1\nspec:\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n` +
    `    default: &sub\n      subnet: 10.7.6.0/24\n      vlan: 1706\n    second:\n      <<: *sub\n      subnet: 10.7.7.0/24\n`;
  const files = {
    'fabric/list.yaml': LIST,
    'fabric/crlf.yaml': CRLF,
    'fabric/bom.yaml': BOM,
    'fabric/anchors.yaml': ANCHORS,
    'fabric/untouched.yaml': vpcYaml('vpc-u', '10.7.9.0/24'),
  };
  let remote: string;

  beforeAll(async () => {
    remote = await fabricOn('shapes', files);
  });

  test.each([
    ['kind: List item', 'fabric/list.yaml', 'vpc-l2', '10.7.2.0/24'],
    ['CRLF file', 'fabric/crlf.yaml', 'vpc-c2', '10.7.4.0/24'],
    ['file with a BOM', 'fabric/bom.yaml', 'vpc-b1', '10.7.5.0/24'],
  ])('a draft of an object in a %s is edited in place and parses to the draft', async (_what, file, name, subnet) => {
    await ledger.drafts.apply('shapes', vpc(name, subnet, 2999));
    const drafted = (await ledger.drafts.get('shapes', { kind: 'VPC', name }))!.spec;
    const before = await Promise.all(Object.keys(files).map((f) => remoteFile(remote, f)));
    const report = await ledger.publish('shapes', { message: `edit ${name}`, author: AUTHOR });
    expect(report).toMatchObject({ status: 'completed', files: [file] });
    const after = (await remoteFile(remote, file))!;
    expect(parsedSpec(file, after, name)).toEqual(drafted);
    for (const [i, other] of Object.keys(files).entries()) {
      if (other !== file) expect(await remoteFile(remote, other)).toEqual(before[i]);
    }
    const text = after.toString('utf8');
    if (file.endsWith('crlf.yaml')) expect(text.replace(/\r\n/g, '')).not.toMatch(/\n/); // still CRLF throughout
    if (file.endsWith('bom.yaml')) expect(text.startsWith('\uFEFF')).toBe(true);
    if (file.endsWith('list.yaml')) {
      // The other item of the List stays as written and still parses to what it was.
      expect(parsedSpec(file, after, 'vpc-l1')).toEqual(parsedSpec(file, Buffer.from(LIST), 'vpc-l1'));
      expect(text).toContain(LIST.slice(0, LIST.indexOf('  - apiVersion', 30)));
    }
    expect(await ledger.drafts.get('shapes', { kind: 'VPC', name })).toBeNull();
  });

  test('a draft of an object written with an anchor and a merge key: Git ends up declaring exactly the draft', async () => {
    const declared = (await row('shapes', 'vpc-a1'))!.desired_spec as {
      subnets: Record<string, { subnet: string; vlan: number }>;
    };
    expect(declared.subnets.second).toEqual({ subnet: '10.7.7.0/24', vlan: 1706 });
    // Change only the anchored subnet's vlan; `second` keeps 1706 in the draft.
    const draft = structuredClone(declared);
    draft.subnets.default!.vlan = 2706;
    await ledger.drafts.apply('shapes', { ...vpc('vpc-a1', '10.7.6.0/24'), spec: draft });
    const drafted = (await ledger.drafts.get('shapes', { kind: 'VPC', name: 'vpc-a1' }))!.spec;
    const report = await ledger.publish('shapes', { message: 'anchored', author: AUTHOR });
    expect(report.status).toBe('completed');
    const after = (await remoteFile(remote, 'fabric/anchors.yaml'))!;
    expect(parsedSpec('fabric/anchors.yaml', after, 'vpc-a1')).toEqual(drafted);
  });
});

describe('shapes the editor may not handle', () => {
  const ALIASED_SPEC =
    `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: vpc-q\n  annotations:\n    base: &base x\n` +
    `spec: &spec\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets: {default: {subnet: 10.8.20.0/24, vlan: 1001}}\n`;
  const FLOW_DOC = `{apiVersion: ${API}, kind: VPC, metadata: {name: vpc-f}, spec: {ipv4Namespace: default, vlanNamespace: default, subnets: {default: {subnet: 10.8.21.0/24, vlan: 1001}}}}\n`;
  const TWO_DOCS_ONE_LINE_END =
    vpcYaml('vpc-g1', '10.8.22.0/24') + '---\n' + vpcYaml('vpc-g2', '10.8.23.0/24').trimEnd();

  test.each([
    ['an anchored spec', 'fabric/q.yaml', ALIASED_SPEC, 'vpc-q', '10.8.20.0/24'],
    ['a whole document in flow style', 'fabric/f.yaml', FLOW_DOC, 'vpc-f', '10.8.21.0/24'],
    ['a last document without a final newline', 'fabric/g.yaml', TWO_DOCS_ONE_LINE_END, 'vpc-g2', '10.8.23.0/24'],
  ])('%s: edited to parse as the draft, or left out alone', async (_what, file, text, name, subnet) => {
    const fabric = `odd-${name}`;
    const remote = await fabricOn(fabric, { [file]: text, 'fabric/plain.yaml': vpcYaml('vpc-p', '10.8.24.0/24') });
    await ledger.drafts.apply(fabric, [vpc(name, subnet, 2020), vpc('vpc-p', '10.8.24.0/24', 2021)]);
    const drafted = (await ledger.drafts.get(fabric, { kind: 'VPC', name }))!.spec;
    const report = await ledger.publish(fabric, { message: 'odd', author: AUTHOR });
    expect((await remoteFile(remote, 'fabric/plain.yaml'))!.toString()).toMatch(/vlan: 2021/);
    if (report.leftOut.length === 0) {
      expect(parsedSpec(file, (await remoteFile(remote, file))!, name)).toEqual(drafted);
    } else {
      expect(report.leftOut).toEqual([expect.objectContaining({ name, reason: expect.any(String) })]);
      expect((await remoteFile(remote, file))!.toString()).toBe(text);
    }
  });
});

test('a file the editor refuses costs only its own objects; the others are published', async () => {
  const broken = `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: vpc-m2\nspec: [unclosed\n`;
  const mixed = vpcYaml('vpc-m1', '10.8.25.0/24') + '---\n' + broken;
  const remote = await fabricOn('mixed', {
    'fabric/mixed.yaml': mixed,
    'fabric/plain.yaml': vpcYaml('vpc-mp', '10.8.26.0/24'),
  });
  expect((await row('mixed', 'vpc-m1'))!.desired_spec).not.toBeNull(); // its document parses; its neighbour does not
  await ledger.drafts.apply('mixed', [vpc('vpc-m1', '10.8.25.0/24', 2025), vpc('vpc-mp', '10.8.26.0/24', 2026)]);
  const report = await ledger.publish('mixed', { message: 'mixed', author: AUTHOR });
  expect(report.status).toBe('partial');
  expect(report.published.map((p) => p.name)).toEqual(['vpc-mp']);
  expect(report.leftOut).toEqual([
    expect.objectContaining({ name: 'vpc-m1', reason: expect.stringMatching(/mixed\.yaml.*does not parse/) }),
  ]);
  expect((await remoteFile(remote, 'fabric/plain.yaml'))!.toString()).toMatch(/vlan: 2026/);
  expect((await remoteFile(remote, 'fabric/mixed.yaml'))!.toString()).toBe(mixed);
  expect(await ledger.drafts.get('mixed', { kind: 'VPC', name: 'vpc-m1' })).toMatchObject({ operation: 'apply' });
  expect(report.run.counts).toMatchObject({ updated: 1, failed: 1 });
});

describe('Git moved under a draft', () => {
  test('an object declared twice in Git is left out with the reason; the others still publish', async () => {
    const remote = await fabricOn('twice', {
      'fabric/a.yaml': vpcYaml('vpc-d', '10.8.1.0/24'),
      'fabric/b.yaml': vpcYaml('vpc-d', '10.8.1.0/24', 1002),
      'fabric/ok.yaml': vpcYaml('vpc-ok', '10.8.2.0/24'),
    });
    await ledger.drafts.apply('twice', [vpc('vpc-d', '10.8.1.0/24', 2001), vpc('vpc-ok', '10.8.2.0/24', 2002)]);
    const report = await ledger.publish('twice', { message: 'twice', author: AUTHOR });
    expect(report.status).toBe('partial');
    expect(report.leftOut).toEqual([
      expect.objectContaining({ name: 'vpc-d', reason: expect.stringMatching(/more than once.*a\.yaml.*b\.yaml/) }),
    ]);
    expect(report.published.map((p) => p.name)).toEqual(['vpc-ok']);
    expect((await remoteFile(remote, 'fabric/ok.yaml'))!.toString()).toMatch(/vlan: 2002/);
    expect((await remoteFile(remote, 'fabric/a.yaml'))!.toString()).toBe(vpcYaml('vpc-d', '10.8.1.0/24'));
    expect(await ledger.drafts.get('twice', { kind: 'VPC', name: 'vpc-d' })).toMatchObject({ operation: 'apply' });
    expect(report.run.counts).toMatchObject({ updated: 1, failed: 1 });
  });

  test('Git removes an object a draft changes: a conflict on the whole object; theirs drops the draft', async () => {
    const remote = await fabricOn('removed', {
      'fabric/x.yaml': vpcYaml('vpc-x', '10.8.3.0/24'),
      'fabric/keep.yaml': vpcYaml('vpc-keep', '10.8.4.0/24'),
    });
    await ledger.drafts.apply('removed', vpc('vpc-x', '10.8.3.0/24', 2003));
    await externalCommit(remote, { 'fabric/x.yaml': null }, 'remove vpc-x');
    const failed = await ledger.publish('removed', { message: 'x', author: AUTHOR });
    expect(failed.status).toBe('partial');
    expect(failed.leftOut).toEqual([
      expect.objectContaining({ name: 'vpc-x', reason: expect.stringMatching(/whole object/) }),
    ]);
    expect(await remoteFile(remote, 'fabric/x.yaml')).toBeNull();
    expect(await ledger.drafts.get('removed', { kind: 'VPC', name: 'vpc-x' })).toMatchObject({
      conflictStatus: 'detected',
    });

    const theirs = await ledger.publish('removed', { message: 'x', author: AUTHOR, strategy: 'theirs' });
    expect(theirs.leftOut).toEqual([]);
    expect(await remoteFile(remote, 'fabric/x.yaml')).toBeNull();
    expect(await ledger.drafts.get('removed', { kind: 'VPC', name: 'vpc-x' })).toBeNull();
    // The ledger says what Git says: the object is declared nowhere.
    const r = await row('removed', 'vpc-x');
    expect(r?.desired_spec ?? null).toBeNull();
    expect(r?.resource_state ?? 'gone').not.toBe('committed');
  });

  test('a delete draft of an object Git changed meanwhile is a conflict; ours deletes it anyway', async () => {
    const remote = await fabricOn('delchanged', { 'fabric/y.yaml': vpcYaml('vpc-y', '10.8.5.0/24') });
    await ledger.drafts.delete('delchanged', { kind: 'VPC', name: 'vpc-y' });
    await externalCommit(remote, { 'fabric/y.yaml': vpcYaml('vpc-y', '10.8.5.0/24', 2005) });
    const failed = await ledger.publish('delchanged', { message: 'del', author: AUTHOR });
    expect(failed.leftOut).toEqual([expect.objectContaining({ name: 'vpc-y', conflicts: expect.any(Array) })]);
    expect((await remoteFile(remote, 'fabric/y.yaml'))!.toString()).toMatch(/vlan: 2005/);

    const ours = await ledger.publish('delchanged', { message: 'del', author: AUTHOR, strategy: 'ours' });
    expect(ours.published).toEqual([expect.objectContaining({ name: 'vpc-y', outcome: 'deleted' })]);
    expect(await remoteFile(remote, 'fabric/y.yaml')).toBeNull();
    expect(await row('delchanged', 'vpc-y')).toBeUndefined();
  });

  test('a drafted object whose file no longer parses at the tip is left out, not taken as removed from Git', async () => {
    const remote = await fabricOn('broken', {
      'fabric/k1.yaml': vpcYaml('vpc-k1', '10.8.17.0/24'),
      'fabric/k2.yaml': vpcYaml('vpc-k2', '10.8.18.0/24'),
      'fabric/k3.yaml': vpcYaml('vpc-k3', '10.8.19.0/24'),
    });
    await ledger.drafts.delete('broken', { kind: 'VPC', name: 'vpc-k1' });
    await ledger.drafts.apply('broken', [vpc('vpc-k2', '10.8.18.0/24', 2018), vpc('vpc-k3', '10.8.19.0/24', 2019)]);
    const unparsable = (name: string) => `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: ${name}\nspec: [unclosed\n`;
    await externalCommit(remote, { 'fabric/k1.yaml': unparsable('vpc-k1'), 'fabric/k2.yaml': unparsable('vpc-k2') });
    // Even `ours` may not write an object whose declaration cannot be read: it would be declared twice once fixed.
    const report = await ledger.publish('broken', { message: 'broken files', author: AUTHOR, strategy: 'ours' });
    expect(report.published.map((p) => [p.name, p.outcome])).toEqual([['vpc-k3', 'updated']]);
    expect(report.leftOut.map((l) => l.name).sort()).toEqual(['vpc-k1', 'vpc-k2']);
    for (const l of report.leftOut) expect(l.reason).toMatch(/k[12]\.yaml.*(parse|error|read)/);
    expect(report.files).toEqual(['fabric/k3.yaml']);
    expect(await ledger.drafts.get('broken', { kind: 'VPC', name: 'vpc-k1' })).toMatchObject({ operation: 'delete' });
    expect(await ledger.drafts.get('broken', { kind: 'VPC', name: 'vpc-k2' })).toMatchObject({ operation: 'apply' });
    expect((await row('broken', 'vpc-k1'))!.desired_spec).not.toBeNull();
  });

  test('a delete draft Git already carried out: nothing to commit, the draft cleared, the row no longer declared', async () => {
    const remote = await fabricOn('deldone', {
      'fabric/w.yaml': vpcYaml('vpc-w', '10.8.12.0/24'),
      'fabric/w2.yaml': vpcYaml('vpc-w2', '10.8.13.0/24'),
    });
    await ledger.drafts.delete('deldone', { kind: 'VPC', name: 'vpc-w' });
    const ext = await externalCommit(remote, { 'fabric/w.yaml': null }, 'someone removed vpc-w');
    const report = await ledger.publish('deldone', { message: 'del', author: AUTHOR });
    expect(report).toMatchObject({ status: 'completed', commit: null, pushed: false });
    expect(report.published).toEqual([expect.objectContaining({ name: 'vpc-w', outcome: 'unchanged' })]);
    expect(await git(remote, 'rev-parse', 'main')).toBe(ext);
    expect(await row('deldone', 'vpc-w')).toBeUndefined(); // declared nowhere, not in the cluster
    expect((await ledger.sync.syncDesiredState('deldone')).counts).toMatchObject({ created: 0, cleared: 0 });
  });

  test('publish with push:false builds the commit, leaves the remote and the drafts, and says so', async () => {
    const remote = await fabricOn('nopush', { 'fabric/z.yaml': vpcYaml('vpc-z', '10.8.6.0/24') });
    const head = await git(remote, 'rev-parse', 'main');
    await ledger.drafts.apply('nopush', vpc('vpc-z', '10.8.6.0/24', 2006));
    const report = await ledger.publish('nopush', { message: 'local only', author: AUTHOR, push: false });
    expect(report).toMatchObject({ pushed: false, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(await git(remote, 'rev-parse', 'main')).toBe(head);
    expect(await ledger.drafts.get('nopush', { kind: 'VPC', name: 'vpc-z' })).toMatchObject({ operation: 'apply' });
    expect(await row('nopush', 'vpc-z')).toMatchObject({ resource_state: 'draft' });
    expect(report.run.details).toMatchObject({ publish: { pushed: false } });
    // Nothing reached the remote: the run counts no object as published.
    expect(report.run.counts).toMatchObject({ created: 0, updated: 0, cleared: 0, unchanged: 1 });
  });
});

describe('external modifications recorded by the desired sync', () => {
  test('each external commit is recorded with commit, author, date and paths; bounded at 20; no repeat', async () => {
    const remote = await fabricOn('external', { 'fabric/e.yaml': vpcYaml('vpc-e', '10.8.7.0/24') });
    const work = path.join(dir, 'external-work');
    await git(dir, 'clone', '-q', remote, work);
    let last = '';
    for (let i = 1; i <= 22; i++) {
      last = await commitFiles(work, { 'fabric/e.yaml': vpcYaml('vpc-e', '10.8.7.0/24', 3000 + i) }, {});
      await git(work, 'push', '-q', 'origin', 'HEAD:main');
      expect((await ledger.sync.syncDesiredState('external')).status).toBe('completed');
    }
    const list = (await row('external', 'vpc-e'))!.external_modifications as Record<string, unknown>[];
    expect(list).toHaveLength(20);
    expect(list.at(-1)).toEqual({
      commit: last,
      author: 'hh-sync test <hh-sync-test@example.invalid>',
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      path: 'fabric/e.yaml',
      changedPaths: ['/subnets/default/vlan'],
    });
    expect(new Set(list.map((e) => e.commit)).size).toBe(20);
    await ledger.sync.syncDesiredState('external');
    expect((await row('external', 'vpc-e'))!.external_modifications).toEqual(list);
  }, 180_000);
});

describe('hostile draft inputs', () => {
  beforeAll(async () => {
    await fabricOn('inputs', { 'fabric/i.yaml': vpcYaml('vpc-i', '10.8.8.0/24') });
  });

  test.each([
    ['a NUL character', 'de\u0000fault'],
    ['a lone surrogate', 'de\ud800fault'],
  ])('a spec string with %s is refused with its path; the other objects land', async (_what, bad) => {
    const hostile = { ...vpc('vpc-bad', '10.8.9.0/24'), spec: { ...vpc('x', '10.8.9.0/24').spec, ipv4Namespace: bad } };
    const error = await rejection(ledger.drafts.apply('inputs', hostile));
    expect(error?.name).toBe('DraftRefusedError');
    expect(error!.message).toMatch(/ipv4Namespace/);
    const mixed = await ledger.drafts.apply('inputs', [hostile, vpc('vpc-fine', '10.8.10.0/24')]);
    expect(mixed.results.map((r) => r.name)).toEqual(['vpc-fine']);
    expect(mixed.refused).toEqual([expect.objectContaining({ name: 'vpc-bad' })]);
    await ledger.drafts.discard('inputs', 'all');
  });

  test('a label with a NUL character is refused, not a database error', async () => {
    const hostile = { ...vpc('vpc-lbl', '10.8.11.0/24'), metadata: { name: 'vpc-lbl', labels: { a: 'b\u0000' } } };
    await expect(ledger.drafts.apply('inputs', hostile as VPC)).rejects.toThrow(/refused|NUL|label/i);
    expect(await row('inputs', 'vpc-lbl')).toBeUndefined();
  });

  test('10,000 documents in one apply complete, and discard all clears them', async () => {
    const text = Array.from({ length: 10_000 }, (_, i) =>
      vpcYaml(`vpc-bulk-${i}`, `10.${Math.floor(i / 250)}.${i % 250}.0/24`, 1000 + (i % 3000)),
    ).join('---\n');
    const result = await ledger.drafts.apply('inputs', text);
    expect(result.refused).toEqual([]);
    expect(result.results).toHaveLength(10_000);
    expect((await ledger.drafts.list('inputs')).length).toBe(10_000);
    expect((await ledger.drafts.discard('inputs', 'all')).results).toHaveLength(10_000);
  }, 180_000);

  test('drafts.apply and syncDesiredState of the same fabric at once both finish', async () => {
    const drafts = Array.from({ length: 50 }, (_, i) => vpc(`vpc-c-${i}`, `10.9.${i}.0/24`));
    const [applied, synced] = await Promise.all([
      ledger.drafts.apply('inputs', drafts),
      ledger.sync.syncDesiredState('inputs'),
      ledger.drafts.apply('inputs', vpc('vpc-i', '10.8.8.0/24', 2222)),
    ]);
    expect(applied.results).toHaveLength(50);
    expect(synced.status).toBe('completed');
    expect(await ledger.drafts.list('inputs')).toHaveLength(51);
    await ledger.drafts.discard('inputs', 'all');
  });
});

describe('a draft edited while its publish runs', () => {
  test('the newer version stays a draft, rebased on what was published', async () => {
    const remote = await fabricOn('racing', { 'fabric/r.yaml': vpcYaml('vpc-r', '10.8.14.0/24') });
    await ledger.drafts.apply('racing', vpc('vpc-r', '10.8.14.0/24', 1234), { actor: 'alice' });
    const newer = vpc('vpc-r', '10.8.14.0/24', 4321).spec;
    // The remote's pre-receive hook runs between the plan and the record: it edits the draft as bob would.
    const hook = path.join(remote, 'hooks', 'pre-receive');
    await mkdir(path.dirname(hook), { recursive: true });
    const update =
      `UPDATE hedgehog_resource SET draft_spec = '${JSON.stringify(newer)}'::jsonb, draft_updated = now(), ` +
      `draft_updated_by = 'bob' WHERE name = 'vpc-r'`;
    const script = path.join(dir, 'racing-edit.sql');
    await writeFile(script, `${update};\n`);
    await writeFile(hook, `#!/bin/sh\nexec psql -q -v ON_ERROR_STOP=1 "${db.url}" -f "${script}" >/dev/null\n`);
    await chmod(hook, 0o755);
    try {
      const report = await ledger.publish('racing', { message: 'race', author: AUTHOR });
      expect(report).toMatchObject({ status: 'completed', pushed: true });
    } finally {
      await rm(hook, { force: true });
    }
    expect((await remoteFile(remote, 'fabric/r.yaml'))!.toString()).toMatch(/vlan: 1234/);
    const draft = await ledger.drafts.get('racing', { kind: 'VPC', name: 'vpc-r' });
    expect(draft).toMatchObject({ operation: 'apply', updatedBy: 'bob', spec: newer, state: 'draft' });
    expect(draft!.base.spec).toEqual(draft!.desiredSpec);
    expect((draft!.desiredSpec as { subnets: { default: { vlan: number } } }).subnets.default.vlan).toBe(1234);
    // Publishing again carries bob's version.
    await ledger.publish('racing', { message: 'bob', author: AUTHOR });
    expect((await remoteFile(remote, 'fabric/r.yaml'))!.toString()).toMatch(/vlan: 4321/);
    expect(await ledger.drafts.get('racing', { kind: 'VPC', name: 'vpc-r' })).toBeNull();
  });
});

describe('hostile publish options', () => {
  beforeAll(async () => {
    await fabricOn('options', { 'fabric/o.yaml': vpcYaml('vpc-o', '10.8.15.0/24') });
    await ledger.drafts.apply('options', vpc('vpc-o', '10.8.15.0/24', 2015));
  });

  test.each([
    ['a branch that is an option', { branch: '--force' }, /branch name/],
    ['a branch shorthand git would expand', { branch: '@{-1}' }, /branch name/],
    ['a branch leaving refs/heads', { branch: '../../HEAD' }, /branch name/],
    ['an author forging a header line', { author: 'Evil\nparent 0000 <e@x>' }, /identity|author/],
    ['a NUL in the message', { message: 'a\u0000b' }, /NUL/],
    ['an unknown strategy', { strategy: 'mine' as 'ours' }, /strategy/],
  ])('%s is refused in one line; the draft stays', async (_what, bad, why) => {
    const error = await rejection(ledger.publish('options', { message: 'hostile', author: AUTHOR, ...bad }));
    expect(error?.message).toMatch(why);
    expect(error!.message.split('\n')).toHaveLength(1);
    expect(await ledger.drafts.get('options', { kind: 'VPC', name: 'vpc-o' })).toMatchObject({ operation: 'apply' });
  });
});

test('two publishes of the same fabric at once: one commit carries the drafts, the other finds them landed', async () => {
  const remote = await fabricOn('twin', { 'fabric/t.yaml': vpcYaml('vpc-tw', '10.8.27.0/24') });
  const before = await git(remote, 'rev-parse', 'main');
  await ledger.drafts.apply('twin', [vpc('vpc-tw', '10.8.27.0/24', 2027), vpc('vpc-tw2', '10.8.28.0/24')]);
  const reports = await Promise.all([
    ledger.publish('twin', { message: 'one', author: AUTHOR }),
    ledger.publish('twin', { message: 'two', author: AUTHOR }),
  ]);
  expect(await git(remote, 'rev-list', '--count', `${before}..main`)).toBe('1');
  expect(reports.filter((r) => r.pushed)).toHaveLength(1);
  for (const r of reports) expect(r.leftOut).toEqual([]);
  const text = (await remoteFile(remote, 'fabric/t.yaml'))!.toString();
  expect(text.match(/name: vpc-tw$/gm)).toHaveLength(1);
  expect(
    (await remoteFile(remote, 'fabric/managed/vpcs/vpc-tw2.yaml'))!.toString().match(/name: vpc-tw2/g),
  ).toHaveLength(1);
  expect(await ledger.drafts.list('twin')).toEqual([]);
});
