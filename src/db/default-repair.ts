/**
 * Defaults for NOT NULL columns of tables that are not the ledger's (a Django
 * model's table after an `AddField` migration, say), chosen from the column's
 * type: the value an INSERT that omits the column should get so it stops failing.
 *
 * Only ever `ALTER TABLE … ALTER COLUMN … SET DEFAULT`: no data changes. Foreign
 * keys get no default (no value is right for every row) and types without a
 * safe empty value (composite, range, geometry, …) are reported as needing a
 * manual default, never guessed. Each proposed default is evaluated against the
 * column's type (domain checks included) and its single-column CHECK constraints
 * before it is proposed.
 */

/** Runs SQL with `?` parameters; rows out. */
export type SqlExec = <T = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<T[]>;

/** What the repair needs to know about a column (a subset of the doctor's catalog row). */
export interface RepairColumn {
  schema: string;
  table: string;
  column: string;
  /** The column's type as format_type prints it (may be a domain). */
  type: string;
  /** The type under any domains: pg_type.typname, typtype, typcategory, and its printed name. */
  base_name: string;
  base_kind: string;
  base_category: string;
  base_type: string;
  /** First label of an enum base type. */
  first_label: string | null;
}

export type TypeDefault = { kind: 'default'; expr: string; why: string } | { kind: 'manual'; reason: string };

export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function tableName(col: Pick<RepairColumn, 'schema' | 'table'>): string {
  return `${sqlIdent(col.schema)}.${sqlIdent(col.table)}`;
}

export function setDefaultSql(col: Pick<RepairColumn, 'schema' | 'table' | 'column'>, expr: string): string {
  return `ALTER TABLE ${tableName(col)} ALTER COLUMN ${sqlIdent(col.column)} SET DEFAULT ${expr};`;
}

export function dropDefaultSql(col: Pick<RepairColumn, 'schema' | 'table' | 'column'>): string {
  return `ALTER TABLE ${tableName(col)} ALTER COLUMN ${sqlIdent(col.column)} DROP DEFAULT;`;
}

export function setNotNullSql(col: Pick<RepairColumn, 'schema' | 'table' | 'column'>): string {
  return `ALTER TABLE ${tableName(col)} ALTER COLUMN ${sqlIdent(col.column)} SET NOT NULL;`;
}

const TEXT_TYPES = new Set(['text', 'varchar', 'bpchar', 'citext', 'name']);
const NUMBER_TYPES = new Set(['int2', 'int4', 'int8', 'numeric', 'float4', 'float8']);

/** Defaults that depend on the type alone. */
const FIXED_DEFAULTS: Record<string, string> = {
  bool: 'false',
  timestamp: 'now()',
  timestamptz: 'now()',
  date: 'CURRENT_DATE',
  time: `'00:00'`,
  timetz: `'00:00'`,
  uuid: 'gen_random_uuid()',
  bytea: `''::bytea`,
};

/** The default the column's type suggests, before it is checked against the column. */
async function typeDefault(exec: SqlExec, col: RepairColumn): Promise<TypeDefault> {
  const base = col.base_type;
  if (col.base_category === 'A') return { kind: 'default', expr: `'{}'`, why: 'empty array' };
  if (col.base_kind === 'e') {
    if (col.first_label === null) return { kind: 'manual', reason: `enum ${base} has no labels` };
    return { kind: 'default', expr: sqlLiteral(col.first_label), why: `first label of enum ${base}` };
  }
  if (col.base_kind !== 'b') return { kind: 'manual', reason: `no safe default for type ${col.type}` };
  if (TEXT_TYPES.has(col.base_name)) return { kind: 'default', expr: `''`, why: 'empty text' };
  if (NUMBER_TYPES.has(col.base_name)) return { kind: 'default', expr: '0', why: 'zero' };
  if (col.base_name === 'json' || col.base_name === 'jsonb') return jsonDefault(exec, col);
  const fixed = FIXED_DEFAULTS[col.base_name];
  if (fixed) return { kind: 'default', expr: fixed, why: `${base} default` };
  return { kind: 'manual', reason: `no safe default for type ${col.type}` };
}

/** Rows sampled to decide between `[]` and `{}`. */
const JSON_SAMPLE_ROWS = 1000;

/** `'[]'` when the existing values are arrays, `'{}'` when objects or there are no rows; otherwise manual. */
async function jsonDefault(exec: SqlExec, col: RepairColumn): Promise<TypeDefault> {
  const rows = await exec<{ shape: string }>(
    `select distinct jsonb_typeof((${sqlIdent(col.column)})::jsonb) as shape
       from (select ${sqlIdent(col.column)} from ${tableName(col)} where ${sqlIdent(col.column)} is not null limit ${JSON_SAMPLE_ROWS}) sample`,
  );
  const shapes = rows.map((r) => r.shape).sort();
  const cast = `::${col.base_name}`;
  if (shapes.length === 0) return { kind: 'default', expr: `'{}'${cast}`, why: 'no rows yet: an empty object' };
  if (shapes.length === 1 && shapes[0] === 'object')
    return { kind: 'default', expr: `'{}'${cast}`, why: 'existing rows hold objects' };
  if (shapes.length === 1 && shapes[0] === 'array')
    return { kind: 'default', expr: `'[]'${cast}`, why: 'existing rows hold arrays' };
  return { kind: 'manual', reason: `existing values are ${shapes.join(' and ')}: no one empty value fits` };
}

/** The expression inside `CHECK (…)` (without NOT VALID). */
export function checkExpression(constraintDef: string): string {
  return constraintDef.replace(/^CHECK\s*/i, '').replace(/\s+NOT VALID\s*$/i, '');
}

/**
 * Evaluates single-column CHECK expressions with the column set to `valueSql`;
 * the name of the first that rejects it, null when none does. A value the type
 * (or its domain) rejects throws.
 */
export async function firstFailingCheck(
  exec: SqlExec,
  col: Pick<RepairColumn, 'column' | 'type'>,
  valueSql: string,
  checks: { name: string; def: string }[],
): Promise<string | null> {
  const tests = checks.map((c, i) => `coalesce((${checkExpression(c.def)}), true) as c${i}`);
  // Selecting the value itself makes PostgreSQL compute it (and its domain checks): unused, it would be optimised away.
  const typed = `${sqlIdent(col.column)} is null as typed`;
  // No bind parameters: the statement is sent as is, so a `?` in an expression stays a `?`.
  const sql = `select ${[typed, ...tests].join(', ')} from (select (${valueSql})::${col.type} as ${sqlIdent(col.column)}) probe`;
  const [row] = await exec<Record<string, boolean>>(sql);
  const failing = checks.findIndex((_, i) => row?.[`c${i}`] === false);
  return failing < 0 ? null : checks[failing]!.name;
}

/**
 * The default to give the column, proven to satisfy its type, domain and
 * single-column CHECK constraints; otherwise why it needs a manual one.
 */
export async function chooseDefault(
  exec: SqlExec,
  col: RepairColumn,
  checks: { name: string; def: string }[],
): Promise<TypeDefault> {
  const proposal = await typeDefault(exec, col);
  if (proposal.kind === 'manual') return proposal;
  try {
    const failing = await firstFailingCheck(exec, col, proposal.expr, checks);
    if (failing) return { kind: 'manual', reason: `${proposal.expr} would violate CHECK constraint ${failing}` };
  } catch (err) {
    return {
      kind: 'manual',
      reason: `${proposal.expr} is not a valid ${col.type}: ${(err as Error).message.split('\n')[0]}`,
    };
  }
  return proposal;
}

/** One statement of a repair, with the statement that undoes it. */
export interface DoctorRepair {
  sql: string;
  downSql: string;
  /** The finding it repairs (one line). */
  finding: string;
}

export interface RepairMigrationContext {
  /** current_database() of the examined database. */
  databaseName: string;
  /** When the migration was generated (default now). */
  now?: Date;
}

/**
 * The repairs as a reviewable migration file: a header saying what, why, which
 * tables and when; the statements in one transaction; and the down section as
 * comments (run it by hand to revert).
 */
export function formatRepairMigration(repairs: DoctorRepair[], context: RepairMigrationContext): string {
  const tables = [...new Set(repairs.map((r) => /^ALTER TABLE (\S+)/.exec(r.sql)?.[1] ?? '?'))];
  const lines = [
    '-- hh-sync doctor: defaults for NOT NULL columns that have none',
    '-- Why: an INSERT that omits a NOT NULL column without a default fails (and in a batch takes every other row down).',
    `-- Tables: ${tables.join(', ')} (database ${context.databaseName})`,
    `-- Generated: ${(context.now ?? new Date()).toISOString()}`,
    '-- Changes column defaults/nullability only: no row is written, no other table is touched.',
    ...repairs.map((r) => `--   ${r.finding}`),
    'BEGIN;',
    "SET LOCAL lock_timeout = '5s'; -- give up rather than queue (and make every query on the table queue) behind a long transaction",
    ...repairs.map((r) => r.sql),
    'COMMIT;',
    '',
    '-- Down (revert by hand):',
    '-- BEGIN;',
    ...[...repairs].reverse().map((r) => `-- ${r.downSql}`),
    '-- COMMIT;',
  ];
  return `${lines.join('\n')}\n`;
}
