/**
 * Minimal value edits on one parsed YAML document (the `yaml` library's Document API), for the
 * write-back manifest editor. Pure: text and nodes in, text out.
 *
 * An edit is a list of operations (set / remove one path), computed by `diffValues` between the
 * document's current value and the wanted one, so only what differs is touched.
 *
 * Aliases, anchors and merge keys (documented behaviour):
 * - A path that passes THROUGH an alias (`spec: *base`) or a key that only exists through a merge
 *   key (`<<: *base`) is materialized in this document: the alias is replaced by a plain copy of
 *   its value, and a merged key becomes an own key of the map (which overrides the merge). The
 *   anchored original, and every other user of it, is left alone.
 * - A node that the edit mutates (any collection on the path) or replaces/removes (the value and
 *   anything anchored inside it) may be the target of aliases elsewhere in the document; those
 *   aliases are first replaced by plain copies of the node's CURRENT value, so they keep meaning
 *   what they meant and no value changes silently through an alias.
 * - Removing a key that only exists through a merge expands that map's merge keys into own keys
 *   (the only way to remove a merged key) and then removes it.
 */
import {
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  Scalar,
  stringify,
  visit,
  type Document,
  type Node as YamlNode,
  type Pair,
  type ToStringOptions,
  type YAMLMap,
} from 'yaml';
import { isRecord } from '../common/values.js';
import { jsonEqual } from '../crds/schema-defaults.js';

/** One change of the document value: set `value` at `path`, or remove the entry at `path`. */
export type ValueOp =
  { path: readonly string[]; remove: false; value: unknown } | { path: readonly string[]; remove: true };

/** The alias expansion limit used whenever an aliased value is copied (a resource exhaustion guard). */
export const MAX_ALIAS_COUNT = 10_000;

/**
 * The operations that turn `current` into `wanted`: maps are compared key by key (removed keys,
 * added keys, changed values recursively); lists and scalars are replaced whole when they differ.
 */
export function diffValues(current: unknown, wanted: unknown, path: readonly string[], ops: ValueOp[]): void {
  if (isRecord(current) && isRecord(wanted)) {
    for (const key of Object.keys(current))
      if (!Object.hasOwn(wanted, key)) ops.push({ path: [...path, key], remove: true });
    for (const [key, value] of Object.entries(wanted)) {
      if (Object.hasOwn(current, key)) diffValues(current[key], value, [...path, key], ops);
      else ops.push({ path: [...path, key], remove: false, value });
    }
    return;
  }
  if (!jsonEqual(current, wanted)) ops.push({ path, remove: false, value: wanted });
}

/** A copy of a JSON-like value whose maps have their keys sorted, so new YAML has a stable key order. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (!isRecord(value)) return value;
  // fromEntries defines own properties, so a `__proto__` key stays a key.
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeysDeep(value[key])]),
  );
}

function isMergePair(pair: Pair): boolean {
  // With `merge: true` the `yaml` library reads `<<` as a merge key whose value is a symbol.
  return isScalar(pair.key) && (typeof pair.key.value === 'symbol' || pair.key.value === '<<');
}

function ownPair(map: YAMLMap, key: string): Pair | undefined {
  // Keys are compared as text: js-yaml (which produced the paths) reads `1:` as the key "1".
  return map.items.find((p) => !isMergePair(p) && isScalar(p.key) && String(p.key.value) === key);
}

function plainCopy(doc: Document, node: YamlNode): YamlNode {
  return newNode(doc, node.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT }), false);
}

/** The value of `key` in `map` as seen through its merge keys. */
function mergedValue(doc: Document, map: YAMLMap, key: string): { found: boolean; value: unknown } {
  const view: unknown = map.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
  return isRecord(view) && Object.hasOwn(view, key)
    ? { found: true, value: view[key] }
    : { found: false, value: undefined };
}

/** Replace every alias of `target` in the document by a plain copy of the target's current value. */
function detachAliasesOf(doc: Document, target: YamlNode): void {
  if (!target.anchor) return;
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) === target) return plainCopy(doc, target);
      return undefined;
    },
  });
}

function detachAliasesInside(doc: Document, node: YamlNode): void {
  const anchored: YamlNode[] = [];
  visit(node, {
    Node(_key, n) {
      if (n.anchor) anchored.push(n);
    },
  });
  for (const n of anchored) detachAliasesOf(doc, n);
}

/** The child collection at `key`, materializing an alias or a merged key on the way (see the module comment). */
function childCollection(doc: Document, parent: YamlNode, key: string, where: string): YamlNode {
  let child: unknown;
  if (isMap(parent)) {
    let pair = ownPair(parent, key);
    if (!pair) {
      const merged = mergedValue(doc, parent, key);
      if (merged.found)
        parent.items.push((pair = doc.createPair(newNode(doc, key), newNode(doc, merged.value, false))));
    }
    if (pair && isAlias(pair.value)) pair.value = plainCopy(doc, pair.value);
    child = pair?.value;
  } else if (isSeq(parent)) {
    const index = Number(key);
    const item: unknown = parent.items[index];
    if (isAlias(item)) parent.items[index] = plainCopy(doc, item);
    child = parent.items[index];
  }
  if (!isCollection(child)) throw new Error(`${where}: no collection at '${key}' to edit`);
  return child;
}

/**
 * A node for a new value: maps' keys sorted, and strings a YAML 1.1 reader (go-yaml, hence kubectl)
 * would take for something else (`on`, `yes`, `n`, `0755`) double-quoted. The document itself is
 * parsed without that compat schema, so plain scalars already in the file keep their style.
 */
function newNode(doc: Document, value: unknown, sortKeys = true): YamlNode {
  const node = doc.createNode(sortKeys ? sortKeysDeep(value) : value) as YamlNode;
  visit(node, {
    Scalar(_key, scalar) {
      if (typeof scalar.value === 'string' && /^["']/.test(stringify(scalar.value, { compat: 'yaml-1.1' })))
        scalar.type = Scalar.QUOTE_DOUBLE;
    },
  });
  return node;
}

/** A new node for `value` that keeps the comments (and the quoting of a string) of the node it replaces. */
function replacementNode(doc: Document, old: unknown, value: unknown): YamlNode {
  const node = newNode(doc, value);
  if (isScalar(old) && isScalar(node) && typeof value === 'string' && typeof old.value === 'string')
    node.type = old.type;
  if (isScalar(old) || isCollection(old) || isAlias(old)) {
    node.comment = old.comment;
    node.commentBefore = old.commentBefore;
    node.spaceBefore = old.spaceBefore;
  }
  return node;
}

/** Apply one operation to the document by the smallest change of its node tree. */
export function applyValueOp(doc: Document, op: ValueOp, where: string): void {
  const key = op.path.at(-1);
  if (key === undefined || !doc.contents) throw new Error(`${where}: empty edit path`);
  const chain: YamlNode[] = [doc.contents];
  for (const step of op.path.slice(0, -1)) chain.push(childCollection(doc, chain.at(-1)!, step, where));
  for (const node of chain) detachAliasesOf(doc, node);
  const parent = chain.at(-1)!;
  if (isSeq(parent)) {
    const index = Number(key);
    const item: unknown = parent.items[index];
    if (!isScalar(item) && !isCollection(item) && !isAlias(item))
      throw new Error(`${where}: no list item ${key} to edit`);
    detachAliasesInside(doc, item);
    if (op.remove) parent.items.splice(index, 1);
    else parent.items[index] = replacementNode(doc, parent.items[index], op.value);
    return;
  }
  if (!isMap(parent)) throw new Error(`${where}: no mapping to edit at '${op.path.join('.')}'`);
  let pair = ownPair(parent, key);
  if (!pair && op.remove && mergedValue(doc, parent, key).found) {
    expandMerges(doc, parent);
    pair = ownPair(parent, key);
  }
  if (pair && isCollection(pair.value)) detachAliasesInside(doc, pair.value);
  if (op.remove) {
    if (pair) parent.items.splice(parent.items.indexOf(pair), 1);
  } else if (pair) {
    pair.value = replacementNode(doc, pair.value, op.value);
  } else {
    // `spec: {}` that gains a key is written as a block, like the rest of a manifest.
    if (parent.items.length === 0) parent.flow = false;
    parent.items.push(doc.createPair(newNode(doc, key), newNode(doc, op.value)));
  }
}

/** Turn a map's merge keys into own keys (those it does not already have), where the first merge key was. */
function expandMerges(doc: Document, map: YAMLMap): void {
  const view: unknown = map.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
  if (!isRecord(view)) return;
  const at = map.items.findIndex(isMergePair);
  const own = new Set(
    map.items.filter((p) => !isMergePair(p)).map((p) => (isScalar(p.key) ? String(p.key.value) : '')),
  );
  const added = Object.keys(view)
    .filter((k) => !own.has(k))
    .map((k) => doc.createPair(newNode(doc, k), newNode(doc, view[k], false)));
  map.items = map.items.filter((p) => !isMergePair(p));
  map.items.splice(at, 0, ...added);
}

/**
 * The byte-exact fast path: when every operation sets a single-line scalar that is reached through
 * plain nodes (no alias, no anchor, no merge, no flow collection), splice the new scalar text over
 * the old one in the source and leave every other byte alone. Null when any operation does not fit.
 */
export function spliceScalarOps(text: string, doc: Document, ops: readonly ValueOp[]): string | null {
  const splices: { start: number; end: number; text: string }[] = [];
  for (const op of ops) {
    if (op.remove || (op.value !== null && typeof op.value === 'object')) return null;
    const old = plainScalarAt(doc, op.path);
    if (!old?.range) return null;
    const [start, end] = old.range;
    if (text.slice(start, end).includes('\n')) return null;
    const type = typeof op.value === 'string' && typeof old.value === 'string' ? old.type : undefined;
    const quoted = type === Scalar.QUOTE_SINGLE || type === Scalar.QUOTE_DOUBLE ? { defaultStringType: type } : {};
    const rendered = stringify(op.value, { compat: 'yaml-1.1', lineWidth: 0, ...quoted }).replace(/\n$/, '');
    if (rendered.includes('\n')) return null;
    splices.push({ start, end, text: rendered });
  }
  splices.sort((a, b) => b.start - a.start);
  let out = text;
  for (const s of splices) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

function plainScalarAt(doc: Document, path: readonly string[]): Scalar | null {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (!isCollection(node) || node.flow || node.anchor) return null;
    node = isMap(node) ? ownPair(node, key)?.value : isSeq(node) ? node.items[Number(key)] : undefined;
  }
  if (!isScalar(node) || node.anchor) return null;
  const plainOrQuoted = [Scalar.PLAIN, Scalar.QUOTE_SINGLE, Scalar.QUOTE_DOUBLE];
  return plainOrQuoted.includes(node.type as string) ? node : null;
}

/**
 * Options that write an edited document the way its source is written: the same block indent,
 * sequences indented under their key or not, padding inside flow collections, no line folding.
 */
export function toStringOptionsLike(text: string): ToStringOptions {
  const indent = /^[^\s#][^\n]*:[ \t]*(?:#[^\n]*)?\r?\n( +)\S/m.exec(text)?.[1]?.length ?? 2;
  const unindentedSeq = /^( *)[^\s#-][^\n]*:[ \t]*(?:#[^\n]*)?\r?\n\1- /m.test(text);
  return {
    indent: Math.min(Math.max(indent, 1), 8),
    indentSeq: !unindentedSeq,
    flowCollectionPadding: /: [[{] /.test(text),
    lineWidth: 0,
  };
}
