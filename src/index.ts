export * from "./kube/catalog.js";
export * from "./entities/index.js";
export * from "./db/index.js";
export * from "./kube/index.js";
// Drift engine (statuses, severities and IgnoreRule come with the entities above).
export {
  computeDrift,
  normalizeSide,
  normalizeValue,
  canonicalJson,
  summarizeDrift,
  severityFor,
  touchesCriticalPath,
  ignoreRuleProblem,
  CRITICAL_PATHS,
  HIGH_SCORE_THRESHOLD,
  IGNORED_ANNOTATIONS,
  IGNORED_LABELS,
  ANNOTATION_DETAIL_LIMIT,
  type DriftInput,
  type DriftResult,
  type DriftOp,
  type SideState,
  type DriftSummary,
} from "./drift/index.js";
export * from "./crds/index.js";
export * from "./gitops/index.js";
