/**
 * FabricSyncService.syncDesiredState: a real Git repository built with the git CLI, a real database,
 * and the drift between Git and a cluster served by the fake API.
 */
import 'reflect-metadata';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/postgresql';
import { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import {
  FakeKubeApi,
  commitFiles,
  createGitRepo,
  demoClusterFabric,
  demoGitFabric,
  git,
  toManifestFiles,
} from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
let orm: MikroORM;
const tmp = mkdtempSync(path.join(tmpdir(), 'hh-desired-'));
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await db.close();
  rmSync(tmp, { recursive: true, force: true });
});

const vpc = (
  name: string,
  vlan: number,
  extra: Record<string, unknown> = {},
) => `apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: ${name}
spec:
  subnets:
    default:
      subnet: 10.0.${vlan % 250}.0/24
      vlan: ${vlan}
${Object.entries(extra)
  .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
  .join('\n')}
`;

const sw = (name: string) => `# a leaf switch
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: ${name}
  labels:
    rack: r1
spec:
  role: server-leaf
  description: ${name}
`;

async function repo(files: Record<string, string>): Promise<string> {
  const dir = path.join(tmp, `repo-${++seq}`);
  await createGitRepo(dir, files);
  return dir;
}

async function fabricFor(repoDir: string, extra: Partial<HedgehogFabric> = {}): Promise<HedgehogFabric> {
  return new FabricRegistry(orm.em).create(`desired-${++seq}`, { gitRepository: repoDir, ...(extra as object) });
}

const svc = (opts: ConstructorParameters<typeof FabricSyncService>[1] = {}) => new FabricSyncService(orm.em, opts);
const q = (sql: string, params: unknown[] = []): Promise<any[]> => orm.em.fork().getConnection().execute(sql, params);

describe('syncDesiredState', () => {
  test('first sync records every object with its file, hash and commit; a no-op re-sync touches nothing', async () => {
    const dir = await repo({
      'fabric/vpcs.yaml': `${vpc('vpc-a', 1001)}---\n${vpc('vpc-b', 1002)}`,
      'fabric/switches/leaf-1.yaml': sw('leaf-1'),
      'README.md': '# not a manifest',
    });
    const head = await git(dir, 'rev-parse', 'HEAD');
    const fabric = await fabricFor(dir);
    const s = svc();
    const run = await s.syncDesiredState(fabric);
    expect(run.status).toBe('completed');
    expect(run.commit).toBe(head);
    expect(run.counts).toMatchObject({ listed: 3, created: 3, updated: 0, failed: 0 });

    const rows = await q(`SELECT * FROM hedgehog_resource WHERE fabric_id = ? ORDER BY kind, name`, [fabric.id]);
    expect(rows.map((r) => `${r.kind}/${r.name}`)).toEqual(['Switch/leaf-1', 'VPC/vpc-a', 'VPC/vpc-b']);
    const a = rows.find((r) => r.name === 'vpc-a');
    expect(a).toMatchObject({
      namespace: 'default',
      desired_commit: head,
      desired_file_path: 'fabric/vpcs.yaml',
      managed_file_path: 'fabric/vpcs.yaml',
      drift_status: 'creation_pending', // the cluster has never been read: Git is ahead of it
      resource_state: 'pending',
    });
    expect(a.desired_spec).toEqual({ subnets: { default: { subnet: '10.0.1.0/24', vlan: 1001 } } });
    expect(a.file_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.desired_updated).toBeTruthy();
    expect(a.last_file_sync).toBeTruthy();
    const leaf = rows.find((r) => r.name === 'leaf-1');
    expect(leaf.labels).toEqual({ rack: 'r1' });

    const again = await s.syncDesiredState(fabric);
    expect(again.counts).toMatchObject({ listed: 3, created: 0, updated: 0, unchanged: 3, cleared: 0 });
    const after = await q(`SELECT name, last_updated FROM hedgehog_resource WHERE fabric_id = ? ORDER BY kind, name`, [
      fabric.id,
    ]);
    expect(after.map((r) => new Date(r.last_updated).getTime())).toEqual(
      rows.map((r) => new Date(r.last_updated).getTime()),
    );
    const f = await orm.em.fork().findOneOrFail(HedgehogFabric, fabric.id);
    expect(f.desiredCommit).toBe(head);
    expect(f.lastDesiredSync).toBeInstanceOf(Date);
  });

  test('a run rolled back at commit tells no `resource` event; the next run tells what it wrote, once committed', async () => {
    const dir = await repo({ 'vpcs.yaml': `${vpc('vpc-a', 1001)}---\n${vpc('vpc-b', 1002)}` });
    const fabric = await fabricFor(dir);
    const s = svc();
    const told: string[] = [];
    s.on('resource', (e) => told.push(`${e.kind}/${e.name} ${e.change}`));
    await q(`CREATE FUNCTION hh_test_desired_fail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$`);
    await q(`CREATE TRIGGER hh_test_desired_fail BEFORE UPDATE OF last_desired_sync ON hedgehog_fabric
      FOR EACH ROW WHEN (NEW.id = ${fabric.id}) EXECUTE FUNCTION hh_test_desired_fail()`);
    try {
      const failed = await s.syncDesiredState(fabric);
      expect(failed.status).toBe('failed');
      expect(failed.errorMessage).toMatch(/injected failure at commit/);
    } finally {
      await q('DROP TRIGGER hh_test_desired_fail ON hedgehog_fabric');
      await q('DROP FUNCTION hh_test_desired_fail()');
    }
    expect(await q(`SELECT id FROM hedgehog_resource WHERE fabric_id = ?`, [fabric.id])).toEqual([]);
    expect(told).toEqual([]);
    const run = await s.syncDesiredState(fabric);
    expect(run.status).toBe('completed');
    expect(told.sort()).toEqual(['VPC/vpc-a created', 'VPC/vpc-b created']);
  });

  test('a commit changing one spec updates only that row and keeps the previous spec; a deleted file clears desired state', async () => {
    const dir = await repo({ 'a.yaml': vpc('vpc-a', 1001), 'b.yaml': vpc('vpc-b', 1002), 'c.yaml': sw('leaf-1') });
    const fabric = await fabricFor(dir);
    const s = svc();
    await s.syncDesiredState(fabric);
    const before = await q(
      `SELECT name, last_updated, file_hash FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`,
      [fabric.id],
    );

    const second = await commitFiles(dir, { 'a.yaml': vpc('vpc-a', 1500) });
    const run = await s.syncDesiredState(fabric);
    expect(run.counts).toMatchObject({ created: 0, updated: 1, unchanged: 2, cleared: 0 });
    const after = await q(`SELECT * FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`, [fabric.id]);
    const a = after.find((r) => r.name === 'vpc-a');
    expect(a.desired_spec.subnets.default.vlan).toBe(1500);
    expect(a.previous_desired_spec.subnets.default.vlan).toBe(1001);
    expect(a.desired_commit).toBe(second);
    expect(a.file_hash).not.toBe(before.find((r) => r.name === 'vpc-a').file_hash);
    for (const name of ['vpc-b', 'leaf-1']) {
      expect(new Date(after.find((r) => r.name === name).last_updated).getTime()).toBe(
        new Date(before.find((r) => r.name === name).last_updated).getTime(),
      );
    }

    await commitFiles(dir, { 'b.yaml': null });
    const del = await s.syncDesiredState(fabric);
    expect(del.counts.cleared).toBe(1);
    // Declared nowhere and never seen in the cluster: nothing is left to track.
    expect(await q(`SELECT 1 FROM hedgehog_resource WHERE fabric_id = ? AND name = 'vpc-b'`, [fabric.id])).toHaveLength(
      0,
    );
  });

  test('a ref other than the default, and uncommitted edits ignored', async () => {
    const dir = await repo({ 'a.yaml': vpc('vpc-a', 1001) });
    await commitFiles(dir, { 'a.yaml': vpc('vpc-a', 2002), 'x.yaml': sw('leaf-x') }, { branch: 'staging' });
    await git(dir, 'checkout', '-q', 'main');
    writeFileSync(path.join(dir, 'a.yaml'), vpc('vpc-a', 3003)); // a local edit nobody committed
    writeFileSync(path.join(dir, 'untracked.yaml'), sw('leaf-u'));

    const fabric = await fabricFor(dir);
    const s = svc();
    await s.syncDesiredState(fabric);
    let rows = await q(`SELECT name, desired_spec FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`, [
      fabric.id,
    ]);
    expect(rows.map((r) => r.name)).toEqual(['vpc-a']);
    expect(rows[0].desired_spec.subnets.default.vlan).toBe(1001);

    // Another ref is read only once it is the fabric's ref (never behind `fabric list`'s back).
    await expect(s.syncDesiredState(fabric, { ref: 'staging' })).rejects.toThrow(/fabric set .* --ref staging/);
    await new FabricRegistry(orm.em).update(fabric.name, { gitRef: 'staging' });
    const run = await s.syncDesiredState(fabric.name, { ref: 'staging' });
    expect(run.commit).toBe(await git(dir, 'rev-parse', 'staging'));
    rows = await q(`SELECT name, desired_spec FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`, [fabric.id]);
    expect(rows.map((r) => r.name)).toEqual(['leaf-x', 'vpc-a']);
    expect(rows[1].desired_spec.subnets.default.vlan).toBe(2002);
  });

  test('the same object declared in two files is flagged as a conflict with both locations', async () => {
    const dir = await repo({ 'one.yaml': vpc('vpc-a', 1001), 'two.yaml': `${sw('leaf-1')}---\n${vpc('vpc-a', 1009)}` });
    const fabric = await fabricFor(dir);
    const s = svc();
    const run = await s.syncDesiredState(fabric);
    expect(run.status).toBe('partial');
    const err = run.errors.find((e) => e.name === 'vpc-a');
    expect(err?.reason).toMatch(/one\.yaml:\d+.*two\.yaml:\d+/);
    const [row] = await q(
      `SELECT conflict_status, conflict_details FROM hedgehog_resource WHERE fabric_id = ? AND name = 'vpc-a'`,
      [fabric.id],
    );
    expect(row.conflict_status).toBe('detected');
    expect(row.conflict_details.locations.map((l: any) => l.file).sort()).toEqual(['one.yaml', 'two.yaml']);
    // Still detected on a re-run, without rewriting the row.
    const again = await s.syncDesiredState(fabric);
    expect(again.counts.updated).toBe(0);

    await commitFiles(dir, { 'two.yaml': sw('leaf-1') });
    await s.syncDesiredState(fabric);
    const [resolved] = await q(`SELECT conflict_status FROM hedgehog_resource WHERE fabric_id = ? AND name = 'vpc-a'`, [
      fabric.id,
    ]);
    expect(resolved.conflict_status).toBe('resolved');
  });

  test('broken documents are reported with file and line; good ones land; objects of a broken file are not cleared', async () => {
    const dir = await repo({ 'good.yaml': vpc('vpc-a', 1001), 'later-broken.yaml': vpc('vpc-b', 1002) });
    const fabric = await fabricFor(dir);
    const s = svc();
    await s.syncDesiredState(fabric);
    await commitFiles(dir, {
      'later-broken.yaml': `apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-b\nspec: [unclosed\n`,
      'bad-name.yaml': vpc('Bad_Name', 1003),
      'no-kind.yaml': `apiVersion: v1\nmetadata:\n  name: x\n`,
      'spec-list.yaml': `apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-l\nspec:\n  - 1\n`,
      'mixed.yaml': `${vpc('vpc-c', 1004)}---\nkind: VPC\napiVersion: vpc.githedgehog.com/v1beta1\nmetadata: {}\n`,
    });
    const run = await s.syncDesiredState(fabric);
    expect(run.status).toBe('partial');
    const byFile = Object.fromEntries(run.errors.map((e) => [e.file, e]));
    for (const f of ['later-broken.yaml', 'bad-name.yaml', 'no-kind.yaml', 'spec-list.yaml', 'mixed.yaml']) {
      expect(byFile[f]).toBeDefined();
      expect(byFile[f].line).toBeGreaterThan(0);
    }
    expect(byFile['mixed.yaml'].line).toBeGreaterThan(5); // the second document, not the first
    const names = (
      await q(`SELECT name, desired_spec IS NOT NULL AS d FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`, [
        fabric.id,
      ])
    ).map((r) => `${r.name}:${r.d}`);
    // vpc-c (good document of a mixed file) landed; vpc-b is kept because its file failed to parse.
    expect(names).toEqual(['vpc-a:true', 'vpc-b:true', 'vpc-c:true']);
    expect(run.details.keptFromBrokenFiles).toEqual(['VPC/default/vpc-b']);
    const [rec] = await q(`SELECT status, errors FROM sync_operation WHERE id = ?`, [run.id]);
    expect(rec.status).toBe('partial');
    expect(rec.errors.length).toBe(run.errors.length);
  });

  test('unsafe sources are refused with a clear error: symlink escaping, alias bomb, a 20 MB file', async () => {
    const outside = path.join(tmp, 'outside.yaml');
    writeFileSync(outside, vpc('vpc-outside', 1001));
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)},*${String.fromCharCode(96 + i)}]`,
      );
    const dir = await repo({
      'ok.yaml': vpc('vpc-a', 1001),
      'bomb.yaml': `apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-bomb\nspec:\n  ${bomb.join('\n  ')}\n`,
      'huge.yaml': `# ${'x'.repeat(20 * 1024 * 1024)}\n`,
    });
    await commitFiles(dir, { 'link.yaml': { symlink: outside } });
    const fabric = await fabricFor(dir);
    const run = await svc().syncDesiredState(fabric);
    expect(run.status).toBe('partial');
    const reasons = Object.fromEntries(run.errors.map((e) => [e.file, e.reason]));
    expect(reasons['link.yaml']).toMatch(/symlink|symbolic link/i);
    expect(reasons['bomb.yaml']).toMatch(/alias/i);
    expect(reasons['huge.yaml']).toMatch(/size|large|bytes|limit/i);
    const rows = await q(`SELECT name FROM hedgehog_resource WHERE fabric_id = ?`, [fabric.id]);
    expect(rows.map((r) => r.name)).toEqual(['vpc-a']);
  });

  test('a fabric without a Git source fails with a message saying what to do', async () => {
    const fabric = await new FabricRegistry(orm.em).create(`no-git-${++seq}`);
    const run = await svc().syncDesiredState(fabric);
    expect(run.status).toBe('failed');
    expect(run.errorMessage).toMatch(/no Git source.*fabric set/);
  });

  test('against a cluster: server defaults are not drift, real differences are, and pending turns into drift after a cluster read', async () => {
    const { objects, differences } = demoGitFabric();
    const dir = await repo(toManifestFiles(objects, { files: 12 }));
    const api = new FakeKubeApi();
    api.load(demoClusterFabric());
    await api.start();
    try {
      const fabric = await fabricFor(dir);
      const s = svc({ kubeConfigFor: () => api.kubeConfig(), reader: { baseDelayMs: 5 } });
      const d = await s.syncDesiredState(fabric);
      expect(d.status).toBe('completed');
      const a = await s.syncActualState(fabric);
      expect(a.status).toBe('completed');

      const report = await s.driftReport(fabric);
      const drifted = report.resources.map((r) => `${r.kind}/${r.name}:${r.driftStatus}`).sort();
      expect(drifted).toEqual(
        [
          `${differences.changedVlan.kind}/${differences.changedVlan.name}:spec_drift`,
          `${differences.onlyInGit.kind}/${differences.onlyInGit.name}:desired_only`,
          `${differences.onlyInCluster.kind}/${differences.onlyInCluster.name}:actual_only`,
        ].sort(),
      );
      // Whole-object differences: stored without a copy of the side (the row holds it), rebuilt by the report.
      const onlyGit = report.resources.find((r) => r.driftStatus === 'desired_only')!;
      const gitObj = objects.find(
        (o) => o.kind === differences.onlyInGit.kind && o.metadata.name === differences.onlyInGit.name,
      )!;
      expect(onlyGit.differences).toEqual([
        { op: 'add', path: '', desired: expect.objectContaining({ spec: gitObj.spec }) },
      ]);
      const onlyCluster = report.resources.find((r) => r.driftStatus === 'actual_only')!;
      expect(onlyCluster.differences[0]).toMatchObject({
        op: 'remove',
        path: '',
        actual: { spec: expect.any(Object) },
      });
      const [stored] = await q(`SELECT drift_details FROM hedgehog_resource WHERE fabric_id = ? AND name = ?`, [
        fabric.id,
        differences.onlyInGit.name,
      ]);
      expect(stored.drift_details.differences).toEqual([{ op: 'add', path: '' }]);
      const changed = report.resources.find((r) => r.driftStatus === 'spec_drift')!;
      expect(changed.differences).toEqual([
        expect.objectContaining({ op: 'replace', path: '/spec/subnets/default/vlan' }),
      ]);
      expect(report.summary.total).toBe(objects.length + 1);
      expect(report.summary.byStatus.in_sync).toBe(objects.length - 2);
      // Server defaults (e.g. a switch's ASN) are listed as extras, not drift.
      const [leaf] = await q(
        `SELECT drift_status, drift_details FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'Switch' LIMIT 1`,
        [fabric.id],
      );
      expect(leaf.drift_status).toBe('in_sync');
      expect(leaf.drift_details.extras.length).toBeGreaterThan(0);

      // A new Git commit that the cluster has not seen yet is pending, not drift.
      const vpcYaml = vpc('vpc-new', 1777);
      await commitFiles(dir, { 'fabric/new.yaml': vpcYaml });
      await s.syncDesiredState(fabric);
      const [pending] = await q(
        `SELECT drift_status, resource_state FROM hedgehog_resource WHERE fabric_id = ? AND name = 'vpc-new'`,
        [fabric.id],
      );
      expect(pending).toEqual({ drift_status: 'creation_pending', resource_state: 'pending' });
      await s.syncActualState(fabric);
      const [after] = await q(
        `SELECT drift_status, resource_state FROM hedgehog_resource WHERE fabric_id = ? AND name = 'vpc-new'`,
        [fabric.id],
      );
      expect(after).toEqual({ drift_status: 'desired_only', resource_state: 'committed' });
    } finally {
      await api.stop();
    }
  });
});

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/hedgehog-docs-manifests');
const crds = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/hedgehog-crds');
if (existsSync(docs) && existsSync(crds)) {
  describe('the documentation manifests (../shared)', () => {
    test('every valid fabric object is ingested; every broken one is reported with file and line', async () => {
      const fabric = await new FabricRegistry(orm.em).create(`docs-${++seq}`, {
        gitRepository: docs,
        crdDirectory: crds,
      });
      const run = await svc().syncDesiredState(fabric);
      expect(run.status).toBe('partial');
      expect(run.commit).toBeNull(); // a plain directory
      for (const e of run.errors) {
        expect(e.file).toMatch(/\.yaml$/);
        if (!/declared more than once/.test(e.reason)) expect(e.line).toBeGreaterThan(0);
      }
      const [{ n }] = await q(
        `SELECT count(*)::int AS n FROM hedgehog_resource WHERE fabric_id = ? AND desired_spec IS NOT NULL`,
        [fabric.id],
      );
      expect(n).toBe(run.counts.listed);
      expect(n).toBeGreaterThan(30);
      expect(run.errors.some((e) => e.file === 'user-guide__devices__02.yaml')).toBe(true);
    });
  });
}
