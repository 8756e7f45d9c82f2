/**
 * Plain data types of the drift engine. Everything in src/drift is pure: plain data in, plain data out,
 * no I/O, no database, no clock.
 */
import type { SchemaDefaults } from '../crds/schema-defaults.js';

export type { SchemaDefaults };

// The status and severity vocabularies have one source, here; the ledger's columns and checks
// (src/entities) import them, never the reverse.
export const DRIFT_STATUSES = [
  'in_sync',
  'spec_drift',
  'desired_only',
  'actual_only',
  'creation_pending',
  'deletion_pending',
] as const;
export type DriftStatus = (typeof DRIFT_STATUSES)[number];

export const DRIFT_SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type DriftSeverity = (typeof DRIFT_SEVERITIES)[number];

/**
 * One difference, RFC 6902 style, read as "what would turn the actual object into the desired one":
 * - `add`: the desired side declares `path`, the actual side lacks it (`desired` set);
 * - `remove`: the actual side has `path` and the desired side does not (`actual` set);
 * - `replace`: both sides have `path` with different values (both set).
 * `path` is an RFC 6901 JSON pointer from the object root: `/spec/subnets/default/vlan`,
 * `/metadata/labels/app`, `/spec/fabric/links/0/leaf/port`. The empty pointer `''` names the whole
 * object (desired-only and actual-only results).
 */
export interface DriftOp {
  op: 'add' | 'remove' | 'replace';
  path: string;
  desired?: unknown;
  actual?: unknown;
}

/** What the engine compares of one side: the spec and, separately, labels and annotations. */
export interface SideState {
  spec: Record<string, unknown>;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/**
 * Hide a subtree from the comparison, on both sides. `pointer` is an RFC 6901 pointer from the object
 * root that starts with `/spec` or `/metadata` (`/metadata/labels/...`, `/metadata/annotations/...`);
 * a segment `*` matches any single key or array index. `kind` and `name` scope the rule (absent:
 * every kind / every name).
 */
export interface IgnoreRule {
  pointer: string;
  kind?: string;
  name?: string;
}

export interface DriftInput {
  kind: string;
  name: string;
  /** null: not declared in Git. */
  desired: SideState | null;
  /** null: not in the cluster. */
  actual: SideState | null;
  /** The desired spec before the latest desired change; fields it declared are not server defaults. */
  previousDesiredSpec?: Record<string, unknown> | null;
  /** Same idea for labels and annotations, when the caller keeps them. */
  previousDesiredMetadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } | null;
  ignore?: readonly IgnoreRule[];
  /** From src/crds: extras equal to a CRD schema default are left out of `extras`. */
  schemaDefaults?: SchemaDefaults | null;
  /** creation_pending / deletion_pending instead of desired_only / actual_only. */
  pending?: { desiredChangedRecently?: boolean; desiredRemovedRecently?: boolean };
  /**
   * Strict comparison: fields only the actual side has are differences (`remove`) like any other,
   * there are no extras, and neither previous desired state nor schema defaults are consulted.
   * Symmetric by construction; for audits and tests. Default false.
   */
  strict?: boolean;
  /**
   * Desired-only / actual-only results carry their root op without the whole side as its value (a store
   * that keeps the side itself, like the ledger, rebuilds it with `wholeSideValue`). Default false.
   */
  omitWholeValue?: boolean;
}

export interface DriftResult {
  status: DriftStatus;
  /** Differing leaf paths over compared leaf paths, 0..1; 1 for desired-only / actual-only, 0 when in sync. */
  score: number;
  severity: DriftSeverity;
  /** The drift: what differs, as operations that would turn actual into desired. */
  differences: DriftOp[];
  /** Not drift: fields only the actual side has (server defaults, controller fill-ins), op `remove`. */
  extras: DriftOp[];
  /** Leaf paths compared (labels and annotations included; extras and ignored paths not). */
  comparedPaths: number;
}
