/**
 * Migration checks of our own, on top of squawk: the two shapes behind the
 * incident and its near misses.
 *
 * - `drop-default-on-not-null`: `ALTER COLUMN … DROP DEFAULT` on a NOT NULL
 *   column. That is how the broken table came to be (a column added with a
 *   default that was then dropped): every INSERT that omits the column fails.
 * - `quoted-now-default`: `DEFAULT 'now()'` (quoted). PostgreSQL turns the string
 *   into the timestamp of the migration run, so every row gets the same
 *   "creation time" forever; the expression must be unquoted.
 *
 * Also extracts the SQL of MikroORM migration classes without a database.
 */
import type { Configuration, MigrationObject } from '@mikro-orm/core';
import type { AbstractSqlDriver } from '@mikro-orm/postgresql';

export type MigrationLintRule = 'drop-default-on-not-null' | 'quoted-now-default';

export interface MigrationLintProblem {
  rule: MigrationLintRule;
  statement: string;
  table: string | null;
  column: string | null;
  message: string;
}

export interface MigrationSql {
  name: string;
  up: string[];
  down: string[];
}

/** The SQL statements of each migration's up and down, as MikroORM would run them. */
export async function migrationSql(
  migrations: MigrationObject[],
  driver: AbstractSqlDriver,
  config: Configuration,
): Promise<MigrationSql[]> {
  const out: MigrationSql[] = [];
  for (const m of migrations) {
    const instance = new (
      m.class as new (
        d: AbstractSqlDriver,
        c: Configuration,
      ) => {
        up(): Promise<void> | void;
        down(): Promise<void> | void;
        reset(): void;
        getQueries(): unknown[];
      }
    )(driver, config);
    await instance.up();
    const up = instance.getQueries().map(String);
    instance.reset();
    await instance.down();
    const down = instance.getQueries().map(String);
    out.push({ name: m.name, up, down });
  }
  return out;
}

const QUOTED_NOW =
  /\bdefault\s+'\s*(now\(\s*\)|current_timestamp(\(\s*\d*\s*\))?|localtimestamp|current_date|current_time|transaction_timestamp\(\s*\)|statement_timestamp\(\s*\)|clock_timestamp\(\s*\))\s*'/i;

const IDENT = String.raw`(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))`;
const TABLE_NAME = String.raw`(?:${IDENT}\s*\.\s*)?${IDENT}`;

function ident(quoted: string | undefined, bare: string | undefined): string {
  return quoted !== undefined ? quoted.replace(/""/g, '"') : (bare ?? '').toLowerCase();
}

/** Splits on commas outside parentheses and quotes. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let current = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '(') {
      depth++;
    } else if (ch === ')') {
      depth--;
    } else if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** Strips string literals so keywords inside them are not matched. */
function withoutLiterals(text: string): string {
  return text.replace(/'(?:[^']|'')*'/g, "''");
}

/**
 * Lints statements in order. `isNotNull(table, column)` answers for columns the
 * statements themselves did not define (e.g. from the entity metadata or the live
 * database); NOT NULL set or dropped by earlier statements is tracked here.
 */
export function lintMigrationStatements(
  statements: string[],
  isNotNull: (table: string, column: string) => boolean = () => false,
): MigrationLintProblem[] {
  const problems: MigrationLintProblem[] = [];
  const known = new Map<string, boolean>();
  const notNull = (t: string, c: string) => known.get(`${t}.${c}`) ?? isNotNull(t, c);

  for (const statement of statements) {
    const sql = statement.trim();
    if (QUOTED_NOW.test(sql)) {
      problems.push({
        rule: 'quoted-now-default',
        statement: sql,
        table: null,
        column: null,
        message: `quoted '${sql.match(QUOTED_NOW)![1]}' default is a constant fixed when the migration runs; write the expression unquoted (defaultRaw: 'now()')`,
      });
    }

    const create = new RegExp(
      String.raw`^create\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?${TABLE_NAME}\s*\(([\s\S]*)\)\s*;?$`,
      'i',
    ).exec(sql);
    if (create) {
      const table = ident(create[3], create[4]);
      for (const def of splitTopLevel(create[5]!)) {
        const col = new RegExp(`^${IDENT}\\s+`, 'i').exec(def);
        if (!col || /^(constraint|primary|unique|check|foreign|exclude)\b/i.test(def)) continue;
        const body = withoutLiterals(def);
        known.set(`${table}.${ident(col[1], col[2])}`, /\bnot\s+null\b|\bprimary\s+key\b/i.test(body));
      }
      continue;
    }

    const alter = new RegExp(
      String.raw`^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?${TABLE_NAME}\s+([\s\S]*?);?$`,
      'i',
    ).exec(sql);
    if (!alter) continue;
    const table = ident(alter[3], alter[4]);
    for (const action of splitTopLevel(alter[5]!)) {
      const body = withoutLiterals(action);
      const add = new RegExp(String.raw`^add\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?${IDENT}\s+`, 'i').exec(body);
      if (add && !/^add\s+(constraint|primary|unique|check|foreign)\b/i.test(body)) {
        known.set(`${table}.${ident(add[1], add[2])}`, /\bnot\s+null\b|\bprimary\s+key\b/i.test(body));
        continue;
      }
      const alterCol = new RegExp(String.raw`^alter\s+(?:column\s+)?${IDENT}\s+([\s\S]*)$`, 'i').exec(body);
      if (!alterCol) continue;
      const column = ident(alterCol[1], alterCol[2]);
      const change = alterCol[3]!.trim();
      if (/^set\s+not\s+null/i.test(change)) known.set(`${table}.${column}`, true);
      else if (/^drop\s+not\s+null/i.test(change)) known.set(`${table}.${column}`, false);
      else if (/^drop\s+default/i.test(change) && notNull(table, column)) {
        problems.push({
          rule: 'drop-default-on-not-null',
          statement: sql,
          table,
          column,
          message: `${table}.${column} is NOT NULL: dropping its default makes every INSERT that omits it fail (the incident)`,
        });
      }
    }
  }
  return problems;
}
