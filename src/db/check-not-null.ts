/**
 * NOT NULL enforced by a CHECK constraint (`CHECK (col IS NOT NULL)`, as a column
 * or a table constraint): the column is nullable in the catalog, yet an INSERT
 * that omits it fails exactly like one on a NOT NULL column. The schema doctor
 * treats such columns as NOT NULL.
 */
import { checkExpression, sqlIdent, type SqlExec } from './default-repair.js';

export interface CheckConstraint {
  schema: string;
  table: string;
  name: string;
  /** pg_get_constraintdef: `CHECK ((…))`. */
  def: string;
  /** The columns it references. */
  columns: string[];
}

const CHECKS_SQL = `
select n.nspname as schema, c.relname as "table", k.conname as name, pg_get_constraintdef(k.oid) as def,
       array(select a.attname::text from pg_attribute a where a.attrelid = k.conrelid and a.attnum = any(k.conkey) order by a.attnum) as columns
  from pg_constraint k
  join pg_class c on c.oid = k.conrelid
  join pg_namespace n on n.oid = c.relnamespace
 where k.contype = 'c' and c.relkind in ('r', 'p') and not c.relispartition
   and n.nspname not in ('pg_catalog', 'information_schema')
   and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
   and (?::text is null or n.nspname = ?::text)
   and (?::text is null or c.relname = ?::text)
 order by n.nspname, c.relname, k.conname`;

/** The CHECK constraints of the tables in scope. */
export async function loadCheckConstraints(
  exec: SqlExec,
  schema: string | null,
  table: string | null,
): Promise<CheckConstraint[]> {
  return exec<CheckConstraint>(CHECKS_SQL, [schema, schema, table, table]);
}

export function columnKey(schema: string, table: string, column: string): string {
  return `${schema}.${table}.${column}`;
}

/**
 * Which columns a CHECK constraint makes required: key `schema.table.column` →
 * constraint name. A single-column check is asked of PostgreSQL (does it reject
 * NULL?); a table check counts when `col IS NOT NULL` is one of its AND-ed terms.
 */
export async function columnsRequiredByChecks(
  exec: SqlExec,
  checks: CheckConstraint[],
  typeOf: (key: string) => string | undefined,
): Promise<Map<string, string>> {
  const required = new Map<string, string>();
  for (const check of checks) {
    if (!/null|coalesce|distinct/i.test(check.def)) continue;
    const columns =
      check.columns.length === 1
        ? await rejectsNull(exec, check, typeOf)
        : notNullTerms(check.def).filter((c) => check.columns.includes(c));
    for (const column of columns) {
      const key = columnKey(check.schema, check.table, column);
      if (!required.has(key)) required.set(key, check.name);
    }
  }
  return required;
}

/** [the column] when the single-column check evaluates to false for NULL. */
async function rejectsNull(
  exec: SqlExec,
  check: CheckConstraint,
  typeOf: (key: string) => string | undefined,
): Promise<string[]> {
  const [column] = check.columns;
  if (column === undefined) return [];
  const type = typeOf(columnKey(check.schema, check.table, column));
  if (!type) return [];
  const sql = `select (${checkExpression(check.def)}) as ok from (select null::${type} as ${sqlIdent(column)}) probe`;
  try {
    const [row] = await exec<{ ok: boolean | null }>(sql);
    return row?.ok === false ? [column] : [];
  } catch {
    // NULL is not even a value of the type (a NOT NULL domain): the domain already says so.
    return [];
  }
}

/** Columns named in `x IS NOT NULL` terms of a check made only of AND-ed terms. */
export function notNullTerms(def: string): string[] {
  const body = stripParens(checkExpression(def));
  if (/\bOR\b|\bNOT\s*\(/i.test(body)) return [];
  return body
    .split(/\s+AND\s+/i)
    .map((term) => /^("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*) IS NOT NULL$/i.exec(stripParens(term))?.[1])
    .filter((name): name is string => name !== undefined)
    .map((name) => (name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name));
}

/** Removes parentheses that wrap the whole expression. */
function stripParens(expr: string): string {
  let text = expr.trim();
  while (text.startsWith('(') && text.endsWith(')') && wrapsWhole(text)) text = text.slice(1, -1).trim();
  return text;
}

function wrapsWhole(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    if (depth === 0 && i < text.length - 1) return false;
  }
  return true;
}
