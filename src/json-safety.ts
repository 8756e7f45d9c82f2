/**
 * Strings PostgreSQL cannot store. `jsonb` (and `text`) refuse the NUL character, and `jsonb` refuses a
 * lone UTF-16 surrogate ("\ud800" without its pair, which has no UTF-8 encoding): one such string in one
 * object would fail the whole statement, and with it every other object of the batch. Both sources (the
 * cluster reader and the Git parser) check each object with this before it becomes an observation, so a
 * bad object is refused alone; error texts quoting such strings are escaped with escapeUnstorable().
 *
 * At the src root and dependency-free because both sources use it and neither may depend on the other.
 * It runs on every listed object: the walk builds no path unless it finds something, strings are ruled out
 * with one character-class test, and hasSuspectEscape() lets a caller that already holds the object's
 * JSON text skip the walk for almost every object.
 */

export interface UnstorableString {
  /** Where the string is: `spec.ports[2].name`, `metadata.labels["a.b/c"]`, or `… (a key)` for a key. */
  path: string;
  /** What is wrong, in words: "contains a NUL character (\u0000) at offset 3, which PostgreSQL cannot store". */
  problem: string;
}

/** A hit as path segments (to find the node's line in a YAML document) and its JSON pointer. */
export interface UnstorablePointer {
  segments: string[];
  /** JSON pointer (`/spec/a~1b`), unstorable characters written as `\uXXXX`. */
  path: string;
  /** The problem, prefixed with "key " when the string is a map key. */
  problem: string;
}

/** A NUL or any surrogate code unit; surrogates are then checked in pairs. */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters PostgreSQL cannot store
const SUSPECT = /[\u0000\ud800-\udfff]/;
/** In JSON.stringify's output NUL is `\u0000` and a lone surrogate is `\udXXX` (lower-case hex). */
const SUSPECT_ESCAPE = /\\u(?:0000|d[89a-f])/;
/** Exactly the unstorable characters: NUL, a high surrogate without its low one, a low one without its high one. */
// eslint-disable-next-line no-control-regex -- NUL is one of the characters PostgreSQL cannot store
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * False when the JSON text (JSON.stringify's output) of a value cannot hold an unstorable string; true
 * means "look closer" (an escaped backslash followed by `u0000` also matches).
 */
export function hasSuspectEscape(json: string): boolean {
  // includes() first: a plain substring search is several times faster than the regex on clean text.
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
      return loneSurrogate(c, i);
    }
    if (c >= 0xdc00 && c <= 0xdfff) return loneSurrogate(c, i);
  }
  return null;
}

function loneSurrogate(c: number, offset: number): string {
  return `contains a lone UTF-16 surrogate (\\u${c.toString(16)}) at offset ${offset}, which PostgreSQL cannot store`;
}

/** `s` with every unstorable character written as a `\uXXXX` escape: safe to put in a message that is stored. */
export function escapeUnstorable(s: string): string {
  if (!SUSPECT.test(s)) return s;
  return s.replace(UNSTORABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

interface Hit {
  segments: string[];
  problem: string;
  /** The last segment is the offending key itself. */
  inKey: boolean;
}

// The path is built only on the way back from a hit: the walk of a clean value allocates nothing.
function walk(v: unknown): Hit | null {
  if (typeof v === 'string') {
    const problem = unstorableProblem(v);
    return problem ? { segments: [], problem, inKey: false } : null;
  }
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const hit = walk(v[i]);
      if (hit) return { ...hit, segments: [String(i), ...hit.segments] };
    }
    return null;
  }
  for (const key of Object.keys(v)) {
    const keyProblem = unstorableProblem(key);
    if (keyProblem) return { segments: [key], problem: keyProblem, inKey: true };
    const hit = walk((v as Record<string, unknown>)[key]);
    if (hit) return { ...hit, segments: [key, ...hit.segments] };
  }
  return null;
}

/** A property step of a dotted path: `.name` for identifiers, `["…"]` (JSON-quoted, clipped) for anything else. */
function step(key: string): string {
  if (IDENTIFIER.test(key)) return `.${key}`;
  const quoted = JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key);
  return `[${quoted}]`;
}

/** Dotted path of a hit below `root`; array indexes were walked as strings, told apart by the value's shape. */
function dottedPath(value: unknown, segments: readonly string[], root: string): string {
  let path = root;
  let node = value;
  for (const seg of segments) {
    if (Array.isArray(node)) path += `[${seg}]`;
    else path += path ? step(seg) : IDENTIFIER.test(seg) ? seg : step(seg);
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return path || '(value)';
}

/**
 * The first string (value or object key) in `value` that PostgreSQL cannot store, with its dotted path below
 * `root` (e.g. "spec"), or null. Walks plain JSON data (objects, arrays, primitives). The cluster side's form.
 */
export function findUnstorableString(value: unknown, root = ''): UnstorableString | null {
  const hit = walk(value);
  if (!hit) return null;
  const path = dottedPath(value, hit.segments, root);
  return { path: hit.inKey ? `${path} (a key)` : path, problem: hit.problem };
}

function pointerSegment(key: string): string {
  return escapeUnstorable(key).replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Like {@link findUnstorableString}, with the raw path segments (to find the node's line) and a JSON pointer:
 * the Git side's form, matching its other field errors.
 */
export function findUnstorablePointer(value: unknown): UnstorablePointer | null {
  const hit = walk(value);
  if (!hit) return null;
  return {
    segments: hit.segments,
    path: hit.segments.map((s) => `/${pointerSegment(s)}`).join(''),
    problem: hit.inKey ? `key ${hit.problem}` : hit.problem,
  };
}
