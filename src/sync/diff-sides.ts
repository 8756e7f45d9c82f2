/**
 * The pure half of a read-only diff (src/sync/fabric-diff.ts): a desired read, the ledger's rows and an actual
 * side in, the per-object comparison out. Each object goes through the same evaluateDrift as a sync's rows, with
 * the row sides a desired sync would write followed by an actual read — so a diff of the fabric's own ref shows
 * what `drift` shows after a sync. No database, no clock (the context carries `now`).
 */
import { wholeSideValue } from '../drift/compute-drift.js';
import {
  DRIFT_SEVERITIES,
  DRIFT_STATUSES,
  type DriftOp,
  type DriftSeverity,
  type DriftStatus,
} from '../drift/types.js';
import { canonicalJson } from '../drift/normalize.js';
import { keyOf, type DesiredObservation, type ResourceKey } from '../observations.js';
import type { StoredResource } from '../store/stored-resources.js';
import { evaluateDrift, type DriftContext, type RowSides } from './drift-evaluation.js';

/** One object's side as the cluster holds it. */
export interface ActualSide extends ResourceKey {
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * One difference as an RFC 6902 operation that would turn the cluster's object into the desired one: `value` is the
 * desired value (`add`, `replace`; null for `remove`, which RFC 6902 consumers read without one); `actual`, a member
 * such consumers ignore, is the cluster's (`remove`, `replace`; null for `add`). `path` is a JSON pointer from the
 * object root (`''`: the whole object).
 */
export interface DiffOperation {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value: unknown;
  actual: unknown;
}

export interface DiffedObject extends ResourceKey {
  status: DriftStatus;
  severity: DriftSeverity;
  /** Differing leaf paths over compared leaf paths, 0..1. */
  score: number;
  differences: DiffOperation[];
  /** Where the compared desired side declares the object, or null (not declared). */
  file: string | null;
  line: number | null;
}

/** An object left out of the comparison because one of its sides could not be read, and why. */
export interface NotCompared extends ResourceKey {
  reason: string;
}

export interface DiffSummary {
  /** Objects compared (after the filters). */
  total: number;
  /** Of those, the ones not in sync. */
  differing: number;
  byStatus: Record<DriftStatus, number>;
  bySeverity: Record<DriftSeverity, number>;
  notCompared: number;
}

export interface DiffSidesInput {
  desired: readonly DesiredObservation[];
  /** The ledger's rows of the fabric: the desired state a sync would replace (its previous desired state). */
  stored: ReadonlyMap<string, StoredResource>;
  /** The cluster's objects, by key. */
  actual: ReadonlyMap<string, ActualSide>;
  /** Keys not compared, with why. */
  skip: ReadonlyMap<string, string>;
  /** Which objects to compare; all when absent. */
  keep?: (key: ResourceKey) => boolean;
  ctx: DriftContext;
}

export interface DiffSidesResult {
  summary: DiffSummary;
  /** The objects that differ, by kind, namespace, name. */
  objects: DiffedObject[];
  notCompared: NotCompared[];
}

export function diffSides(input: DiffSidesInput): DiffSidesResult {
  const keep = input.keep ?? (() => true);
  const declared = new Map(input.desired.map((o) => [keyOf(o), o]));
  const byStatus = Object.fromEntries(DRIFT_STATUSES.map((s) => [s, 0])) as Record<DriftStatus, number>;
  const bySeverity = Object.fromEntries(DRIFT_SEVERITIES.map((s) => [s, 0])) as Record<DriftSeverity, number>;
  const objects: DiffedObject[] = [];
  const notCompared: NotCompared[] = [];
  const keys = new Set([...declared.keys(), ...input.actual.keys()]);
  for (const key of keys) {
    const o = declared.get(key);
    const a = input.actual.get(key);
    const id: ResourceKey = o ?? a!;
    if (!keep(id)) continue;
    const reason = input.skip.get(key);
    if (reason !== undefined) {
      notCompared.push({ kind: id.kind, namespace: id.namespace, name: id.name, reason });
      continue;
    }
    const result = compareOne(o, a, input.stored.get(key), input.ctx);
    byStatus[result.status]++;
    bySeverity[result.severity]++;
    if (result.status !== 'in_sync') objects.push(result);
  }
  // Skipped keys that neither side holds (e.g. objects of a refused file) are not compared either.
  for (const [key, reason] of input.skip) {
    if (keys.has(key)) continue;
    const [kind = '', namespace = '', name = ''] = key.split('/');
    if (keep({ kind, namespace, name })) notCompared.push({ kind, namespace, name, reason });
  }
  objects.sort(byKey);
  notCompared.sort(byKey);
  const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
  return {
    summary: { total, differing: total - byStatus.in_sync, byStatus, bySeverity, notCompared: notCompared.length },
    objects,
    notCompared,
  };
}

function byKey(a: ResourceKey, b: ResourceKey): number {
  return a.kind.localeCompare(b.kind) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
}

/**
 * One object, with the row a desired sync of `o` would leave (previous desired state and desired time as
 * src/sync/desired-plan.ts sets them) and the actual side `a`.
 */
function compareOne(
  o: DesiredObservation | undefined,
  a: ActualSide | undefined,
  s: StoredResource | undefined,
  ctx: DriftContext,
): DiffedObject {
  const row: RowSides = {
    kind: (o ?? a)!.kind,
    name: (o ?? a)!.name,
    desiredSpec: o?.spec ?? null,
    desiredMeta: o ? { labels: o.labels, annotations: o.annotations } : undefined,
    ...desiredHistory(o, s, ctx.now),
    hasDraft: false, // drafts are the ledger's, not the compared source's
    actualSpec: a?.spec ?? null,
    actualLabels: a?.labels ?? {},
    actualAnnotations: a?.annotations ?? {},
  };
  const drift = evaluateDrift(row, ctx);
  const details = drift.drift_details as { differences: DriftOp[] };
  return {
    kind: row.kind,
    namespace: (o ?? a)!.namespace,
    name: row.name,
    status: drift.drift_status,
    severity: drift.drift_severity,
    score: drift.drift_score,
    differences: details.differences.map((d) => operationOf(d, o, a)),
    file: o?.filePath ?? null,
    line: o?.line ?? null,
  };
}

/** The previous desired spec and desired time a desired sync would record for `o` over the stored row `s`. */
function desiredHistory(
  o: DesiredObservation | undefined,
  s: StoredResource | undefined,
  now: Date,
): Pick<RowSides, 'previousDesiredSpec' | 'desiredUpdated'> {
  const stored = (d: Date | string | null | undefined) => (d ? new Date(d) : null);
  if (!o) {
    // Undeclared: removed now if the ledger's Git declared it; never declared otherwise.
    if (s?.desiredSpec) return { previousDesiredSpec: s.desiredSpec, desiredUpdated: now };
    return { previousDesiredSpec: s?.previousDesiredSpec ?? null, desiredUpdated: stored(s?.desiredUpdated) };
  }
  const same =
    !!s &&
    s.desiredSpec !== null &&
    sameJson(s.desiredSpec, o.spec) &&
    sameJson(s.syncMetadata?.desired?.labels ?? {}, o.labels) &&
    sameJson(s.syncMetadata?.desired?.annotations ?? {}, o.annotations);
  if (same) return { previousDesiredSpec: s.previousDesiredSpec, desiredUpdated: stored(s.desiredUpdated) ?? now };
  return { previousDesiredSpec: s?.desiredSpec ?? s?.previousDesiredSpec ?? null, desiredUpdated: now };
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

/** The engine's op as RFC 6902; a whole-object op gets the whole side back as its value. */
function operationOf(d: DriftOp, o: DesiredObservation | undefined, a: ActualSide | undefined): DiffOperation {
  let desired = d.desired;
  let actual = d.actual;
  if (d.path === '' && d.op === 'add' && o && desired === undefined) desired = wholeSideValue(o, o.kind, o.name);
  if (d.path === '' && d.op === 'remove' && a && actual === undefined) actual = wholeSideValue(a, a.kind, a.name);
  return {
    op: d.op,
    path: d.path,
    value: d.op === 'remove' ? null : (desired ?? null),
    actual: d.op === 'add' ? null : (actual ?? null),
  };
}
