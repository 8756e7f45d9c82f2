/**
 * `hh-sync fabric list` and `drift` on an up-to-date PostgreSQL ledger read on a plain pg client, without MikroORM
 * (src/cli/pg-fabric-reads.ts); everywhere else through the ORM. Both must print the same thing in every format:
 * the fabric rows are mapped twice (the entity, FABRIC_COLUMNS), so these tests derive the column list from the
 * entity metadata and compare the two paths' output on fabrics with every setting non-default, and with defaults
 * and nulls. Driven in-process against one database, a fake cluster and a Git repository.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../src/cli/main.js';
import type { CliContext } from '../src/cli/cli-context.js';
import { connectForReads, openPgFabricReads } from '../src/cli/pg-fabric-reads.js';
import { HedgehogFabric } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FABRIC_COLUMNS, selectFabrics } from '../src/store/fabric-rows.js';
import { markRefusedRows } from '../src/store/resource-reads.js';
import { query } from '../src/store/sql.js';
import { FakeKubeApi, createGitRepo, demoClusterFabric, demoGitFabric, toManifestFiles } from '../src/testing/index.js';
import { createSharedCliLedger, type Captured, type SharedCliLedger } from './helpers/cli-in-process.js';
import { cliEnv } from './helpers/cli.js';
import { createEmptyDatabase, createTestDatabase, testServerUrl, testWithServer } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let shared: SharedCliLedger;
let api: FakeKubeApi;
let work: string;

/** Opens the pg path and fails the test if it would fall back to the ORM. */
const pgOnly: CliContext['openFabricReads'] = async (options) => {
  const reads = await openPgFabricReads(options.databaseUrl!, options);
  if (!reads) throw new Error('the pg path fell back to the ORM on an up-to-date ledger');
  return reads;
};

/** hh-sync in-process on the file's ledger, reading through the ORM or on a plain pg client. */
async function hh(path: 'orm' | 'pg', args: string[]): Promise<Captured> {
  const out = { text: '', write: (t: string) => ((out.text += t), true) };
  const err = { text: '', write: (t: string) => ((err.text += t), true) };
  const code = await main([...shared.flags, ...args], {
    stdout: out,
    stderr: err,
    env: cliEnv({ NO_COLOR: '1', COLUMNS: '200' }),
    cwd: work,
    stdin: Readable.from([]),
    ...(path === 'orm' ? { openLedger: shared.openLedger } : { openFabricReads: pgOnly }),
  });
  return { code, stdout: out.text, stderr: err.text };
}

/** Runs `args` both ways and expects the same exit code, stdout and stderr; returns the pg path's. */
async function same(args: string[]): Promise<Captured> {
  const orm = await hh('orm', args);
  const pg = await hh('pg', args);
  expect(pg).toEqual(orm);
  return pg;
}

beforeAll(async () => {
  shared = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-pg-reads-'));
  api = new FakeKubeApi();
  api.load(demoClusterFabric());
  await api.start();
  const kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml());
  const repo = join(work, 'repo');
  await createGitRepo(repo, toManifestFiles(demoGitFabric().objects));
  const added = await hh('orm', ['fabric', 'add', 'demo', '--kubeconfig', kubeconfig, '--git', repo, '--quiet']);
  expect(added.code).toBe(0);
  expect((await hh('orm', ['sync', 'demo', '--quiet'])).code).toBe(0);

  const em = shared.db.orm.em.fork();
  // One object's current version refused: the drift report lists it as unreadable.
  const [demo] = await query<{ id: number }>(em, `SELECT id FROM hedgehog_fabric WHERE name = 'demo'`);
  const [vpc] = await query<{ namespace: string; name: string }>(
    em,
    `SELECT namespace, name FROM hedgehog_resource WHERE fabric_id = ? AND kind = 'VPC' ORDER BY name LIMIT 1`,
    [demo!.id],
  );
  expect(
    await markRefusedRows(em, demo!.id, 'VPC', [{ ...vpc!, mark: 'refused: spec.subnets is not an object' }]),
  ).toBe(1);

  // A fabric with every setting non-default, ledger columns included, and URLs stored before credentials were
  // refused (printed without them); and one with the defaults and nulls.
  const registry = new FabricRegistry(shared.db.orm.em);
  await registry.create('all-set', {
    description: 'every setting given',
    status: 'maintenance',
    kubeconfigPath: '/etc/kube/config',
    kubeContext: 'lab-ctx',
    inCluster: true,
    apiServerUrl: 'https://k8s.example:6443',
    namespaces: ['default', 'tenant-a'],
    gitRepository: 'https://example.com/fab.git',
    gitRef: 'release',
    gitPath: 'fabric/lab',
    crdDirectory: '/crds',
    ignoreRules: [{ kind: 'VPC', name: 'vpc-01', pointer: '/spec/ipv4Namespace' }, { pointer: '/metadata/labels/x' }],
    syncEnabled: false,
    syncIntervalSeconds: 42,
    syncDirection: 'git_to_ledger',
    managedFileTemplate: 'extra/{kind}/{namespace}-{name}.yaml',
  });
  await query(
    em,
    `UPDATE hedgehog_fabric SET connection_status = 'error', sync_status = 'error',
       last_sync = '2026-01-02T03:04:05.678Z', last_actual_sync = '2026-01-02T03:04:05Z', last_desired_sync = now(),
       last_sync_error = 'cluster unreachable\nsecond line', desired_commit = 'abc123', drifted_count = 3,
       in_sync_count = 4, drift_summary = '{"byStatus":{"in_sync":4,"spec_drift":3},"bySeverity":{"low":3},"total":7,"unreadable":1}',
       kind_counts = '{"VPC":{"total":7,"actual":6,"desired":5}}',
       api_server_url = 'https://admin:hunter22@k8s.example:6443', git_repository = 'https://tok3n@example.com/fab.git'
     WHERE name = 'all-set'`,
  );
  await registry.create('plain');
}, 120_000);

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(shared)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the pg mapping of a fabric row is the entity', () => {
  test('FABRIC_COLUMNS names every property of the entity that has a column, with its column', () => {
    const meta = shared.db.orm.getMetadata().get(HedgehogFabric.name);
    const fromEntity = Object.fromEntries(
      // The metadata types declare fieldNames on every property; one without a column (a collection) has none.
      (Object.values(meta.properties) as { name: string; fieldNames?: string[] }[])
        .filter((p) => p.fieldNames?.length)
        .map((p) => [p.name, p.fieldNames![0]]),
    );
    expect(Object.keys(fromEntity).length).toBeGreaterThan(25);
    expect(FABRIC_COLUMNS).toEqual(fromEntity);
  });

  test('the records equal the entities the registry loads, property by property (values and types)', async () => {
    const { db, close } = await connectForReads(shared.db.url);
    try {
      const records = await selectFabrics(db);
      const entities = await new FabricRegistry(shared.db.orm.em).list();
      expect(records.map((r) => r.name)).toEqual(['all-set', 'demo', 'plain']);
      const keys = Object.keys(FABRIC_COLUMNS) as (keyof typeof FABRIC_COLUMNS)[];
      // toStrictEqual: a Date must be a Date, a missing key is a difference.
      expect(records).toStrictEqual(entities.map((e) => Object.fromEntries(keys.map((k) => [k, e[k]]))));
    } finally {
      await close();
    }
  });
});

describe('fabric list and drift print the same either way', () => {
  test.each([[[]], [['-o', 'json']], [['-o', 'yaml']], [['-o', 'name']], [['-o', 'wide']]])(
    'fabric list %j',
    async (format) => {
      const r = await same(['fabric', 'list', ...format]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('all-set');
      expect(r.stdout).not.toMatch(/hunter22|tok3n/);
    },
  );

  test.each([
    [[]],
    [['-o', 'json']],
    [['-o', 'yaml']],
    [['-o', 'name']],
    [['-o', 'wide']],
    [['--all', '-o', 'json']],
    [['--kind', 'VPC', '--severity', 'low', '--severity', 'medium', '-n', 'default', '-o', 'json']],
    [['--status', 'spec_drift', '--exit-code']],
  ])('drift demo %j', async (flags) => {
    const r = await same(['drift', 'demo', ...flags]);
    expect([0, 1]).toContain(r.code); // 1: --exit-code with drift
    expect(r.stdout).not.toBe('');
  });

  test('the JSON drift report holds drifted and unreadable objects (the comparison above is not of empty reports)', async () => {
    const r = await same(['drift', 'demo', '--json']);
    const report = JSON.parse(r.stdout) as { resources: unknown[]; unreadable: unknown[]; summary: { total: number } };
    expect(report.resources.length).toBeGreaterThan(0);
    expect(report.unreadable).toHaveLength(1);
    expect(report.summary.total).toBeGreaterThan(report.resources.length);
  });

  test('an unknown fabric, a never-synced one: the same message and exit code, one JSON document with --json', async () => {
    const missing = await same(['drift', 'nope', '--json']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout)).toMatchObject({
      error: { message: expect.stringContaining('no fabric named "nope"') },
    });
    const never = await same(['drift', 'plain']);
    expect(never.stderr).toMatch(/never synced/);
  });
});

describe('opening', () => {
  test('a migration pending or no migrations table at all: no pg reads (the ORM path opens and migrates)', async () => {
    const empty = await createEmptyDatabase();
    try {
      expect(await openPgFabricReads(empty.url)).toBeUndefined();
    } finally {
      await empty.drop();
    }
    const behind = await createTestDatabase();
    try {
      await query(behind.orm.em, `DELETE FROM mikro_orm_migrations WHERE name LIKE 'Migration20261201061447%'`);
      expect(await openPgFabricReads(behind.url)).toBeUndefined();
    } finally {
      await behind.close();
    }
  });

  testWithServer('a database that does not exist: DatabaseMissingError, nothing created', async () => {
    const url = new URL(testServerUrl()!);
    url.pathname = '/hh_test_no_such_database';
    await expect(openPgFabricReads(url.toString())).rejects.toMatchObject({
      name: 'DatabaseMissingError',
      message: expect.stringContaining('"hh_test_no_such_database" does not exist'),
    });
  });

  testWithServer(
    'a statement left unanswered fails within the statement timeout and closes the connection',
    async () => {
      const { db, close } = await connectForReads(shared.db.url, { statementTimeoutMs: 300 });
      try {
        await expect(db.query('SELECT pg_sleep(5)')).rejects.toThrow(
          'the database did not answer a statement within 0.3 s (statement timeout); the connection was closed',
        );
        await expect(db.query('SELECT 1')).rejects.toThrow();
      } finally {
        await close();
      }
    },
  );
});
