/**
 * The SQL of every migration (up and down) passes squawk with
 * adding-required-field, adding-not-nullable-field and ban-drop-column as errors,
 * and our own check: no DROP DEFAULT on a NOT NULL column, no quoted 'now()'.
 *
 * squawk 2.x has no per-rule severity: every rule it reports makes it exit 1.
 * So it runs with `--reporter json`, and the three rules above fail the test
 * while the others (prefer-bigint-over-int, require-timeout-settings, …) are only
 * printed. Negative controls prove both checks actually fire.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { lintMigrationStatements, migrationSql, type MigrationSql } from '../src/db/migration-lint.js';
import { ledgerColumns } from '../src/db/ledger-columns.js';
import { MIGRATIONS, createOrmConfig } from '../src/db/orm-config.js';

// The platform package of squawk-cli, installed directly: the wrapper package's optional dependencies for
// other platforms are not on this registry, which would leave package-lock.json unusable for `npm ci`.
const SQUAWK = resolve('node_modules', '@squawk-cli', 'linux-x64', 'bin', 'squawk');
const ERROR_RULES = ['adding-required-field', 'adding-not-nullable-field', 'ban-drop-column'];

interface SquawkViolation {
  file: string;
  line: number;
  rule_name: string;
  message: string;
}

let dir: string;
let sql: MigrationSql[];
let isNotNull: (table: string, column: string) => boolean;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hh-squawk-'));
  // No database needed: the migration classes only collect their SQL.
  const orm = await MikroORM.init(createOrmConfig('postgres://lint@127.0.0.1/lint', { connect: false }));
  try {
    sql = await migrationSql(MIGRATIONS, orm.em.getDriver(), orm.config);
    const notNull = new Set(
      ledgerColumns(orm.getMetadata())
        .filter((c) => !c.nullable)
        .map((c) => `${c.table}.${c.column}`),
    );
    isNotNull = (t, c) => notNull.has(`${t}.${c}`);
  } finally {
    await orm.close(true);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function squawk(files: Record<string, string>): Promise<SquawkViolation[]> {
  const paths = Object.entries(files).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
  return new Promise((done, fail) => {
    execFile(
      SQUAWK,
      ['--reporter', 'json', '--pg-version', '15', '--assume-in-transaction', ...paths],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        // exit 1 = violations found; anything else with no JSON is a real failure
        try {
          done(stdout.trim() ? (JSON.parse(stdout) as SquawkViolation[]) : []);
        } catch {
          fail(new Error(`squawk failed: ${err?.message ?? ''} ${stderr}`));
        }
      },
    );
  });
}

const asFile = (statements: string[]) => statements.map((s) => (s.trim().endsWith(';') ? s : `${s};`)).join('\n');

test('every migration has SQL for up and for down', () => {
  expect(sql.length).toBe(MIGRATIONS.length);
  for (const m of sql) {
    expect(m.up.length).toBeGreaterThan(0);
    expect(m.down.length).toBeGreaterThan(0);
  }
});

test('squawk: no adding-required-field, adding-not-nullable-field or ban-drop-column in any migration', async () => {
  const files: Record<string, string> = {};
  for (const m of sql) {
    files[`${m.name}.up.sql`] = asFile(m.up);
    files[`${m.name}.down.sql`] = asFile(m.down);
  }
  const violations = await squawk(files);
  // squawk must have understood the SQL: a parse failure would hide everything else.
  expect(violations.filter((v) => /syntax|parse/i.test(v.rule_name))).toEqual([]);
  // A down migration undoes its own up: dropping the columns that up added breaks no client that ran before it.
  const errors = violations.filter(
    (v) => ERROR_RULES.includes(v.rule_name) && !(v.rule_name === 'ban-drop-column' && v.file.endsWith('.down.sql')),
  );
  expect(errors.map((v) => `${v.file}:${v.line + 1} ${v.rule_name}: ${v.message}`)).toEqual([]);
});

test('squawk negative control: the incident-shaped migration is reported by all three rules', async () => {
  const violations = await squawk({
    'incident.sql': [
      'alter table "hedgehog_resource" add column "sync_metadata" jsonb not null;',
      'alter table "hedgehog_resource" alter column "file_hash" set not null;',
      'alter table "hedgehog_resource" drop column "annotations";',
    ].join('\n'),
  });
  for (const rule of ERROR_RULES) expect(violations.map((v) => v.rule_name)).toContain(rule);
});

test('our check: no DROP DEFAULT on a NOT NULL column and no quoted now() in any migration', () => {
  for (const m of sql) {
    expect(lintMigrationStatements(m.up, isNotNull)).toEqual([]);
    expect(lintMigrationStatements(m.down, isNotNull)).toEqual([]);
  }
});

describe('our check, negative controls', () => {
  test('DROP DEFAULT on a column the entities declare NOT NULL', () => {
    const problems = lintMigrationStatements(
      ['alter table "hedgehog_resource" alter column "sync_direction" drop default;'],
      isNotNull,
    );
    expect(problems).toEqual([
      expect.objectContaining({
        rule: 'drop-default-on-not-null',
        table: 'hedgehog_resource',
        column: 'sync_direction',
      }),
    ]);
  });

  test('the Django-style add-then-drop-default of the incident, within one migration', () => {
    const problems = lintMigrationStatements([
      `alter table "legacy" add column "conflict_status" varchar(20) default 'none' not null;`,
      'alter table "legacy" alter column "conflict_status" drop default;',
      'ALTER TABLE legacy ALTER COLUMN other SET NOT NULL, ALTER COLUMN other DROP DEFAULT;',
    ]);
    expect(problems.map((p) => `${p.table}.${p.column}`)).toEqual(['legacy.conflict_status', 'legacy.other']);
  });

  test('DROP DEFAULT on a nullable column is fine; so is one made nullable first', () => {
    expect(
      lintMigrationStatements(['alter table "hedgehog_resource" alter column "file_hash" drop default;'], isNotNull),
    ).toEqual([]);
    expect(
      lintMigrationStatements([
        'alter table "t" add column "c" text not null default \'x\';',
        'alter table "t" alter column "c" drop not null;',
        'alter table "t" alter column "c" drop default;',
      ]),
    ).toEqual([]);
  });

  test('columns created NOT NULL in a create table count', () => {
    const problems = lintMigrationStatements([
      `create table "t" ("id" serial primary key, "a" text check ("a" in ('x', 'y')) not null default 'x', "b" text null);`,
      'alter table "t" alter column "a" drop default;',
      'alter table "t" alter column "b" drop default;',
    ]);
    expect(problems.map((p) => p.column)).toEqual(['a']);
  });

  test.each([
    `create table "t" ("created" timestamptz not null default 'now()');`,
    `alter table "t" alter column "created" set default 'now()';`,
    `alter table "t" add column "at" timestamptz not null default 'CURRENT_TIMESTAMP';`,
  ])('quoted now(): %s', (statement) => {
    expect(lintMigrationStatements([statement]).map((p) => p.rule)).toContain('quoted-now-default');
  });

  test('unquoted now() is fine', () => {
    expect(lintMigrationStatements([`alter table "t" alter column "created" set default now();`])).toEqual([]);
  });
});
