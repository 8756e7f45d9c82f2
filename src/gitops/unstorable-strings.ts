/**
 * Strings PostgreSQL cannot store. jsonb (and text) refuse the NUL character (U+0000), and a lone
 * UTF-16 surrogate has no UTF-8 encoding at all, so one such string in one manifest would make the
 * whole write statement, and with it the whole run, fail. The parser finds them first, so the
 * document becomes one error entry and everything else still lands.
 */

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with `s`, or null when PostgreSQL can store it. */
function stringProblem(s: string): string | null {
  const m = UNSTORABLE.exec(s);
  if (!m) return null;
  const c = m[0].charCodeAt(0);
  if (c === 0) return 'contains a NUL character (U+0000), which PostgreSQL cannot store';
  return `contains a lone UTF-16 surrogate (U+${c.toString(16).toUpperCase()}), which is not valid Unicode text`;
}

/** `s` with every unstorable character written as a `\uXXXX` escape: safe to put in a message that is stored. */
export function escapeUnstorable(s: string): string {
  return s.replace(new RegExp(UNSTORABLE.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function pointerSegment(key: string): string {
  return escapeUnstorable(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * The first string (map key or value) under `value` that PostgreSQL cannot store, with its JSON
 * pointer (unstorable characters in the path escaped as `\uXXXX`), or null when there is none.
 */
export function findUnstorableString(value: unknown): { path: string; problem: string } | null {
  const hit = walk(value);
  return hit && { path: hit.segments.map((s) => `/${pointerSegment(s)}`).join(''), problem: hit.problem };
}

/** Like {@link findUnstorableString}, with the raw path segments (to find the node's line). */
export function findUnstorableStringSegments(value: unknown): { segments: string[]; path: string; problem: string } | null {
  const hit = walk(value);
  return hit && { segments: hit.segments, path: hit.segments.map((s) => `/${pointerSegment(s)}`).join(''), problem: hit.problem };
}

// The path is built only on the way back from a hit.
function walk(v: unknown): { segments: string[]; problem: string } | null {
  if (typeof v === 'string') {
    const problem = stringProblem(v);
    return problem ? { segments: [], problem } : null;
  }
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = walk(v[i]);
      if (hit) return { segments: [String(i), ...hit.segments], problem: hit.problem };
    }
    return null;
  }
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    const keyProblem = stringProblem(k);
    if (keyProblem) return { segments: [k], problem: `key ${keyProblem}` };
    const hit = walk(item);
    if (hit) return { segments: [k, ...hit.segments], problem: hit.problem };
  }
  return null;
}
