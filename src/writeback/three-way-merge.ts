/**
 * Three-way merge of two edits of one spec, at JSON-pointer granularity. Pure: no database, no Git, no fs.
 *
 * Used by write-back: a draft records the Git spec it was made from (base); when Git moves under it, the draft
 * (ours) and the new Git spec (theirs) are merged. Rules, applied at every position of the tree:
 * - both sides hold the same value (both changed it alike, or neither did): that value;
 * - only one side changed it (the other still equals base): that side's value, deletion included;
 * - both changed it differently: objects are merged member by member (an absent base counts as an empty
 *   object, so two sides that both add an object merge field by field); keyed lists are merged element by
 *   element (see below); anything else is ONE conflict at that position: a deletion against a change, an
 *   unkeyed list, a type change (scalar ↔ object ↔ list), two different scalars.
 * `null` is a value, never absence: `{a: null}` and `{}` differ. Equality is JSON equality (member order aside).
 *
 * Keyed lists (`opts.listKeys` names the key fields of a list by its schema path) are matched by key. Order of
 * the result: theirs' elements in theirs' order, then the elements only ours has, in ours' order. An element one
 * side removed and the other left unchanged is removed; matching elements are merged recursively. Order is not
 * merged: a reordering by ours is kept only when theirs did not change the list at all. A list in which an element
 * is not an object, lacks a key field, or repeats a key (on any of the three sides) is compared as a whole.
 *
 * Conflict paths are RFC 6901 pointers relative to the spec. Inside a keyed list the index is that of the element
 * in theirs, or in ours when theirs has no such element; since that index is not always the element's index in
 * `merged`, a conflict inside a keyed element also carries the element's `key` (the innermost keyed element).
 *
 * At a conflict, `merged` holds theirs' value (absent when theirs deleted it): an unresolved merge shows Git's state,
 * never a contested edit. `resolveWith(result, side)` gives the merge with every conflict taken from one side.
 */
import { isRecord, typeName } from '../common/values.js';
import { jsonEqual } from '../crds/schema-defaults.js';

export interface MergeConflict {
  /** RFC 6901 pointer relative to the spec ('' would be the spec itself). */
  path: string;
  /** The three values at `path`; a side without the member has no such property. */
  base?: unknown;
  ours?: unknown;
  theirs?: unknown;
  /** When the conflict lies inside an element of a keyed list: that element's key fields and values. */
  key?: Record<string, unknown>;
}

export interface MergeResult {
  merged: Record<string, unknown>;
  conflicts: MergeConflict[];
  clean: boolean;
}

/**
 * The key fields of a list of objects, or null to compare the list as a whole. `listPath` is the schema path of
 * the list below the spec: object member names, with '*' for a list element (e.g. ['nics', '*', 'ports']). A key
 * field may be dotted ('server.port') to name a nested member.
 */
export type ListKeys = (listPath: readonly string[]) => readonly string[] | null;

export interface MergeOptions {
  listKeys?: ListKeys;
}

/** Marks a member that is not there (distinct from `null`, which is a value). */
const ABSENT = Symbol('absent');
type Slot = unknown;

/** Where the walk is: the JSON pointer, the schema path for ListKeys, and the innermost keyed element. */
interface Position {
  pointer: string;
  schemaPath: readonly string[];
  key?: Record<string, unknown>;
}

interface MergeWalk {
  listKeys: ListKeys;
  conflicts: MergeConflict[];
  /** The side a conflicted position takes in the merged output. */
  take: 'ours' | 'theirs';
}

const noListKeys: ListKeys = () => null;

/** The inputs of every result, so resolveWith can merge again with another side for conflicts. */
const mergeInputs = new WeakMap<
  MergeResult,
  { base: Slot; ours: Record<string, unknown>; theirs: Record<string, unknown>; listKeys: ListKeys }
>();

/** Merges `ours` and `theirs`, both edited from `base` (undefined: no base, both sides created the spec). */
export function threeWayMerge(
  base: Record<string, unknown> | undefined,
  ours: Record<string, unknown>,
  theirs: Record<string, unknown>,
  opts: MergeOptions = {},
): MergeResult {
  // The spec of a stored draft comes from a jsonb column: a JSON null or list there is a caller's bug, said plainly.
  for (const [side, spec] of [
    ['base', base ?? {}],
    ['ours', ours],
    ['theirs', theirs],
  ] as const) {
    if (!isRecord(spec))
      throw new TypeError(`threeWayMerge: ${side} must be an object (a spec), got ${typeName(spec)}`);
  }
  const inputs = {
    base: base === undefined ? ABSENT : cloneJson(base),
    ours: cloneJson(ours) as Record<string, unknown>,
    theirs: cloneJson(theirs) as Record<string, unknown>,
    listKeys: opts.listKeys ?? noListKeys,
  };
  const walk: MergeWalk = { listKeys: inputs.listKeys, conflicts: [], take: 'theirs' };
  const merged = mergeRoot(inputs, walk);
  const result: MergeResult = { merged, conflicts: walk.conflicts, clean: walk.conflicts.length === 0 };
  mergeInputs.set(result, inputs);
  return result;
}

/** The merge of `result` with every conflict resolved by taking `side`'s value (a deletion included). */
export function resolveWith(result: MergeResult, side: 'ours' | 'theirs'): Record<string, unknown> {
  const inputs = mergeInputs.get(result);
  if (!inputs) {
    throw new Error('resolveWith: this MergeResult was not returned by threeWayMerge (merge again, then resolve)');
  }
  return mergeRoot(inputs, { listKeys: inputs.listKeys, conflicts: [], take: side });
}

function mergeRoot(
  inputs: { base: Slot; ours: Record<string, unknown>; theirs: Record<string, unknown> },
  walk: MergeWalk,
): Record<string, unknown> {
  const merged = mergeValue(inputs.base, inputs.ours, inputs.theirs, { pointer: '', schemaPath: [] }, walk);
  // Both sides are objects, so the root merge is an object (never absent): copy it so no input is shared.
  return cloneJson(merged) as Record<string, unknown>;
}

function mergeValue(base: Slot, ours: Slot, theirs: Slot, at: Position, walk: MergeWalk): Slot {
  if (sameSlot(ours, theirs)) return ours;
  if (sameSlot(base, ours)) return theirs;
  if (sameSlot(base, theirs)) return ours;
  if (isRecord(ours) && isRecord(theirs) && (base === ABSENT || isRecord(base))) {
    return mergeObjects(base === ABSENT ? {} : base, ours, theirs, at, walk);
  }
  if (Array.isArray(ours) && Array.isArray(theirs) && (base === ABSENT || Array.isArray(base))) {
    const keyed = mergeKeyedList(base === ABSENT ? [] : base, ours, theirs, at, walk);
    if (keyed !== null) return keyed;
  }
  return conflict(base, ours, theirs, at, walk);
}

/** Members in ours' order, then those only theirs has, in theirs' order. */
function mergeObjects(
  base: Record<string, unknown>,
  ours: Record<string, unknown>,
  theirs: Record<string, unknown>,
  at: Position,
  walk: MergeWalk,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = [...memberNames(ours), ...memberNames(theirs).filter((n) => member(ours, n) === ABSENT)];
  for (const name of names) {
    const where = {
      ...at,
      pointer: `${at.pointer}/${escapePointerSegment(name)}`,
      schemaPath: [...at.schemaPath, name],
    };
    const value = mergeValue(member(base, name), member(ours, name), member(theirs, name), where, walk);
    if (value !== ABSENT) defineMember(out, name, value);
  }
  return out;
}

/** The element-by-key merge of three lists, or null when one of them cannot be keyed (compare as a whole). */
function mergeKeyedList(
  base: readonly unknown[],
  ours: readonly unknown[],
  theirs: readonly unknown[],
  at: Position,
  walk: MergeWalk,
): unknown[] | null {
  const fields = walk.listKeys(at.schemaPath);
  if (!fields || fields.length === 0) return null;
  const [b, o, t] = [keyedElements(base, fields), keyedElements(ours, fields), keyedElements(theirs, fields)];
  if (!b || !o || !t) return null;
  const out: unknown[] = [];
  for (const id of [...t.keys(), ...[...o.keys()].filter((id) => !t.has(id))]) {
    const named = (t.get(id) ?? o.get(id))!;
    const where = { pointer: `${at.pointer}/${named.index}`, schemaPath: [...at.schemaPath, '*'], key: named.key };
    const value = mergeValue(slotOf(b.get(id)), slotOf(o.get(id)), slotOf(t.get(id)), where, walk);
    if (value !== ABSENT) out.push(value);
  }
  return out;
}

function conflict(base: Slot, ours: Slot, theirs: Slot, at: Position, walk: MergeWalk): Slot {
  const found: MergeConflict = { path: at.pointer };
  if (base !== ABSENT) found.base = cloneJson(base);
  if (ours !== ABSENT) found.ours = cloneJson(ours);
  if (theirs !== ABSENT) found.theirs = cloneJson(theirs);
  if (at.key) found.key = cloneJson(at.key) as Record<string, unknown>;
  walk.conflicts.push(found);
  return walk.take === 'ours' ? ours : theirs;
}

/**
 * The JSON pointers (RFC 6901) at which `after` differs from `before`, in document order (after's members first,
 * then those only before has). Objects are compared member by member; keyed lists (opts.listKeys) element by
 * element, an element named by its index in `after` (in `before` when removed), and the list's own pointer when
 * the elements both sides share changed order; any other difference is one pointer (a whole unkeyed list, a type
 * change, an added or removed member). Empty exactly when the two are JSON-equal.
 */
export function changedPaths(before: unknown, after: unknown, opts: MergeOptions = {}): string[] {
  const out: string[] = [];
  diffInto(slotOfValue(before), slotOfValue(after), { pointer: '', schemaPath: [] }, opts.listKeys ?? noListKeys, out);
  return out;
}

function diffInto(before: Slot, after: Slot, at: Position, listKeys: ListKeys, out: string[]): void {
  if (sameSlot(before, after)) return;
  if (isRecord(before) && isRecord(after)) {
    const names = [...memberNames(after), ...memberNames(before).filter((n) => member(after, n) === ABSENT)];
    for (const name of names) {
      const where = { pointer: `${at.pointer}/${escapePointerSegment(name)}`, schemaPath: [...at.schemaPath, name] };
      diffInto(member(before, name), member(after, name), where, listKeys, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && diffKeyedList(before, after, at, listKeys, out)) return;
  out.push(at.pointer);
}

/** Element-by-key differences of two lists; false when either cannot be keyed. */
function diffKeyedList(
  before: readonly unknown[],
  after: readonly unknown[],
  at: Position,
  listKeys: ListKeys,
  out: string[],
): boolean {
  const fields = listKeys(at.schemaPath);
  if (!fields || fields.length === 0) return false;
  const [b, a] = [keyedElements(before, fields), keyedElements(after, fields)];
  if (!b || !a) return false;
  const sharedBefore = [...b.keys()].filter((id) => a.has(id));
  const sharedAfter = [...a.keys()].filter((id) => b.has(id));
  if (sharedBefore.some((id, i) => id !== sharedAfter[i])) out.push(at.pointer);
  for (const id of [...a.keys(), ...[...b.keys()].filter((id) => !a.has(id))]) {
    const named = (a.get(id) ?? b.get(id))!;
    const where = { pointer: `${at.pointer}/${named.index}`, schemaPath: [...at.schemaPath, '*'] };
    diffInto(slotOf(b.get(id)), slotOf(a.get(id)), where, listKeys, out);
  }
  return true;
}

interface KeyedElement {
  index: number;
  value: Record<string, unknown>;
  key: Record<string, unknown>;
}

/** The elements of a list by key identity, in list order; null when one is unkeyable or a key repeats. */
function keyedElements(list: readonly unknown[], fields: readonly string[]): Map<string, KeyedElement> | null {
  const byId = new Map<string, KeyedElement>();
  for (const [index, value] of list.entries()) {
    if (!isRecord(value)) return null;
    const key: Record<string, unknown> = {};
    const parts: unknown[] = [];
    for (const field of fields) {
      const part = keyField(value, field);
      if (typeof part !== 'string' && typeof part !== 'number' && typeof part !== 'boolean') return null;
      defineMember(key, field, part);
      parts.push(part);
    }
    // JSON text keeps 1 and "1" apart, as the API server does for list-map keys.
    const id = JSON.stringify(parts);
    if (byId.has(id)) return null;
    byId.set(id, { index, value, key });
  }
  return byId;
}

/** A key field's value: the member named `field` itself, else the dotted path through nested objects. */
export function keyField(element: Record<string, unknown>, field: string): unknown {
  const own = member(element, field);
  if (own !== ABSENT || !field.includes('.')) return own === ABSENT ? undefined : own;
  let node: unknown = element;
  for (const part of field.split('.')) {
    if (!isRecord(node)) return undefined;
    const next = member(node, part);
    if (next === ABSENT) return undefined;
    node = next;
  }
  return node;
}

function slotOf(element: KeyedElement | undefined): Slot {
  return element ? element.value : ABSENT;
}

function slotOfValue(v: unknown): Slot {
  return v === undefined ? ABSENT : v;
}

function sameSlot(a: Slot, b: Slot): boolean {
  if (a === ABSENT || b === ABSENT) return a === b;
  return jsonEqual(a, b);
}

/** A member's value, ABSENT when the object has no own member of that name (or it holds undefined). */
function member(obj: Record<string, unknown>, name: string): Slot {
  if (!Object.prototype.hasOwnProperty.call(obj, name)) return ABSENT;
  const v = obj[name];
  return v === undefined ? ABSENT : v;
}

function memberNames(obj: Record<string, unknown>): string[] {
  return Object.keys(obj).filter((n) => obj[n] !== undefined);
}

/** Sets an own data member; plain assignment of '__proto__' would replace the prototype instead. */
function defineMember(obj: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(obj, name, { value, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of a JSON value (undefined members dropped, '__proto__' kept as a member). */
function cloneJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((item: unknown) => cloneJson(item));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const name of memberNames(v)) defineMember(out, name, cloneJson(v[name]));
  return out;
}

/** RFC 6901: '~' is written '~0' and '/' is written '~1' (in that order). */
export function escapePointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
