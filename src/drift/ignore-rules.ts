/**
 * Ignore rules: JSON pointers whose subtrees the comparison skips on both sides. The rules of a fabric
 * are compiled once into a trie of pointer segments (cached per rules array), so checking a path costs one
 * map lookup per segment, and nothing at all below paths no rule reaches.
 */
import type { IgnoreRule } from './types.js';

/** A trie node: `terminal` means the path ending here is ignored, with everything below it. */
export interface IgnoreNode {
  terminal: boolean;
  children: Map<string, IgnoreNode>;
  /** The `*` segment: any single key or index. */
  star: IgnoreNode | null;
}

/**
 * Where a walk stands in the trie: the nodes reached so far (several when `*` is involved), or null
 * when no rule can match below this point.
 */
export type IgnoreCursor = readonly IgnoreNode[] | null;

/** The segments of an RFC 6901 pointer, unescaped; throws with a clear message when it is malformed. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`invalid JSON pointer ${JSON.stringify(pointer)}: must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((seg) => {
      if (/~[^01]|~$/.test(seg))
        throw new Error(`invalid JSON pointer ${JSON.stringify(pointer)}: "~" must be followed by 0 or 1`);
      return seg.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** RFC 6901 escaping of one key. */
export function escapePointerSegment(key: string): string {
  return key.indexOf('~') < 0 && key.indexOf('/') < 0 ? key : key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Why a rule cannot be used, or null when it is fine. Pointers must name something the engine compares:
 * `/spec...`, `/metadata`, `/metadata/labels...` or `/metadata/annotations...`.
 */
export function ignoreRuleProblem(rule: IgnoreRule): string | null {
  let segs: string[];
  try {
    segs = parsePointer(rule.pointer);
  } catch (err) {
    return (err as Error).message;
  }
  const where = `ignore pointer ${JSON.stringify(rule.pointer)}`;
  if (segs.length === 0)
    return `${where}: the empty pointer would hide the whole object; name a field under /spec or /metadata`;
  if (segs[0] === 'spec') return null;
  if (segs[0] === 'metadata') {
    if (segs.length === 1 || segs[1] === 'labels' || segs[1] === 'annotations' || segs[1] === '*') return null;
    return `${where}: only /metadata/labels and /metadata/annotations are compared`;
  }
  return `${where}: must start with /spec or /metadata (${JSON.stringify('/' + segs[0]!)} is never compared)`;
}

function newNode(): IgnoreNode {
  return { terminal: false, children: new Map(), star: null };
}

function buildTrie(rules: readonly IgnoreRule[]): IgnoreNode | null {
  if (rules.length === 0) return null;
  const root = newNode();
  for (const rule of rules) {
    let node = root;
    for (const seg of parsePointer(rule.pointer)) {
      if (seg === '*') node = node.star ??= newNode();
      else {
        let next = node.children.get(seg);
        if (!next) node.children.set(seg, (next = newNode()));
        node = next;
      }
    }
    node.terminal = true;
  }
  return root;
}

interface CompiledRules {
  /** Trie of the unnamed rules that apply to a kind (kind-scoped and unscoped), built on first use. */
  byKind: Map<string, IgnoreNode | null>;
  /** Name-scoped rules by name: few by nature; their tries are built per (kind, name) on first use. */
  namedByName: Map<string, IgnoreRule[]>;
  byKindAndName: Map<string, IgnoreNode | null>;
  unnamed: IgnoreRule[];
}

const compiledCache = new WeakMap<readonly IgnoreRule[], CompiledRules>();

function compile(rules: readonly IgnoreRule[]): CompiledRules {
  let compiled = compiledCache.get(rules);
  if (compiled) return compiled;
  const problems = rules.map(ignoreRuleProblem).filter((p): p is string => p !== null);
  if (problems.length) throw new Error(`invalid ignore rules: ${problems.join('; ')}`);
  const namedByName = new Map<string, IgnoreRule[]>();
  for (const r of rules) {
    if (r.name === undefined) continue;
    const list = namedByName.get(r.name);
    if (list) list.push(r);
    else namedByName.set(r.name, [r]);
  }
  compiled = {
    byKind: new Map(),
    namedByName,
    byKindAndName: new Map(),
    unnamed: rules.filter((r) => r.name === undefined),
  };
  compiledCache.set(rules, compiled);
  return compiled;
}

const appliesTo = (kind: string) => (r: IgnoreRule) => r.kind === undefined || r.kind === kind;

/**
 * The trie root of the rules that apply to one object (kind-scoped, name-scoped and unscoped rules),
 * or null when none do. Throws when a rule is malformed (see ignoreRuleProblem). Cached per rules array,
 * so a sync that passes the fabric's rules array for every object compiles them once.
 */
export function ignoreRootFor(rules: readonly IgnoreRule[] | undefined, kind: string, name: string): IgnoreNode | null {
  if (!rules || rules.length === 0) return null;
  const compiled = compile(rules);
  const named = compiled.namedByName.get(name);
  if (named && named.some(appliesTo(kind))) {
    const key = `${kind}\0${name}`;
    if (!compiled.byKindAndName.has(key)) {
      compiled.byKindAndName.set(key, buildTrie([...compiled.unnamed, ...named].filter(appliesTo(kind))));
    }
    return compiled.byKindAndName.get(key)!;
  }
  if (!compiled.byKind.has(kind)) compiled.byKind.set(kind, buildTrie(compiled.unnamed.filter(appliesTo(kind))));
  return compiled.byKind.get(kind)!;
}

/** The cursor at the root of a trie (null trie: nothing is ignored). */
export function rootCursor(root: IgnoreNode | null): IgnoreCursor {
  return root ? [root] : null;
}

/** The cursor one key further down, or null when no rule reaches below. */
export function stepCursor(cursor: IgnoreCursor, key: string): IgnoreCursor {
  if (!cursor) return null;
  if (cursor.length === 1) {
    // The common case, without allocating an array when no rule continues.
    const node = cursor[0]!;
    const c = node.children.get(key);
    if (c && node.star) return [c, node.star];
    if (c) return [c];
    return node.star ? [node.star] : null;
  }
  const next: IgnoreNode[] = [];
  for (const node of cursor) {
    const c = node.children.get(key);
    if (c) next.push(c);
    if (node.star) next.push(node.star);
  }
  return next.length ? next : null;
}

/** True when a rule ends at the cursor's position: that subtree is ignored. */
export function isIgnoredAt(cursor: IgnoreCursor): boolean {
  if (!cursor) return false;
  for (const node of cursor) if (node.terminal) return true;
  return false;
}
