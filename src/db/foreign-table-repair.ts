/**
 * What the doctor proposes for a column of a table that is not the ledger's,
 * when the user names that table (`--table T`): a type-based default, or the
 * reason it gives none (a foreign key; a type with no safe empty value). Identity,
 * serial and generated columns and primary keys are noted, never altered.
 */
import { chooseDefault, dropDefaultSql, setDefaultSql, type SqlExec } from './default-repair.js';
import type { CatalogColumn } from './doctor-catalog.js';

export interface ColumnRepairProposal {
  /** Appended to the finding's message. */
  note: string;
  fixSql?: string;
  downSql?: string;
}

/** The default (or the reason for none) for a required column of a foreign table. */
export async function foreignColumnRepair(
  exec: SqlExec,
  col: CatalogColumn,
  checks: { name: string; def: string }[],
): Promise<ColumnRepairProposal> {
  if (col.references_table) {
    return { note: ` (foreign key to ${col.references_table}: every INSERT must name it; no default given)` };
  }
  const choice = await chooseDefault(exec, col, checks);
  if (choice.kind === 'manual') return { note: ` (needs a manual default: ${choice.reason})` };
  return {
    note: ` (--fix sets DEFAULT ${choice.expr}: ${choice.why}${col.is_domain ? `, the default of ${col.type}'s base type ${col.base_type}` : ''})`,
    fixSql: setDefaultSql(col, choice.expr),
    downSql: dropDefaultSql(col),
  };
}

/** One line per column of the named table that the repair leaves alone on purpose. */
export function foreignTableNotes(columns: CatalogColumn[]): string[] {
  return columns.flatMap((col) => {
    const where = `${col.schema}.${col.table}.${col.column}`;
    if (col.is_generated) return [`${where}: generated column, never touched`];
    if (col.is_identity) return [`${where}: identity column, numbered by the database; left alone`];
    if (col.default_expr?.startsWith('nextval(')) return [`${where}: serial (sequence default); left alone`];
    if (col.is_pk && col.default_expr === null)
      return [`${where}: primary key without a default: every INSERT must name it; left alone`];
    return [];
  });
}
