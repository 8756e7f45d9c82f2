/**
 * Desired runs that are never silently wrong (issue 9, Git side), on a real database: bytes PostgreSQL
 * refuses cost one object, not the run; counts.failed counts refused objects; duplicates say which
 * declaration was kept; other kinds are reported; CRD schemas read by an actual sync validate every
 * later desired sync, in another process too (here: another service instance); a foreign --ref is refused.
 */
import 'reflect-metadata';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsyaml from 'js-yaml';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { loadCrdSchemas } from '../src/sync/crd-schema-store.js';
import { FakeKubeApi, createGitRepo } from '../src/testing/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
let orm: MikroORM;
const tmp = mkdtempSync(path.join(tmpdir(), 'hh-truth-'));
const apis: FakeKubeApi[] = [];
let seq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  await db.close();
  rmSync(tmp, { recursive: true, force: true });
});

const sw = (name: string, extra = '') => `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: ${name}
spec:
  role: server-leaf
${extra}`;

async function fabricWith(files: Record<string, string>) {
  const dir = path.join(tmp, `repo-${++seq}`);
  await createGitRepo(dir, files);
  return new FabricRegistry(orm.em).create(`truth-${seq}`, { gitRepository: dir });
}
const q = (sql: string, params: unknown[] = []): Promise<any[]> => orm.em.fork().getConnection().execute(sql, params);

describe('desired runs tell the truth', () => {
  test('a NUL or a lone surrogate costs its own object only: one error with kind, name, file, line; the rest lands', async () => {
    const fabric = await fabricWith({
      'a.yaml': `${sw('leaf-1')}---\n${sw('leaf-2', '  description: "x\\0y"\n')}`,
      'b.yaml': sw('leaf-3').replace('  name: leaf-3\n', '  name: leaf-3\n  annotations:\n    "note\\ud800": x\n'),
      'c.yaml': sw('leaf-4'),
    });
    const run = await new FabricSyncService(orm.em).syncDesiredState(fabric);
    expect(run.status).toBe('partial');
    expect(run.counts).toMatchObject({ listed: 2, created: 2, failed: 2 });
    expect(run.errors.map((e) => [e.file, e.line, e.kind, e.namespace, e.name, e.reason.split(':')[0]])).toEqual([
      ['a.yaml', 14, 'Switch', 'default', 'leaf-2', '/spec/description'],
      ['b.yaml', 6, 'Switch', 'default', 'leaf-3', '/metadata/annotations/note\\ud800'],
    ]);
    const rows = await q(`SELECT name FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`, [fabric.id]);
    expect(rows.map((r) => r.name)).toEqual(['leaf-1', 'leaf-4']);
    const [op] = await q(`SELECT status, failed FROM sync_operation WHERE id = ?`, [run.id]);
    expect(op).toEqual({ status: 'partial', failed: 2 });
  });

  test('counts.failed counts refused documents and files, not messages; a duplicate names the kept declaration', async () => {
    const fabric = await fabricWith({
      'a-broken.yaml': 'apiVersion: [unclosed\n',
      'b.yaml': `${sw('leaf-1')}---\n${sw('leaf-2')}`,
      'c.yaml': `${sw('leaf-9')}---\n${sw('leaf-1')}`,
    });
    const validate = (o: Record<string, unknown>) =>
      (o.metadata as { name: string }).name === 'leaf-9'
        ? ['spec.role: must be spine', 'spec.boot: required field is missing']
        : [];
    const run = await new FabricSyncService(orm.em, { desired: { validate } }).syncDesiredState(fabric);
    // 1 unparsable file + 1 document with two problems + 1 ignored duplicate declaration.
    expect(run.errors).toHaveLength(4);
    expect(run.counts).toMatchObject({ listed: 2, failed: 3 });
    const dup = run.errors.find((e) => /more than once/.test(e.reason))!;
    expect(dup).toMatchObject({ name: 'leaf-1', file: 'c.yaml', line: 8 });
    expect(dup.reason).toBe('declared more than once: kept b.yaml:1, ignored c.yaml:8');
    expect(run.details.schemaSource).toBe('custom');
  });

  test('documents of other kinds are reported by kind, with their files', async () => {
    const cm = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n`;
    const fabric = await fabricWith({
      'x.yaml': `${cm('a')}---\n${cm('b')}`,
      'y.yaml': `${sw('leaf-1')}---\n${cm('c')}`,
      'z.yaml': sw('leaf-2'),
    });
    const run = await new FabricSyncService(orm.em).syncDesiredState(fabric);
    expect(run.status).toBe('completed');
    expect(run.otherKinds).toEqual({ 'v1/ConfigMap': 3 });
    expect(run.details.otherKindFiles).toEqual({ 'v1/ConfigMap': ['x.yaml', 'y.yaml'] });
    const [op] = await q(`SELECT other_kinds FROM sync_operation WHERE id = ?`, [run.id]);
    expect(op.other_kinds).toEqual({ 'v1/ConfigMap': 3 });
  });

  test('with gitCacheDir, each remote repository gets its own mirror under it', async () => {
    const origins = [path.join(tmp, 'origin-a'), path.join(tmp, 'origin-b')];
    await createGitRepo(origins[0]!, { 'a.yaml': sw('leaf-a') });
    await createGitRepo(origins[1]!, { 'b.yaml': sw('leaf-b') });
    const cache = path.join(tmp, 'git-cache');
    const s = new FabricSyncService(orm.em, { gitCacheDir: cache });
    for (const [i, origin] of origins.entries()) {
      const fabric = await new FabricRegistry(orm.em).create(`mirror-${i}-${++seq}`, {
        gitRepository: `file://${origin}`,
      });
      const run = await s.syncDesiredState(fabric);
      expect(run.counts).toMatchObject({ listed: 1, failed: 0 });
    }
    expect(readdirSync(cache)).toHaveLength(2);
  });

  test("another ref than the fabric's is refused before anything is read or written", async () => {
    const fabric = await fabricWith({ 'a.yaml': sw('leaf-1') });
    await expect(new FabricSyncService(orm.em).syncDesiredState(fabric, { ref: 'feature' })).rejects.toThrow(
      /--ref 'feature' is not the ref of fabric .*hh-sync fabric set truth-\d+ --ref feature/,
    );
    expect(await q(`SELECT 1 FROM sync_operation WHERE fabric_id = ?`, [fabric.id])).toHaveLength(0);
  });
});

describe('CRD schemas read by an actual sync validate later desired syncs', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // A YAML stream may hold empty documents, which load as null.
  type CrdDocument = { kind?: string; metadata: Record<string, unknown> };
  const crdObjects = ['switches.yaml', 'vpcs.yaml', 'connections.yaml']
    .map((f) => jsyaml.loadAll(readFileSync(path.join(here, 'fixtures', 'crds', f), 'utf8')) as (CrdDocument | null)[])
    .flat()
    .filter((d): d is CrdDocument => d?.kind === 'CustomResourceDefinition')
    .map((crd, i) => ({ ...crd, metadata: { ...crd.metadata, resourceVersion: String(100 + i) } }));

  test('stored per fabric with their resourceVersion; a new service (another process) validates with them', async () => {
    const fabric = await fabricWith({ 'a.yaml': `${sw('leaf-1')}---\n${sw('leaf-2', '  bogus: 1\n')}` });

    const before = await new FabricSyncService(orm.em).syncDesiredState(fabric);
    expect(before.details.schemaSource).toBe('none');
    expect(before.counts.failed).toBe(0);

    const api = new FakeKubeApi({ crds: crdObjects });
    apis.push(api);
    await api.start();
    const actual = await new FabricSyncService(orm.em, { kubeConfigFor: () => api.kubeConfig() }).syncActualState(
      fabric,
    );
    expect(actual.details.schemaSource).toBe('cluster');
    const rows = await q(
      `SELECT kind, crd_name, resource_version FROM fabric_crd_schema WHERE fabric_id = ? ORDER BY crd_name`,
      [fabric.id],
    );
    expect(rows).toEqual([
      { kind: 'Connection', crd_name: 'connections.wiring.githedgehog.com', resource_version: '102' },
      { kind: 'Switch', crd_name: 'switches.wiring.githedgehog.com', resource_version: '100' },
      { kind: 'VPC', crd_name: 'vpcs.vpc.githedgehog.com', resource_version: '101' },
    ]);
    expect((await loadCrdSchemas(orm.em.fork(), fabric.id)).readAt).toBeInstanceOf(Date);

    const after = await new FabricSyncService(orm.em).syncDesiredState(fabric);
    expect(after.details.schemaSource).toBe('stored');
    expect(after.counts.failed).toBe(1);
    expect(after.errors).toEqual([
      expect.objectContaining({
        name: 'leaf-2',
        file: 'a.yaml',
        line: 14,
        reason: expect.stringMatching(/spec\.bogus: unknown field/),
      }),
    ]);

    // The fabric goes, its schemas go with it.
    await new FabricRegistry(orm.em).remove(fabric.name);
    expect(await q(`SELECT 1 FROM fabric_crd_schema WHERE fabric_id = ?`, [fabric.id])).toHaveLength(0);
  });

  test('an actual sync that reads no CRD keeps the stored ones and says it used them', async () => {
    const fabric = await fabricWith({ 'a.yaml': sw('leaf-1') });
    const withCrds = new FakeKubeApi({ crds: crdObjects });
    const without = new FakeKubeApi();
    apis.push(withCrds, without);
    await Promise.all([withCrds.start(), without.start()]);
    await new FabricSyncService(orm.em, { kubeConfigFor: () => withCrds.kubeConfig() }).syncActualState(fabric);
    const run = await new FabricSyncService(orm.em, { kubeConfigFor: () => without.kubeConfig() }).syncActualState(
      fabric,
    );
    expect(run.details.schemaSource).toBe('stored');
    expect(await q(`SELECT 1 FROM fabric_crd_schema WHERE fabric_id = ?`, [fabric.id])).toHaveLength(3);
  });
});
