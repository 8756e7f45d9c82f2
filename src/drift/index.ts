/**
 * The drift engine: pure functions comparing an object's desired (Git) and actual (cluster) sides.
 * Public as `hedgehog-fabric-sync/drift`: an explicit list, so a change to it is deliberate (test/public-api.test.ts).
 * Helpers the engine shares between its own modules (pointer parsing, whole-side values, …) are imported from
 * their modules, not from here.
 */
export {
  DRIFT_STATUSES,
  DRIFT_SEVERITIES,
  type DriftStatus,
  type DriftSeverity,
  type DriftOp,
  type SideState,
  type IgnoreRule,
  type DriftInput,
  type DriftResult,
  type SchemaDefaults,
} from './types.js';
export { computeDrift } from './compute-drift.js';
export {
  normalizeSide,
  normalizeValue,
  canonicalJson,
  IGNORED_ANNOTATIONS,
  IGNORED_LABELS,
  ANNOTATION_DETAIL_LIMIT,
  type Normalizable,
} from './normalize.js';
export { severityFor, touchesCriticalPath, CRITICAL_PATHS, HIGH_SCORE_THRESHOLD } from './severity.js';
export { summarizeDrift, type DriftSummary } from './summary.js';
export { ignoreRuleProblem } from './ignore-rules.js';
