/**
 * The drift engine: compares the desired side (Git) of one object with its actual side (cluster).
 * Pure: plain data in, plain data out. See docs/drift.md for the rules in prose; in short:
 *
 * - compared: `spec`, and separately labels and annotations (normalize.ts says what is never compared and
 *   how values are normalized: null and empty collections equal absence, tool-written metadata dropped);
 * - a field the desired side declares and the actual side lacks or holds differently is drift, always;
 * - a field only the actual side has is a server default or a controller's fill-in (a switch's assigned
 *   ASN): not drift but an *extra*, listed apart and left out when it equals the CRD schema default —
 *   unless the previous desired spec declared it: then it is a removal not yet applied, drift (`remove`);
 * - arrays are compared index by index (order matters: lists of links) and a length difference is drift;
 *   objects inside arrays recurse, so a server default inside a link is an extra too;
 * - ignore rules hide subtrees on both sides;
 * - score: differing leaf paths / compared leaf paths (extras and ignored paths left out); an operation on a
 *   subtree counts that subtree's leaves (at least one);
 * - status `spec_drift` when anything differs in spec, labels or annotations; severity from severity.ts.
 *
 * Speed matters (10,000 pairs in well under 300 ms): the walk reads both sides in place, copies nothing
 * unless it reports it, and builds a path string only when it emits an operation.
 */
import { SchemaDefaults, type DefaultsNode } from '../crds/schema-defaults.js';
import {
  escapePointerSegment,
  ignoreRootFor,
  isIgnoredAt,
  rootCursor,
  stepCursor,
  type IgnoreCursor,
} from './ignore-rules.js';
import {
  IGNORED_ANNOTATIONS,
  IGNORED_LABELS,
  isAbsentValue,
  metadataCount,
  metadataMap,
  truncateAnnotationValue,
} from './normalize.js';
import { isRecord } from '../common/values.js';
import { severityFor } from './severity.js';
import type { DriftInput, DriftOp, DriftResult, SideState } from './types.js';

type Obj = Record<string, unknown>;

/** Walk state for one object pair. */
interface Walk {
  readonly strict: boolean;
  readonly diffs: DriftOp[];
  readonly extras: DriftOp[];
  compared: number;
  differing: number;
  /** Keys (unescaped) of the current position; escaped only when an operation is reported. */
  readonly segs: string[];
}

function pathOf(w: Walk): string {
  let path = '';
  for (const seg of w.segs) path += '/' + escapePointerSegment(seg);
  return path;
}

/**
 * A reportable copy of `v`: normalized (absent members dropped, keys sorted), without ignored subtrees
 * and, when `dropDefaults`, without members equal to their schema default. undefined when nothing is left.
 * Array items keep their positions (an item is never dropped, only its members).
 */
function clean(v: unknown, ign: IgnoreCursor, sch: DefaultsNode | null, dropDefaults: boolean): unknown {
  if (v === undefined) return undefined;
  if (dropDefaults && SchemaDefaults.matches(sch, v)) return undefined;
  if (Array.isArray(v)) {
    return v.map((item, i) => cleanKeepShape(item, ign ? stepCursor(ign, String(i)) : null));
  }
  if (!isRecord(v)) return v;
  const out: Obj = {};
  let any = false;
  for (const k of Object.keys(v).sort()) {
    const m = v[k];
    if (isAbsentValue(m)) continue;
    let ci: IgnoreCursor = null;
    if (ign) {
      ci = stepCursor(ign, k);
      if (isIgnoredAt(ci)) continue;
    }
    const c = clean(m, ci, sch ? SchemaDefaults.child(sch, k) : null, dropDefaults);
    if (c === undefined || isAbsentValue(c)) continue;
    out[k] = c;
    any = true;
  }
  return any ? out : undefined;
}

/** clean() for a value that must be reported even when nothing of it is left (array items, replace). */
function cleanKeepShape(v: unknown, ign: IgnoreCursor): unknown {
  const c = clean(v, ign, null, false);
  if (c !== undefined) return c;
  return Array.isArray(v) ? [] : isRecord(v) ? {} : null;
}

/** Leaves of a (cleaned) value: scalars and null array items count one; absent members none. */
function leafCount(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'object' || v === null) return 1;
  let n = 0;
  if (Array.isArray(v)) {
    for (const item of v) n += leafCount(item);
    return n;
  }
  for (const k in v as Obj) {
    const m = (v as Obj)[k];
    if (!isAbsentValue(m)) n += leafCount(m);
  }
  return n;
}

function record(w: Walk, op: DriftOp, leaves: number): void {
  const n = leaves > 0 ? leaves : 1;
  w.compared += n;
  w.differing += n;
  w.diffs.push(op);
}

/** The desired side declares the current path, the actual side lacks it. */
function desiredOnly(w: Walk, dv: unknown, ign: IgnoreCursor): void {
  const value = clean(dv, ign, null, false);
  if (value === undefined) return; // everything in it is ignored
  record(w, { op: 'add', path: pathOf(w), desired: value }, leafCount(value));
}

/** Only the actual side has the current path: a removal not yet applied, or an extra. */
function actualOnly(w: Walk, av: unknown, pv: unknown, ign: IgnoreCursor, sch: DefaultsNode | null): void {
  const previouslyDeclared = !w.strict && !isAbsentValue(pv);
  if (previouslyDeclared && isRecord(av) && isRecord(pv)) {
    // Recurse: within a removed object, what the old desired spec declared is drift, the rest extras.
    for (const k of Object.keys(av)) {
      const m = av[k];
      if (isAbsentValue(m)) continue;
      let ci: IgnoreCursor = null;
      if (ign) {
        ci = stepCursor(ign, k);
        if (isIgnoredAt(ci)) continue;
      }
      w.segs.push(k);
      actualOnly(w, m, pv[k], ci, sch ? SchemaDefaults.child(sch, k) : null);
      w.segs.pop();
    }
    return;
  }
  if (w.strict || previouslyDeclared) {
    // A previously declared field that holds its schema default again was re-defaulted by the server.
    if (previouslyDeclared && SchemaDefaults.matches(sch, av)) return;
    const value = clean(av, ign, null, false);
    if (value === undefined) return;
    record(w, { op: 'remove', path: pathOf(w), actual: value }, leafCount(value));
    return;
  }
  const value = clean(av, ign, sch, true);
  if (value !== undefined) w.extras.push({ op: 'remove', path: pathOf(w), actual: value });
}

function walkValue(w: Walk, dv: unknown, av: unknown, pv: unknown, ign: IgnoreCursor, sch: DefaultsNode | null): void {
  if (typeof dv === 'object' && dv !== null && typeof av === 'object' && av !== null) {
    const dArr = Array.isArray(dv);
    if (dArr === Array.isArray(av)) {
      if (dArr) walkArray(w, dv as unknown[], av as unknown[], pv, ign, sch);
      else walkObject(w, dv as Obj, av as Obj, pv, ign, sch);
      return;
    }
  } else if (dv === av) {
    w.compared++;
    return;
  }
  const desired = cleanKeepShape(dv, ign);
  record(w, { op: 'replace', path: pathOf(w), desired, actual: cleanKeepShape(av, ign) }, leafCount(desired));
}

function walkObject(w: Walk, d: Obj, a: Obj, p: unknown, ign: IgnoreCursor, sch: DefaultsNode | null): void {
  const prev = !w.strict && isRecord(p) ? p : undefined;
  for (const k in d) {
    const dv = d[k];
    if (isAbsentValue(dv)) continue; // an absent desired member is handled with the actual-only ones
    let ci: IgnoreCursor = null;
    if (ign) {
      ci = stepCursor(ign, k);
      if (isIgnoredAt(ci)) continue;
    }
    w.segs.push(k);
    const av = a[k];
    if (isAbsentValue(av)) desiredOnly(w, dv, ci);
    else walkValue(w, dv, av, prev?.[k], ci, sch ? SchemaDefaults.child(sch, k) : null);
    w.segs.pop();
  }
  for (const k in a) {
    const av = a[k];
    if (isAbsentValue(av) || !isAbsentValue(d[k])) continue;
    let ci: IgnoreCursor = null;
    if (ign) {
      ci = stepCursor(ign, k);
      if (isIgnoredAt(ci)) continue;
    }
    w.segs.push(k);
    actualOnly(w, av, prev?.[k], ci, sch ? SchemaDefaults.child(sch, k) : null);
    w.segs.pop();
  }
}

/**
 * Index by index: positions matter (a list of links is ordered). Items only the desired side has are `add`
 * ops; items only the actual side has are drift too (`remove`, last index first so the list applies as an
 * RFC 6902 patch): API defaults never add array items, so trailing items are not extras.
 */
function walkArray(w: Walk, d: unknown[], a: unknown[], p: unknown, ign: IgnoreCursor, sch: DefaultsNode | null): void {
  const prev = !w.strict && Array.isArray(p) ? p : undefined;
  const itemSch = sch ? SchemaDefaults.child(sch, '0') : null;
  const n = Math.min(d.length, a.length);
  for (let i = 0; i < d.length; i++) {
    let ci: IgnoreCursor = null;
    if (ign) {
      ci = stepCursor(ign, String(i));
      if (isIgnoredAt(ci)) continue;
    }
    w.segs.push(String(i));
    const dv = d[i] === undefined ? null : d[i];
    if (i >= n) {
      const value = cleanKeepShape(dv, ci);
      record(w, { op: 'add', path: pathOf(w), desired: value }, leafCount(value));
    } else {
      walkValue(w, dv, a[i] === undefined ? null : a[i], prev?.[i], ci, itemSch);
    }
    w.segs.pop();
  }
  for (let i = a.length - 1; i >= n; i--) {
    let ci: IgnoreCursor = null;
    if (ign) {
      ci = stepCursor(ign, String(i));
      if (isIgnoredAt(ci)) continue;
    }
    w.segs.push(String(i));
    const value = cleanKeepShape(a[i] === undefined ? null : a[i], ci);
    record(w, { op: 'remove', path: pathOf(w), actual: value }, leafCount(value));
    w.segs.pop();
  }
}

/**
 * Labels or annotations: flat string maps, one leaf per key; tool-written keys are not compared.
 * Values are typed `| null` because YAML and API payloads can carry a null value (`key: ~`).
 */
function walkStringMap(
  w: Walk,
  d: Record<string, string | null> | undefined,
  a: Record<string, string | null> | undefined,
  p: Record<string, string | null> | undefined,
  ign: IgnoreCursor,
  skip: ReadonlySet<string>,
  detail: (v: unknown) => unknown,
): void {
  const dm: Record<string, string | null> = d ?? {};
  const am: Record<string, string | null> = a ?? {};
  for (const k in dm) {
    const dv = dm[k];
    if (dv === undefined || dv === null || skip.has(k)) continue;
    if (ign && isIgnoredAt(stepCursor(ign, k))) continue;
    const av = am[k];
    w.segs.push(k);
    if (av === undefined || av === null) record(w, { op: 'add', path: pathOf(w), desired: detail(dv) }, 1);
    else if (av === dv) w.compared++;
    else record(w, { op: 'replace', path: pathOf(w), desired: detail(dv), actual: detail(av) }, 1);
    w.segs.pop();
  }
  for (const k in am) {
    const av = am[k];
    if (av === undefined || av === null || skip.has(k)) continue;
    if (dm[k] !== undefined && dm[k] !== null) continue;
    if (ign && isIgnoredAt(stepCursor(ign, k))) continue;
    w.segs.push(k);
    const op: DriftOp = { op: 'remove', path: pathOf(w), actual: detail(av) };
    if (w.strict || (p && p[k] !== undefined && p[k] !== null)) record(w, op, 1);
    else w.extras.push(op);
    w.segs.pop();
  }
}

function specOf(side: SideState, input: DriftInput, which: string): Obj {
  // Typed as an object, but library callers (plain JS, parsed JSON) can pass anything: checked here.
  const spec: unknown = side.spec;
  if (spec === undefined || spec === null) return {};
  if (!isRecord(spec)) {
    throw new TypeError(
      `${input.kind} ${input.name}: the ${which} spec must be an object, got ${Array.isArray(spec) ? 'an array' : typeof spec}`,
    );
  }
  return spec;
}

/** A whole side as one detail value, shaped like the object so its inner pointers match the op paths. */
function wholeSide(side: SideState, input: DriftInput, which: string): Obj {
  const labels = metadataMap(side.labels, IGNORED_LABELS);
  const annotations = metadataMap(side.annotations, IGNORED_ANNOTATIONS);
  for (const k in annotations) annotations[k] = truncateAnnotationValue(annotations[k]) as string;
  const metadata: Obj = {};
  if (Object.keys(labels).length) metadata.labels = labels;
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  const out: Obj = {};
  if (metadata.labels || metadata.annotations) out.metadata = metadata;
  out.spec = clean(specOf(side, input, which), null, null, false) ?? {};
  return out;
}

/**
 * The value a desired-only / actual-only result carries on its root op, for one side. Exported so a store
 * that keeps the side itself (the ledger's desired_spec / actual_spec columns) need not keep a second copy
 * in the details, and can rebuild the same value when it reports.
 */
export function wholeSideValue(side: SideState, kind: string, name: string): Obj {
  return wholeSide(side, { kind, name, desired: null, actual: null }, 'whole');
}

const identity = (v: unknown) => v;

/** Compares one object's desired and actual sides (see the module comment and docs/drift.md). */
export function computeDrift(input: DriftInput): DriftResult {
  const { desired, actual } = input;
  if (!desired && !actual) {
    return { status: 'in_sync', score: 0, severity: 'none', differences: [], extras: [], comparedPaths: 0 };
  }
  if (!desired || !actual) return oneSidedResult(input, desired ? 'desired' : 'actual');

  const strict = input.strict === true;
  const w: Walk = { strict, diffs: [], extras: [], compared: 0, differing: 0, segs: [] };
  walkBothSides(w, input, desired, actual);
  const drifted = w.diffs.length > 0;
  const status = drifted ? 'spec_drift' : 'in_sync';
  const score = drifted ? w.differing / w.compared : 0;
  return {
    status,
    score,
    severity: severityFor(input.kind, status, score, w.diffs),
    differences: w.diffs,
    extras: w.extras,
    comparedPaths: w.compared,
  };
}

/** Declared only in Git, or only in the cluster: the whole object is the one difference. */
function oneSidedResult(input: DriftInput, which: 'desired' | 'actual'): DriftResult {
  const isDesired = which === 'desired';
  const side = (isDesired ? input.desired : input.actual)!;
  const status = isDesired
    ? input.pending?.desiredChangedRecently
      ? 'creation_pending'
      : 'desired_only'
    : input.pending?.desiredRemovedRecently
      ? 'deletion_pending'
      : 'actual_only';
  if (input.omitWholeValue) {
    // The caller keeps the side itself and rebuilds the value with wholeSideValue when it needs it.
    const op: DriftOp = { op: isDesired ? 'add' : 'remove', path: '' };
    const compared =
      leafCount(specOf(side, input, which)) +
      metadataCount(side.labels, IGNORED_LABELS) +
      metadataCount(side.annotations, IGNORED_ANNOTATIONS);
    return {
      status,
      score: 1,
      severity: severityFor(input.kind, status, 1, [op]),
      differences: [op],
      extras: [],
      comparedPaths: Math.max(1, compared),
    };
  }
  const value = wholeSide(side, input, which);
  const op: DriftOp = isDesired ? { op: 'add', path: '', desired: value } : { op: 'remove', path: '', actual: value };
  return {
    status,
    score: 1,
    severity: severityFor(input.kind, status, 1, [op]),
    differences: [op],
    extras: [],
    comparedPaths: Math.max(1, leafCount(value)),
  };
}

/** Compares spec, labels and annotations of both sides into `w`, skipping what the ignore rules hide. */
function walkBothSides(w: Walk, input: DriftInput, desired: SideState, actual: SideState): void {
  const root = rootCursor(ignoreRootFor(input.ignore, input.kind, input.name));
  const defaults = w.strict ? null : (input.schemaDefaults ?? null);

  const specIgn = stepCursor(root, 'spec');
  if (!isIgnoredAt(specIgn)) {
    w.segs.push('spec');
    const prevSpec = w.strict ? undefined : (input.previousDesiredSpec ?? undefined);
    walkObject(
      w,
      specOf(desired, input, 'desired'),
      specOf(actual, input, 'actual'),
      prevSpec,
      specIgn,
      defaults ? SchemaDefaults.child(defaults.root, 'spec') : null,
    );
    w.segs.pop();
  }

  const metaIgn = stepCursor(root, 'metadata');
  if (isIgnoredAt(metaIgn)) return;
  const prevMeta = w.strict ? undefined : (input.previousDesiredMetadata ?? undefined);
  const labelsIgn = stepCursor(metaIgn, 'labels');
  if (!isIgnoredAt(labelsIgn)) {
    w.segs.push('metadata', 'labels');
    walkStringMap(w, desired.labels, actual.labels, prevMeta?.labels, labelsIgn, IGNORED_LABELS, identity);
    w.segs.length = 0;
  }
  const annotationsIgn = stepCursor(metaIgn, 'annotations');
  if (!isIgnoredAt(annotationsIgn)) {
    w.segs.push('metadata', 'annotations');
    walkStringMap(
      w,
      desired.annotations,
      actual.annotations,
      prevMeta?.annotations,
      annotationsIgn,
      IGNORED_ANNOTATIONS,
      truncateAnnotationValue,
    );
    w.segs.length = 0;
  }
}
