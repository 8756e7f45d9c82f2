/**
 * Normalization: what of an object the drift engine compares, in one canonical form.
 *
 * Compared: `spec`, `metadata.labels`, `metadata.annotations`. Never compared: `status`, `apiVersion`,
 * `kind`, and every other metadata field (`resourceVersion`, `uid`, `generation`, `managedFields`,
 * `creationTimestamp`, `ownerReferences`, `finalizers`, ...), and the labels and annotations that tools
 * write on apply rather than users in Git (IGNORED_ANNOTATIONS, IGNORED_LABELS below).
 *
 * Value rules (the same in computeDrift, which applies them on the fly without copying):
 * - a `null` object member is the same as an absent one: the API server prunes nulls from fields that are
 *   not nullable, and YAML `key:` with nothing after it is a null;
 * - an object member whose value is an empty object or empty array (after the rule above) is the same as an
 *   absent one: Go controllers re-marshal with `omitempty`, so `{}`/`[]` and absence round-trip into
 *   each other; inside arrays, positions matter, and items are kept as they are;
 * - numbers compare by value (1 and 1.0 are one number in JSON and in JS), strings never equal numbers ("1" ≠ 1).
 */
import { isRecord } from '../common/values.js';
import type { SideState } from './types.js';

/** Annotations written by tools on apply, not by users in Git; dropped from both sides. */
export const IGNORED_ANNOTATIONS: ReadonlySet<string> = new Set([
  // kubectl client-side apply keeps a copy of the whole applied manifest here.
  'kubectl.kubernetes.io/last-applied-configuration',
  // Argo CD's resource tracking (annotation-based tracking), written on every sync.
  'argocd.argoproj.io/tracking-id',
  // Helm's ownership markers, written by helm install/upgrade.
  'meta.helm.sh/release-name',
  'meta.helm.sh/release-namespace',
]);

/** Labels written by tools on apply, not by users in Git; dropped from both sides. */
export const IGNORED_LABELS: ReadonlySet<string> = new Set([
  // Flux's ownership labels, written by the kustomize and helm controllers.
  'kustomize.toolkit.fluxcd.io/name',
  'kustomize.toolkit.fluxcd.io/namespace',
  'helm.toolkit.fluxcd.io/name',
  'helm.toolkit.fluxcd.io/namespace',
]);

/** Annotation values longer than this are truncated in drift details (never in the comparison). */
export const ANNOTATION_DETAIL_LIMIT = 1024;

/**
 * True for values that count as absent when they are an object member: undefined, null, and objects or
 * arrays with nothing in them once those rules are applied recursively (`{a: {b: null}}` is empty).
 */
export function isAbsentValue(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.length === 0;
  for (const k in v as Record<string, unknown>) {
    if (!isAbsentValue((v as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/**
 * The canonical form of a JSON value: object keys sorted, absent members (see isAbsentValue) dropped,
 * array items kept in order (null items included). Returns undefined for an absent value.
 */
export function normalizeValue(v: unknown): unknown {
  if (v === undefined) return undefined;
  // Array items keep their position even when empty or null: `[{}]` is one item, not none.
  if (Array.isArray(v)) return v.map((item) => (item === undefined ? null : normalizeValue(item)));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const n = normalizeValue(v[k]);
    if (n !== undefined && !isAbsentValue(n)) out[k] = n;
  }
  return out;
}

/** Labels or annotations without null values and without the tool-written keys in `ignored`, keys sorted. */
export function metadataMap(v: unknown, ignored: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const k of Object.keys(v).sort()) {
    const val = v[k];
    if (val === undefined || val === null || ignored.has(k)) continue;
    out[k] = val as string;
  }
  return out;
}

/** How many entries metadataMap(v, ignored) would hold, without building it (a one-sided drift only counts them). */
export function metadataCount(v: unknown, ignored: ReadonlySet<string>): number {
  if (!isRecord(v)) return 0;
  let n = 0;
  for (const k of Object.keys(v)) {
    const val = v[k];
    // metadataMap's plain-object assignment drops a `__proto__` key (not a valid Kubernetes key anyway): so does this.
    if (val !== undefined && val !== null && !ignored.has(k) && k !== '__proto__') n++;
  }
  return n;
}

/** Anything with a spec and labels/annotations: a Kubernetes object, an observation, or a SideState. */
export interface Normalizable {
  spec?: unknown;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  metadata?: { labels?: Record<string, string> | null; annotations?: Record<string, string> | null } | null;
}

/**
 * The compared part of an object, canonical: spec normalized (normalizeValue), labels and annotations
 * without the tool-written ones, keys sorted. Top-level `labels`/`annotations` (observations) win over
 * `metadata.labels`/`metadata.annotations` (Kubernetes objects). A missing spec is `{}`.
 */
export function normalizeSide(obj: Normalizable): SideState {
  if (obj.spec !== undefined && obj.spec !== null && !isRecord(obj.spec)) {
    throw new TypeError(`spec must be an object, got ${Array.isArray(obj.spec) ? 'an array' : typeof obj.spec}`);
  }
  const spec = (normalizeValue(obj.spec ?? {}) ?? {}) as Record<string, unknown>;
  return {
    spec,
    labels: metadataMap(obj.labels ?? obj.metadata?.labels, IGNORED_LABELS),
    annotations: metadataMap(obj.annotations ?? obj.metadata?.annotations, IGNORED_ANNOTATIONS),
  };
}

/**
 * Deterministic JSON: object keys sorted, undefined members dropped (undefined array items become null, as
 * in JSON.stringify). A serializer only: nulls and empty collections are kept; normalize first
 * (normalizeSide / normalizeValue) to get the comparison-grade form.
 */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') {
    // Typed as string, but undefined for functions and symbols.
    const json = JSON.stringify(v) as string | undefined;
    return json ?? 'null';
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
    return canonicalJson((v as { toJSON(): unknown }).toJSON());
  if (Array.isArray(v)) return `[${v.map((item) => canonicalJson(item)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const parts: string[] = [];
  for (const k of Object.keys(o).sort()) {
    if (o[k] === undefined || typeof o[k] === 'function') continue;
    parts.push(`${JSON.stringify(k)}:${canonicalJson(o[k])}`);
  }
  return `{${parts.join(',')}}`;
}

/** A detail value with long annotation values cut to ANNOTATION_DETAIL_LIMIT characters. */
export function truncateAnnotationValue(v: unknown): unknown {
  if (typeof v !== 'string' || v.length <= ANNOTATION_DETAIL_LIMIT) return v;
  return `${v.slice(0, ANNOTATION_DETAIL_LIMIT)}…[truncated ${v.length - ANNOTATION_DETAIL_LIMIT} characters]`;
}
