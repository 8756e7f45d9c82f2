/**
 * Issue 9, round 3: the doctor's repair of a ledger column that refuses NULL through something other than
 * its own NOT NULL. A CHECK constraint on a column the entity declares nullable is dropped (re-added
 * NOT VALID on the way down); a NOT NULL domain is named as a manual fix; and after --fix the doctor
 * examines again and says which applied statement did not remove its finding — never "Applied" alone
 * for a statement that changed nothing (it used to apply DROP DEFAULT and list the same finding again).
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { formatDoctorReport, runSchemaDoctor, type DoctorReport } from '../src/db/schema-doctor.js';
import { checkLedgerSchema } from '../src/db/schema-preflight.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
let orm: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await ifSetUp(db)?.close();
});

const ddl = (sql: string) => withPg(db.url, (c) => c.query(sql));
const constraints = async () =>
  (
    await withPg(db.url, (c) =>
      c.query(
        `select conname from pg_constraint where conrelid = 'hedgehog_resource'::regclass and conname like 'ck\\_%' order by 1`,
      ),
    )
  ).rows.map((r) => r.conname as string);
const notNullFindings = (r: DoctorReport) => r.findings.filter((f) => f.kind === 'not_null_without_default');

test('a CHECK (last_sync_error IS NOT NULL) on a nullable ledger column: --fix drops the constraint and the finding is gone', async () => {
  await ddl(`ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_x CHECK (last_sync_error IS NOT NULL) NOT VALID`);
  const before = await runSchemaDoctor(orm);
  const [finding] = notNullFindings(before);
  expect(finding).toMatchObject({
    column: 'last_sync_error',
    fixSql: 'ALTER TABLE "public"."hedgehog_resource" DROP CONSTRAINT "ck_x";',
    downSql:
      'ALTER TABLE "public"."hedgehog_resource" ADD CONSTRAINT "ck_x" CHECK ((last_sync_error IS NOT NULL)) NOT VALID;',
  });

  const fixed = await runSchemaDoctor(orm, { fix: true });
  expect(fixed.appliedSql).toEqual([finding!.fixSql]);
  expect(notNullFindings(fixed)).toEqual([]);
  expect(fixed.notFixedFindings).toEqual([]);
  expect(fixed.fixedFindings.map((f) => f.column)).toContain('last_sync_error');
  expect(await constraints()).toEqual([]);
  expect((await checkLedgerSchema(orm.em.fork())).healthy).toBe(true);
  expect(formatDoctorReport(fixed, { fix: true })).not.toMatch(/not fixed by it/);
});

test('an applied statement that leaves its finding in place is reported as not fixed; the next --fix finishes the job', async () => {
  // NOT NULL on the column AND a CHECK: DROP NOT NULL alone leaves the CHECK refusing NULL.
  await ddl(`ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_y CHECK (last_sync_error IS NOT NULL) NOT VALID`);
  await ddl(`UPDATE hedgehog_resource SET last_sync_error = '' WHERE last_sync_error IS NULL`);
  await ddl(`ALTER TABLE hedgehog_resource ALTER COLUMN last_sync_error SET NOT NULL`);
  const first = await runSchemaDoctor(orm, { fix: true });
  expect(first.appliedSql).toEqual([
    'ALTER TABLE "public"."hedgehog_resource" ALTER COLUMN "last_sync_error" DROP NOT NULL;',
  ]);
  expect(first.notFixedFindings!.map((f) => f.column)).toEqual(['last_sync_error']);
  expect(first.healthy).toBe(false);
  const text = formatDoctorReport(first, { fix: true });
  expect(text).toMatch(/^not fixed by it: public\.hedgehog_resource\.last_sync_error: NOT NULL without a default/m);
  expect(text).toMatch(/^✗ public\.hedgehog_resource\.last_sync_error: NOT NULL through CHECK constraint ck_y/m);

  const second = await runSchemaDoctor(orm, { fix: true });
  expect(second.appliedSql).toEqual(['ALTER TABLE "public"."hedgehog_resource" DROP CONSTRAINT "ck_y";']);
  expect(notNullFindings(second)).toEqual([]);
  expect(await constraints()).toEqual([]);
});

test('a NOT NULL domain on a nullable ledger column is a manual fix, named in the finding; --fix applies nothing for it', async () => {
  await ddl(`UPDATE hedgehog_resource SET last_sync_error = '' WHERE last_sync_error IS NULL`);
  await ddl(`CREATE DOMAIN ck_required AS text NOT NULL`);
  await ddl(`ALTER TABLE hedgehog_resource ALTER COLUMN last_sync_error TYPE ck_required`);
  try {
    const report = await runSchemaDoctor(orm, { fix: true });
    const [finding] = notNullFindings(report);
    expect(finding!.fixSql).toBeUndefined();
    expect(finding!.message).toContain(
      'manual fix: ALTER TABLE "public"."hedgehog_resource" ALTER COLUMN "last_sync_error" TYPE text;',
    );
    expect(report.appliedSql.some((s) => s.includes('last_sync_error'))).toBe(false);
    expect(formatDoctorReport(report, { fix: true })).not.toMatch(/last_sync_error" DROP DEFAULT/);
  } finally {
    await ddl(`ALTER TABLE hedgehog_resource ALTER COLUMN last_sync_error TYPE text`);
    await ddl(`DROP DOMAIN ck_required`);
  }
});
