/**
 * Changes made to an object's file outside the ledger — a commit the ledger did not make — as the object's
 * `external_modifications` list records them: newest last, bounded, so a busy file cannot grow a row without end.
 */
export interface ExternalModification {
  /** The newest commit that changed the file (at the commit read), or the commit read when it cannot be told. */
  commit: string | null;
  author: string | null;
  /** ISO 8601 author date. */
  date: string | null;
  path: string;
  /** RFC 6901 pointers of the object's spec that differ from what the ledger last knew ([] = other parts of the file). */
  changedPaths: string[];
}

/** How many entries an object keeps. */
export const MAX_EXTERNAL_MODIFICATIONS = 20;

/** The list with `entry` appended (unless it records the same commit and path as the newest), oldest dropped. */
export function appendExternalModification(
  list: readonly Record<string, unknown>[] | null | undefined,
  entry: ExternalModification,
): Record<string, unknown>[] {
  const current: readonly Record<string, unknown>[] = Array.isArray(list) ? list : [];
  const newest = current.at(-1);
  if (newest && newest.commit === entry.commit && newest.path === entry.path) return [...current];
  return [...current, { ...entry }].slice(-MAX_EXTERNAL_MODIFICATIONS);
}
