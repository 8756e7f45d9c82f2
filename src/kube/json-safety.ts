/**
 * Strings PostgreSQL cannot store. `jsonb` (and `text`) refuse the NUL character, and `jsonb` refuses a
 * lone UTF-16 surrogate ("\ud800" without its pair): one such string in one object would fail the whole
 * statement, and with it every other object of the batch. The sources check each object with this
 * before it becomes an observation, so a bad object is refused alone.
 *
 * No dependencies (the Git side imports it too). It runs on every object: hasSuspectEscape() lets a
 * caller that already holds the object's JSON text rule out almost every object with one regex scan.
 */

export interface UnstorableString {
  /** Where the string is: `spec.ports[2].name`, `metadata.labels["a.b/c"]`, or `… (a key)` for a key. */
  path: string;
  /** What is wrong, in words: "contains a NUL character (\u0000)". */
  problem: string;
}

/** A NUL or any surrogate code unit; surrogates are then checked in pairs. */
const SUSPECT = /[\u0000\ud800-\udfff]/;
/** In JSON.stringify's output NUL is `\u0000` and a lone surrogate is `\udXXX` (lower-case hex). */
const SUSPECT_ESCAPE = /\\u(?:0000|d[89a-f])/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * False when the JSON text (JSON.stringify's output) of a value cannot hold an unstorable string; true
 * means "look closer" (an escaped backslash followed by `u0000` also matches).
 */
export function hasSuspectEscape(json: string): boolean {
  // indexOf first: a plain substring search is several times faster than the regex on clean text.
  return json.includes('\\u') && SUSPECT_ESCAPE.test(json);
}

/** What is wrong with one string, or null when PostgreSQL can store it. */
export function unstorableProblem(s: string): string | null {
  if (!SUSPECT.test(s)) return null;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return `contains a NUL character (\\u0000) at offset ${i}, which PostgreSQL cannot store`;
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++; // a proper pair
        continue;
      }
      return `contains a lone UTF-16 surrogate (\\u${c.toString(16)}) at offset ${i}, which PostgreSQL cannot store`;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      return `contains a lone UTF-16 surrogate (\\u${c.toString(16)}) at offset ${i}, which PostgreSQL cannot store`;
    }
  }
  return null;
}

/** A property step of a path: `.name` for identifiers, `["…"]` (JSON-quoted, clipped) for anything else. */
function step(key: string): string {
  if (IDENTIFIER.test(key)) return `.${key}`;
  const quoted = JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
  return `[${quoted}]`;
}

/**
 * The first string (value or object key) in `value` that PostgreSQL cannot store, with its path below
 * `root` (e.g. "spec"), or null. Walks plain JSON data (objects, arrays, primitives).
 */
export function findUnstorableString(value: unknown, root = ''): UnstorableString | null {
  if (typeof value === 'string') {
    const problem = unstorableProblem(value);
    return problem ? { path: root || '(value)', problem } : null;
  }
  if (!value || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableString(value[i], `${root}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const path = root ? `${root}${step(key)}` : IDENTIFIER.test(key) ? key : step(key);
    const keyProblem = unstorableProblem(key);
    if (keyProblem) return { path: `${path} (a key)`, problem: keyProblem };
    const found = findUnstorableString((value as Record<string, unknown>)[key], path);
    if (found) return found;
  }
  return null;
}
