/** The drift engine: pure functions comparing an object's desired (Git) and actual (cluster) sides. */
export * from './types.js';
export { computeDrift, wholeSideValue } from './compute-drift.js';
export {
  normalizeSide,
  normalizeValue,
  canonicalJson,
  isAbsentValue,
  truncateAnnotationValue,
  IGNORED_ANNOTATIONS,
  IGNORED_LABELS,
  ANNOTATION_DETAIL_LIMIT,
  type Normalizable,
} from './normalize.js';
export { severityFor, touchesCriticalPath, CRITICAL_PATHS, HIGH_SCORE_THRESHOLD } from './severity.js';
export { summarizeDrift, type DriftSummary } from './summary.js';
export { ignoreRuleProblem, parsePointer, escapePointerSegment } from './ignore-rules.js';
