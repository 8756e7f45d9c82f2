/**
 * The incident as a regression test. Columns of hedgehog_resource are re-created
 * the way the original migration made them — added NOT NULL with a default that
 * was then dropped — so the old insert (which does not name them) fails with a NOT
 * NULL violation. The doctor lists every offending column, `--fix` restores the
 * entity defaults in one transaction, and the same insert then succeeds.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HedgehogFabric, HedgehogResource } from '../src/entities/index.js';
import { runDoctorCli } from '../src/cli/doctor-command.js';
import { ledgerColumns } from '../src/db/ledger-columns.js';
import { runSchemaDoctor, type DoctorReport } from '../src/db/schema-doctor.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { cliEnv } from './helpers/cli.js';
import { ifSetUp } from './helpers/if-set-up.js';

/** The columns the incident's migration added (plus one it wrongly made NOT NULL). */
const BROKEN = [
  'sync_direction',
  'conflict_status',
  'conflict_details',
  'external_modifications',
  'sync_metadata',
  'dependency_score',
];
const WRONGLY_NOT_NULL = 'managed_file_path';

let db: TestDatabase;
let fabricId: number;

beforeAll(async () => {
  db = await createTestDatabase();
  const em = db.orm.em.fork();
  const fabric = em.create(HedgehogFabric, { name: 'incident' });
  em.create(HedgehogResource, { fabric, kind: 'VPC', name: 'existing' });
  await em.flush();
  fabricId = fabric.id;
});
afterAll(async () => {
  await ifSetUp(db)?.close();
});

async function doctorCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runDoctorCli(['--database-url', db.url, ...args], {
    stdout: (t) => (out += `${t}\n`),
    stderr: (t) => (err += `${t}\n`),
  });
  return { code, out, err };
}

const oldInsert = (name: string) =>
  withPg(db.url, (c) =>
    c.query(`insert into hedgehog_resource (fabric_id, kind, name) values ($1, 'VPC', $2) returning *`, [
      fabricId,
      name,
    ]),
  );

/** Re-creates each column Django-style: ADD COLUMN … NOT NULL DEFAULT x (keeping its check), then DROP DEFAULT. */
async function breakLikeTheIncident(): Promise<void> {
  const cols = ledgerColumns(db.orm.getMetadata()).filter((c) => c.table === 'hedgehog_resource');
  await withPg(db.url, async (c) => {
    const checks = new Map(
      (
        await c.query(
          `select conname, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'hedgehog_resource'::regclass and contype = 'c'`,
        )
      ).rows.map((r) => [r.conname as string, r.def as string]),
    );
    await c.query('begin');
    for (const name of BROKEN) {
      const col = cols.find((x) => x.column === name)!;
      const check = [...checks.entries()].filter(([con]) => con.startsWith(`hedgehog_resource_${name}_check`));
      const fill = col.defaultSql ?? `''`;
      await c.query(`alter table hedgehog_resource drop column "${name}"`);
      await c.query(`alter table hedgehog_resource add column "${name}" ${col.columnType} not null default ${fill}`);
      for (const [con, def] of check) await c.query(`alter table hedgehog_resource add constraint "${con}" ${def}`);
      await c.query(`alter table hedgehog_resource alter column "${name}" drop default`);
    }
    // A nullable column made NOT NULL the same way (altered in place: it carries an index).
    await c.query(`alter table hedgehog_resource alter column "${WRONGLY_NOT_NULL}" set default ''`);
    await c.query(`update hedgehog_resource set "${WRONGLY_NOT_NULL}" = '' where "${WRONGLY_NOT_NULL}" is null`);
    await c.query(`alter table hedgehog_resource alter column "${WRONGLY_NOT_NULL}" set not null`);
    await c.query(`alter table hedgehog_resource alter column "${WRONGLY_NOT_NULL}" drop default`);
    await c.query('commit');
  });
}

test('a freshly migrated ledger is healthy (library and CLI)', async () => {
  const report = await runSchemaDoctor(db.orm);
  expect(report).toMatchObject({ healthy: true, ledgerDetected: true, findings: [], fixSql: [] });
  const r = await doctorCli([]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/Healthy/);
});

describe('the incident shape', () => {
  beforeAll(breakLikeTheIncident);

  test('the old insert fails with the NOT NULL violation, and so does an ORM insert of a plain object', async () => {
    await expect(oldInsert('after-incident')).rejects.toMatchObject({ code: '23502' });
    await expect(
      db.orm.em.fork().insert(HedgehogResource, { fabric: fabricId, kind: 'VPC', name: 'orm-plain' }),
    ).rejects.toThrow(/not-null constraint|null value in column/);
  });

  test('the doctor lists every offending column, with the SQL that restores the entity defaults', async () => {
    const report = await runSchemaDoctor(db.orm);
    expect(report.healthy).toBe(false);
    const offending = report.findings
      .filter((f) => f.kind === 'not_null_without_default')
      .map((f) => `${f.table}.${f.column}`)
      .sort();
    expect(offending).toEqual([...BROKEN, WRONGLY_NOT_NULL].map((c) => `hedgehog_resource.${c}`).sort());
    expect(report.fixSql).toEqual(
      expect.arrayContaining([
        `ALTER TABLE "public"."hedgehog_resource" ALTER COLUMN "sync_direction" SET DEFAULT 'inherit';`,
        `ALTER TABLE "public"."hedgehog_resource" ALTER COLUMN "external_modifications" SET DEFAULT '[]';`,
        `ALTER TABLE "public"."hedgehog_resource" ALTER COLUMN "dependency_score" SET DEFAULT 0;`,
        `ALTER TABLE "public"."hedgehog_resource" ALTER COLUMN "${WRONGLY_NOT_NULL}" DROP NOT NULL;`,
      ]),
    );
    expect(report.fixSql).toHaveLength(BROKEN.length + 1);
    // MikroORM's own diff sees the same drift.
    expect(report.findings.find((f) => f.kind === 'schema_difference')?.details?.join('\n')).toMatch(/sync_direction/);
  });

  test('hh-sync doctor exits 1 and prints every column; --json carries the same findings', async () => {
    const text = await doctorCli([]);
    expect(text.code).toBe(1);
    for (const c of [...BROKEN, WRONGLY_NOT_NULL])
      expect(text.out).toContain(`public.hedgehog_resource.${c}: NOT NULL without a default`);
    expect(text.out).toMatch(/Run with --fix/);

    const json = await doctorCli(['--json', '--table', 'hedgehog_resource']);
    expect(json.code).toBe(1);
    const parsed = JSON.parse(json.out) as DoctorReport & { database: string };
    expect(parsed.findings.filter((f) => f.kind === 'not_null_without_default')).toHaveLength(BROKEN.length + 1);
    expect(parsed.fixSql).toEqual((await runSchemaDoctor(db.orm)).fixSql); // what the library reports
  });

  test('--fix --dry-run changes nothing', async () => {
    const r = await doctorCli(['--fix', '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/Would apply \(dry run\)/);
    await expect(oldInsert('still-broken')).rejects.toMatchObject({ code: '23502' });
  });

  test('--fix repairs it in one transaction; the same insert then succeeds with the entity defaults', async () => {
    const r = await doctorCli(['--fix']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Applied in one transaction/);
    const { rows } = await oldInsert('after-fix');
    expect(rows[0]).toMatchObject({
      sync_direction: 'inherit',
      conflict_status: 'none',
      conflict_details: {},
      external_modifications: [],
      sync_metadata: {},
      dependency_score: 0,
      managed_file_path: null,
    });
    expect(await runSchemaDoctor(db.orm)).toMatchObject({ healthy: true });
    // The ORM path works again too.
    await db.orm.em.fork().insert(HedgehogResource, { fabric: fabricId, kind: 'VPC', name: 'orm-after-fix' });
  });
});

describe('other findings', () => {
  afterEach(async () => {
    // Each case repairs what it broke, so the next starts healthy.
    await runSchemaDoctor(db.orm, { fix: true });
  });

  test('a default that differs from the entity is reported and restored; an equivalent spelling is not', async () => {
    await withPg(db.url, async (c) => {
      await c.query(`alter table hedgehog_fabric alter column sync_interval_seconds set default 60`);
      await c.query(`alter table hedgehog_resource alter column namespace set default 'default'::text`);
      await c.query(`alter table hedgehog_resource alter column created set default CURRENT_TIMESTAMP`);
    });
    const report = await runSchemaDoctor(db.orm);
    const mismatches = report.findings.filter((f) => f.kind === 'default_mismatch');
    expect(mismatches.map((f) => `${f.table}.${f.column}`)).toEqual(['hedgehog_fabric.sync_interval_seconds']);
    expect(mismatches[0]).toMatchObject({ liveDefault: '60', expectedDefault: '300' });
    const fixed = await runSchemaDoctor(db.orm, { fix: true });
    expect(fixed.healthy).toBe(true);
    expect(fixed.fixedFindings.map((f) => f.kind)).toContain('default_mismatch');
  });

  test('pending migrations are reported without touching the database', async () => {
    const executed = await withPg(
      db.url,
      async (c) => (await c.query('delete from mikro_orm_migrations returning *')).rows,
    );
    try {
      const report = await runSchemaDoctor(db.orm);
      expect(report.findings.map((f) => f.kind)).toEqual(['pending_migrations']);
      expect(report.findings[0]!.details).toEqual(executed.map((r) => r.name));
    } finally {
      await withPg(db.url, async (c) => {
        for (const r of executed)
          await c.query('insert into mikro_orm_migrations (name, executed_at) values ($1, $2)', [
            r.name,
            r.executed_at,
          ]);
      });
    }
  });
});

describe('any PostgreSQL database, not only ours', () => {
  beforeAll(async () => {
    await withPg(db.url, async (c) => {
      await c.query(`create table legacy_widget (
        id integer generated always as identity primary key,
        sku text not null,
        color text not null,
        note text,
        qty integer not null default 0,
        double_qty integer generated always as (qty * 2) stored
      )`);
      await c.query(
        `create table legacy_pair (a integer not null, b integer not null, label text not null, primary key (a, b))`,
      );
      await c.query(`create schema elsewhere`);
      await c.query(`create table elsewhere.thing (x text not null)`);
    });
  });

  test('reports NOT NULL columns without a default, except keys, identity and generated columns; no fix is invented', async () => {
    const report = await runSchemaDoctor(db.orm);
    const found = report.findings.filter((f) => f.kind === 'not_null_without_default');
    expect(found.map((f) => `${f.schema}.${f.table}.${f.column}`).sort()).toEqual([
      'elsewhere.thing.x',
      'public.legacy_pair.label',
      'public.legacy_widget.color',
      'public.legacy_widget.sku',
    ]);
    expect(found.every((f) => f.fixSql === undefined)).toBe(true);
    expect(report.fixSql).toEqual([]);
  });

  test('--schema and --table narrow the examination; exit 1 with findings, 0 without', async () => {
    let r = await doctorCli(['--schema', 'elsewhere']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('elsewhere.thing.x');
    expect(r.out).not.toContain('legacy_widget');

    r = await doctorCli(['--table', 'legacy_widget']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('public.legacy_widget.sku');
    expect(r.out).not.toContain('legacy_pair');

    r = await doctorCli(['--table', 'hedgehog_fabric']);
    expect(r.code).toBe(0);
  });
});

describe('usage errors exit 2', () => {
  test.each([[['--bogus']], [['stray-argument']], [['--schema']]])('%j', async (args) => {
    const r = await doctorCli(args);
    expect(r.code).toBe(2);
    expect(r.err).not.toBe('');
  });
});

const bin = resolve('bin', 'hh-sync.js');
const compiled = resolve('dist', 'src', 'cli', 'main.js');

test('the hh-sync binary: doctor exits 0 on a healthy table and 1 on a broken one', async () => {
  if (!existsSync(compiled)) throw new Error('compiled CLI missing: run npm run build');
  // A table of its own with a NOT NULL column without a default (this test runs alone too).
  await withPg(db.url, (c) => c.query('create table binary_widget (sku text not null)'));
  const run = (args: string[]) =>
    new Promise<number>((done) => {
      execFile(process.execPath, [bin, 'doctor', '--database-url', db.url, ...args], { timeout: 60_000 }, (err) =>
        done(err ? (typeof err.code === 'number' ? err.code : 99) : 0),
      );
    });
  // Side by side: three process starts cost one's wall time.
  try {
    expect(
      await Promise.all([
        run(['--table', 'hedgehog_resource']),
        run(['--table', 'binary_widget']),
        run(['--no-such-flag']),
      ]),
    ).toEqual([0, 1, 2]);
  } finally {
    await withPg(db.url, (c) => c.query('drop table binary_widget'));
  }
});

test('with no URL and no embedded ledger there is nothing to examine: exit 2, nothing created', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hh-doctor-'));
  try {
    let err = '';
    // An environment without database URLs (the test process's may name the test server).
    const env = cliEnv();
    const code = await runDoctorCli(['--data-dir', join(dir, 'pgdata')], {
      stdout: () => {},
      stderr: (t) => (err += t),
      env,
    });
    expect(code).toBe(2);
    expect(err).toMatch(/no database to examine/);
    expect(existsSync(join(dir, 'pgdata'))).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
