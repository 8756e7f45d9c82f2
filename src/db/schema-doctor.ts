/**
 * The schema doctor: finds the incident's bug class in any PostgreSQL database.
 *
 * Everywhere: NOT NULL columns with no default (primary keys, identity and
 * generated columns excepted) — an INSERT that omits such a column fails, and in a
 * batch it takes every other row down with it. NOT NULL may come from the column,
 * from a NOT NULL domain, or from a CHECK constraint (check-not-null.ts). On a
 * table the user names that is not ours, it proposes type-based defaults
 * (foreign-table-repair.ts, default-repair.ts). A schema or table that does not
 * exist is an error (doctor-scope.ts), never an empty "healthy" report.
 *
 * On our own tables it also compares the live schema with the entities: column
 * defaults that differ from the entity's, columns our entities require to be
 * nullable or to carry a default, pending migrations, and anything else MikroORM's
 * schema diff would change. It builds the SQL that restores our defaults and, with
 * `fix`, applies it in one transaction.
 *
 * Read-only unless `fix` is set (it never creates the migrations table, unlike
 * MikroORM's migrator).
 */
import type { MikroORM } from '@mikro-orm/postgresql';
import { pendingMigrationNames } from './migration-names.js';
import { ledgerColumns, ledgerTables, type LedgerColumn } from './ledger-columns.js';
import { MIGRATIONS_TABLE } from './orm-core-config.js';
import { columnKey, columnsRequiredByChecks, loadCheckConstraints, type CheckConstraint } from './check-not-null.js';
import { dropDefaultSql, setDefaultSql, setNotNullSql, sqlIdent, type DoctorRepair } from './default-repair.js';
import { foreignColumnRepair, foreignTableNotes } from './foreign-table-repair.js';
import { CATALOG_SQL, type CatalogColumn } from './doctor-catalog.js';
import { checkScope } from './doctor-scope.js';

export type { DoctorRepair } from './default-repair.js';

export type DoctorFindingKind =
  /** NOT NULL, no default, not a key: inserts that omit it fail. */
  | 'not_null_without_default'
  /** Our column's database default differs from the entity's. */
  | 'default_mismatch'
  /** Migrations of this package not applied to the database. */
  | 'pending_migrations'
  /** MikroORM would change the live schema to match the entities. */
  | 'schema_difference';

export interface DoctorFinding {
  kind: DoctorFindingKind;
  schema: string;
  table?: string;
  column?: string;
  /** One line for humans. */
  message: string;
  /** Live column default as PostgreSQL prints it (null = none). */
  liveDefault?: string | null;
  /** The entity's default (null = none). */
  expectedDefault?: string | null;
  /** The statement that repairs this finding, when one is known. */
  fixSql?: string;
  /** The statement that undoes fixSql (for the migration's down section). */
  downSql?: string;
  /** Pending migration names, or the ORM's schema-diff statements. */
  details?: string[];
}

export interface DoctorReport {
  /** Schemas examined. */
  schemas: string[];
  table: string | null;
  /** Our tables (or migrations table) exist in the ledger schema. */
  ledgerDetected: boolean;
  ledgerSchema: string;
  findings: DoctorFinding[];
  /** Statements restoring our defaults/nullability, in order (one transaction). */
  fixSql: string[];
  /** The statements applied by `fix` (empty on a dry run or without fix). */
  appliedSql: string[];
  /** Findings that existed before `fix` repaired them. */
  fixedFindings: DoctorFinding[];
  /** Findings whose statement `fix` applied yet which the examination afterwards still finds. */
  notFixedFindings?: DoctorFinding[];
  healthy: boolean;
  /** current_database() of the examined database. */
  databaseName: string;
  /** Columns of a named foreign table left alone on purpose (identity, serial, generated, keys), one line each. */
  notes: string[];
  /** fixSql with down statements: what `fix` applies (or applied), for a reviewable migration. */
  repairs: DoctorRepair[];
}

export { DoctorScopeError } from './doctor-scope.js';

export interface SchemaDoctorOptions {
  /** Only this schema (default: every user schema for the generic check; `public` for the ledger). */
  schema?: string;
  /** Only this table. */
  table?: string;
  /** Apply fixSql in one transaction, then examine again. */
  fix?: boolean;
  /** With fix: compute and report the SQL, apply nothing. */
  dryRun?: boolean;
  /** With fix: how long to wait for each table's lock before giving up, changing nothing (default 5000). */
  lockTimeoutMs?: number;
}

export const DEFAULT_FIX_LOCK_TIMEOUT_MS = 5000;

function qualified(schema: string, table: string): string {
  return `${sqlIdent(schema)}.${sqlIdent(table)}`;
}

type Exec = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** Examines (and with `fix`, repairs) the database the ORM is connected to. */
export async function runSchemaDoctor(orm: MikroORM, options: SchemaDoctorOptions = {}): Promise<DoctorReport> {
  const first = await examine(orm, options);
  if (!options.fix || options.dryRun || first.fixSql.length === 0) return first;

  const conn = orm.em.getConnection();
  const lockTimeoutMs = Math.max(1, Math.floor(options.lockTimeoutMs ?? DEFAULT_FIX_LOCK_TIMEOUT_MS));
  await conn.transactional(async (trx) => {
    // ALTER TABLE waits for an exclusive lock, and every query on the table queues behind it: give up instead.
    await conn.execute(`SET LOCAL lock_timeout = ${lockTimeoutMs}`, [], 'run', trx);
    for (const sql of first.fixSql) {
      await conn.execute(sql, [], 'run', trx).catch((err: unknown) => {
        throw lockTimeoutError(err, sql, lockTimeoutMs);
      });
    }
  });
  const after = await examine(orm, options);
  const remaining = new Set(after.findings.map(findingKey));
  return {
    ...after,
    appliedSql: first.fixSql,
    repairs: first.repairs,
    fixedFindings: first.findings.filter((f) => !remaining.has(findingKey(f))),
    notFixedFindings: first.findings.filter((f) => f.fixSql && remaining.has(findingKey(f))),
  };
}

/** A lock timeout as one clear line naming the table; any other error unchanged. */
function lockTimeoutError(err: unknown, sql: string, ms: number): unknown {
  if ((err as { code?: string }).code !== '55P03') return err;
  const table = /^ALTER TABLE (\S+)/.exec(sql)?.[1] ?? 'a table';
  return new Error(
    `could not lock ${table} within ${ms} ms (another session is using it); nothing was changed — retry when it is idle`,
  );
}

function findingKey(f: DoctorFinding): string {
  return [f.kind, f.schema, f.table ?? '', f.column ?? ''].join('.');
}

/** What one examination looks at: the live catalog, and which of its tables are the ledger's. */
interface Examined {
  catalog: CatalogColumn[];
  ledgerSchema: string;
  /** The one table the user named (--table), or null for all. */
  table: string | null;
  ourTables: Set<string>;
  expectedByColumn: Map<string, LedgerColumn>;
  /** The ledger's tables (and the migrations table) that exist. */
  existingNames: Set<string>;
  isOurs(c: { schema: string; table: string }): boolean;
}

async function examine(orm: MikroORM, options: SchemaDoctorOptions): Promise<DoctorReport> {
  const conn = orm.em.getConnection();
  const exec: Exec = (sql, params = []) => conn.execute(sql, params, 'all') as never;
  const databaseName = await checkScope(exec, options);
  const scope = await loadExamined(orm, exec, options);
  const { catalog, ledgerSchema, table, ourTables } = scope;
  const ledgerDetected = scope.existingNames.size > 0;
  const examineLedger = ledgerDetected && (table === null || ourTables.has(table));

  const findings = await notNullFindings(exec, scope, options);
  const notes = table !== null ? foreignTableNotes(catalog.filter((c) => !scope.isOurs(c))) : [];
  if (examineLedger) {
    findings.push(...(await defaultMismatchFindings(exec, scope)));
    const pending = await pendingMigrations(exec, scope);
    if (pending.length > 0) {
      findings.push({
        kind: 'pending_migrations',
        schema: ledgerSchema,
        message: `${pending.length} migration(s) not applied: ${pending.join(', ')} (schema comparison waits until they are)`,
        details: pending,
      });
    }
    // 4. Whatever else MikroORM would change to make the live schema match the entities.
    //    Until the migrations are applied that is mostly what they would do, so it waits.
    const diff = pending.length > 0 ? [] : await schemaDiff(orm, ledgerSchema, table);
    if (diff.length > 0) {
      findings.push({
        kind: 'schema_difference',
        schema: ledgerSchema,
        ...(table ? { table } : {}),
        message: `the live schema differs from the entities (${diff.length} statement(s) to reconcile)`,
        details: diff,
      });
    }
  }

  const fixSql = findings.flatMap((f) => (f.fixSql ? [f.fixSql] : []));
  const repairs = findings.flatMap((f) =>
    f.fixSql ? [{ sql: f.fixSql, downSql: f.downSql ?? '', finding: f.message }] : [],
  );
  return {
    databaseName,
    notes,
    repairs,
    schemas: [...new Set(catalog.map((c) => c.schema))],
    table,
    ledgerDetected,
    ledgerSchema,
    findings,
    fixSql,
    appliedSql: [],
    fixedFindings: [],
    healthy: findings.length === 0,
  };
}

async function loadExamined(orm: MikroORM, exec: Exec, options: SchemaDoctorOptions): Promise<Examined> {
  const ledgerSchema = options.schema ?? orm.config.get('schema') ?? 'public';
  const table = options.table ?? null;
  const catalog = await exec<CatalogColumn>(CATALOG_SQL, [
    options.schema ?? null,
    options.schema ?? null,
    table,
    table,
  ]);
  const metadata = orm.getMetadata();
  const ours = ledgerColumns(metadata);
  const ourTables = new Set(ledgerTables(metadata));
  const expectedByColumn = new Map(ours.map((c) => [`${c.table}.${c.column}`, c]));
  const existing = await exec<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = ? and table_name = any(string_to_array(?, ','))`,
    [ledgerSchema, [...ourTables, MIGRATIONS_TABLE].join(',')],
  );
  return {
    catalog,
    ledgerSchema,
    table,
    ourTables,
    expectedByColumn,
    existingNames: new Set(existing.map((r) => r.table_name)),
    isOurs: (c) => c.schema === ledgerSchema && ourTables.has(c.table),
  };
}

/** 1. NOT NULL (by the column, a domain or a CHECK) without a default, on every table. */
async function notNullFindings(exec: Exec, scope: Examined, options: SchemaDoctorOptions): Promise<DoctorFinding[]> {
  const { catalog, table, expectedByColumn } = scope;
  const findings: DoctorFinding[] = [];
  const checks = await loadCheckConstraints(exec, options.schema ?? null, table);
  const types = new Map(catalog.map((c) => [columnKey(c.schema, c.table, c.column), c.type]));
  const requiredByCheck = await columnsRequiredByChecks(exec, checks, (key) => types.get(key));
  for (const col of catalog) {
    const checkName = requiredByCheck.get(columnKey(col.schema, col.table, col.column));
    const enforcedBy = notNullSource(col, checkName);
    if (enforcedBy === null || col.default_expr !== null || col.domain_default !== null) continue;
    if (col.is_pk || col.is_identity || col.is_generated) continue;
    const expected = scope.isOurs(col) ? expectedByColumn.get(`${col.table}.${col.column}`) : undefined;
    if (expected?.identity) continue;
    const where = `${col.schema}.${col.table}.${col.column}`;
    const finding: DoctorFinding = {
      kind: 'not_null_without_default',
      schema: col.schema,
      table: col.table,
      column: col.column,
      liveDefault: null,
      message: `${where}: NOT NULL${enforcedBy} without a default — every INSERT that omits it fails`,
    };
    if (expected) {
      finding.expectedDefault = expected.defaultSql;
      const check = checks.find((c) => c.schema === col.schema && c.table === col.table && c.name === checkName);
      const repair = ledgerRepair(col, expected, check);
      if (repair.fixSql) Object.assign(finding, { fixSql: repair.fixSql, downSql: repair.downSql });
      finding.message += expected.defaultSql
        ? ` (entity default ${expected.defaultSql})`
        : expected.nullable
          ? ` (the entity declares it nullable${repair.manual ? `; manual fix: ${repair.manual}` : ''})`
          : '';
    } else if (scope.isOurs(col)) {
      finding.message += ' (no such property in the entities)';
    } else if (table !== null) {
      // The user named this table: propose a default from the column's type.
      const own = checks.filter(
        (c) =>
          c.schema === col.schema && c.table === col.table && c.columns.length === 1 && c.columns[0] === col.column,
      );
      const { note, ...fix } = await foreignColumnRepair(exec, col, own);
      Object.assign(finding, fix);
      finding.message += note;
    } else {
      finding.message += ` (give it a default or make it nullable; --schema ${col.schema} --table ${col.table} --fix proposes one)`;
    }
    findings.push(finding);
  }
  return findings;
}

/** 2. Our columns whose live default differs from the entity's. */
async function defaultMismatchFindings(exec: Exec, scope: Examined): Promise<DoctorFinding[]> {
  const { expectedByColumn } = scope;
  const candidates = scope.catalog.filter(
    (c) => scope.isOurs(c) && !c.is_pk && expectedByColumn.has(`${c.table}.${c.column}`) && c.default_expr !== null,
  );
  const same = await sameDefaults(exec, candidates, expectedByColumn);
  const findings: DoctorFinding[] = [];
  for (const col of candidates) {
    const expected = expectedByColumn.get(`${col.table}.${col.column}`)!;
    if (same.get(col) === true) continue;
    const where = `${col.schema}.${col.table}.${col.column}`;
    const finding: DoctorFinding = {
      kind: 'default_mismatch',
      schema: col.schema,
      table: col.table,
      column: col.column,
      liveDefault: col.default_expr,
      expectedDefault: expected.defaultSql,
      message: `${where}: database default ${col.default_expr} but the entity's is ${expected.defaultSql ?? 'none'}`,
    };
    const fix = restoreSql(col, expected);
    if (fix) finding.fixSql = fix;
    findings.push(finding);
  }
  return findings;
}

/** 3. The names of the migrations not applied (read from the migrations table without creating it). */
async function pendingMigrations(exec: Exec, scope: Examined): Promise<string[]> {
  const executed = scope.existingNames.has(MIGRATIONS_TABLE)
    ? (await exec<{ name: string }>(`select name from ${qualified(scope.ledgerSchema, MIGRATIONS_TABLE)}`)).map((r) =>
        r.name.replace(/\.[jt]s$/, ''),
      )
    : [];
  return pendingMigrationNames(executed);
}

/** Where a column's NOT NULL comes from, as a message fragment ('' = the column itself); null = nullable. */
function notNullSource(col: CatalogColumn, check: string | undefined): string | null {
  if (col.not_null) return '';
  if (col.domain_not_null) return ` through domain ${col.domain_name}`;
  if (check !== undefined) return ` through CHECK constraint ${check}`;
  return null;
}

/** The statement that undoes restoreSql's, for a migration's down section. */
function undoRestoreSql(col: CatalogColumn, fix: string): string {
  if (fix.endsWith('DROP NOT NULL;')) return setNotNullSql(col);
  return col.default_expr === null ? dropDefaultSql(col) : setDefaultSql(col, col.default_expr);
}

interface LedgerRepair {
  fixSql?: string;
  downSql?: string;
  /** The statement a person must review and run, when the doctor will not apply one itself. */
  manual?: string;
}

/**
 * The repair of a ledger column that refuses NULL without a default. A default from the entity is restored;
 * for a column the entity declares nullable, what makes it refuse NULL is removed: the column's NOT NULL, or
 * a foreign CHECK constraint (re-added NOT VALID on the way down). A NOT NULL domain means changing the
 * column's type: that is left to a person, named plainly — never a statement that leaves the finding in place.
 */
function ledgerRepair(col: CatalogColumn, expected: LedgerColumn, check: CheckConstraint | undefined): LedgerRepair {
  const target = `ALTER TABLE ${qualified(col.schema, col.table)}`;
  if (expected.defaultSql !== null || col.not_null) {
    const fixSql = restoreSql(col, expected);
    return fixSql ? { fixSql, downSql: undoRestoreSql(col, fixSql) } : {};
  }
  if (!expected.nullable) return {};
  if (col.domain_not_null) return { manual: `${target} ALTER COLUMN ${sqlIdent(col.column)} TYPE ${col.base_type};` };
  if (check) {
    return {
      fixSql: `${target} DROP CONSTRAINT ${sqlIdent(check.name)};`,
      downSql: `${target} ADD CONSTRAINT ${sqlIdent(check.name)} ${check.def.replace(/\s+NOT VALID$/i, '')} NOT VALID;`,
    };
  }
  return {};
}

/** The statement that makes a live column carry the entity's default (or nullability); null when none applies. */
function restoreSql(col: CatalogColumn, expected: LedgerColumn): string | null {
  const target = `ALTER TABLE ${qualified(col.schema, col.table)} ALTER COLUMN ${sqlIdent(col.column)}`;
  if (expected.defaultSql !== null) return `${target} SET DEFAULT ${expected.defaultSql};`;
  if (expected.nullable) {
    // A nullable entity column: the honest default is NULL.
    return col.not_null ? `${target} DROP NOT NULL;` : `${target} DROP DEFAULT;`;
  }
  // An identity column has no default to restore.
  return null;
}

/**
 * Whether each live default evaluates to the same value as the entity's default,
 * compared by PostgreSQL itself (so `'x'::text` equals `'x'`, `now()` equals
 * `CURRENT_TIMESTAMP`). Evaluated in a transaction that is rolled back.
 */
async function sameDefaults(
  exec: Exec,
  columns: CatalogColumn[],
  expected: Map<string, LedgerColumn>,
): Promise<Map<CatalogColumn, boolean>> {
  const result = new Map<CatalogColumn, boolean>();
  const comparable = columns.filter((c) => {
    const e = expected.get(`${c.table}.${c.column}`)!;
    if (e.defaultSql === null) {
      result.set(c, false);
      return false;
    }
    return true;
  });
  const expr = (c: CatalogColumn) => {
    const e = expected.get(`${c.table}.${c.column}`)!;
    return `((${c.default_expr})::${c.type} is not distinct from (${e.defaultSql})::${c.type})`;
  };
  if (comparable.length === 0) return result;
  try {
    const [row] = await exec<Record<string, boolean>>(
      `select ${comparable.map((c, i) => `${expr(c)} as c${i}`).join(', ')}`,
    );
    comparable.forEach((c, i) => result.set(c, row?.[`c${i}`] === true));
  } catch {
    // One expression does not evaluate (e.g. a default of the wrong type): compare one by one.
    for (const c of comparable) {
      try {
        const [row] = await exec<{ same: boolean }>(`select ${expr(c)} as same`);
        result.set(c, row?.same === true);
      } catch {
        result.set(c, false);
      }
    }
  }
  return result;
}

/** MikroORM's update-schema SQL against the live database, one statement per entry. */
async function schemaDiff(orm: MikroORM, schema: string, table: string | null): Promise<string[]> {
  const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: false, schema });
  const statements = sql
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter((s) => s && !/^set names /i.test(s))
    .map((s) => `${s};`);
  return table ? statements.filter((s) => s.includes(sqlIdent(table))) : statements;
}

/** Human-readable report; `migration` (formatRepairMigration) replaces the bare SQL of a dry run. */
export function formatDoctorReport(
  report: DoctorReport,
  options: { fix?: boolean; dryRun?: boolean; migration?: string } = {},
): string {
  const lines: string[] = [];
  const scope = report.table ? `table ${report.table}` : `schema(s) ${report.schemas.join(', ') || '(none)'}`;
  lines.push(
    `Examined ${scope}${report.ledgerDetected ? `; ledger tables in ${report.ledgerSchema}` : '; no ledger tables found'}.`,
  );
  for (const note of report.notes) lines.push(`· ${note}`);
  for (const f of report.fixedFindings) lines.push(`fixed: ${f.message}`);
  if (report.appliedSql.length > 0) {
    lines.push(`Applied in one transaction:`);
    for (const s of report.appliedSql) lines.push(`  ${s}`);
    // Examined again afterwards: a statement that did not remove its finding is said so, not passed off as a fix.
    for (const f of report.notFixedFindings ?? []) lines.push(`not fixed by it: ${f.message}`);
  }
  if (report.findings.length === 0) {
    lines.push('Healthy: no findings.');
    return lines.join('\n');
  }
  for (const f of report.findings) {
    lines.push(`✗ ${f.message}`);
    for (const d of f.details ?? []) lines.push(`    ${d}`);
  }
  if (report.fixSql.length > 0 && options.fix && options.dryRun && options.migration) {
    lines.push('Would apply (dry run), as a migration:', options.migration.trimEnd());
  } else if (report.fixSql.length > 0) {
    lines.push(options.fix && options.dryRun ? 'Would apply (dry run):' : 'SQL that repairs them:');
    lines.push('  BEGIN;');
    for (const s of report.fixSql) lines.push(`  ${s}`);
    lines.push('  COMMIT;');
    if (!options.fix) lines.push('Run with --fix to apply it in one transaction.');
  }
  const unfixable = report.findings.filter((f) => !f.fixSql && f.kind === 'not_null_without_default').length;
  if (unfixable > 0) lines.push(`${unfixable} column(s) have no known default: decide one, or make them nullable.`);
  if (report.findings.some((f) => f.kind === 'pending_migrations')) {
    lines.push('Apply pending migrations with `npx mikro-orm migration:up` (or open the ledger, which migrates).');
  }
  return lines.join('\n');
}
