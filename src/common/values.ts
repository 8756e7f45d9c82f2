/**
 * Small helpers for describing untrusted values in error messages, shared by the sources (Git
 * manifests, cluster objects), the CRD code, the drift engine and the fake API server.
 * Imports nothing.
 *
 * Two vocabularies on purpose: a cluster object is JSON, so its messages say "an array" and show
 * values as JSON (`typeName`, `show`); a manifest is YAML written by a person, so its messages say
 * "a list" / "a mapping" and show scalars as written (`yamlTypeName`, `showYamlScalar`).
 */

/** A plain object: not null, not an array. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** At most `max` characters, an ellipsis marking the cut. */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** JSON.stringify as it behaves: lib.d.ts says it always returns a string, it returns undefined for these. */
const stringify: (v: unknown) => string | undefined = JSON.stringify;

/** A list read from a jsonb column: NOT NULL still admits a JSON null, read as an empty list. */
export function listOrEmpty<T>(list: T[] | null | undefined): T[] {
  return list ?? [];
}

/** JSON text of a value; a function or a symbol (which JSON.stringify turns into undefined) as String() writes it. */
export function jsonOrString(v: unknown): string {
  return stringify(v) ?? String(v);
}

/** A value as JSON (strings quoted), clipped to `max` characters. */
export function show(v: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'undefined' : jsonOrString(v);
  } catch {
    s = String(v);
  }
  return clip(s, max);
}

/** The JSON type of a value for messages: `missing`, `null`, `an array`, otherwise `a <typeof>` (`a string`). */
export function typeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** A YAML scalar as written: strings in single quotes, the rest as text; clipped. */
export function showYamlScalar(v: unknown): string {
  return clip(typeof v === 'string' ? `'${v}'` : String(v));
}

/** The YAML type of a value, scalars with their value: `null`, `a list`, `a mapping`, `number 3`. */
export function yamlTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${showYamlScalar(v)}`;
}
