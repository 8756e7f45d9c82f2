/**
 * The Kubernetes source: kubeconfig loading, validated reads of the fabric kinds, and the watch loop.
 * (The DNS-1123 patterns live in src/common/k8s-names, which imports nothing, so the source shares them
 * with the entities without importing database code.)
 */
export { loadKubeConfig, contextName, KubeConfigError, type KubeAccess } from './kube-config.js';
export {
  toActualObservation,
  DEFAULT_MAX_OBJECT_BYTES,
  type ValidationOutcome,
} from './object-validation.js';
export { findUnstorableString, type UnstorableString } from '../json-safety.js';
export {
  ClusterReader,
  MalformedResponseError,
  type ClusterReaderOptions,
  type DiscoveryResult,
  type KindListResult,
  type RetryInfo,
} from './cluster-reader.js';
export { KubeAuthError, KubeRequestError, describeKubeError } from './kube-errors.js';
export {
  ResourceWatcher,
  type ResourceWatcherOptions,
  type WatchEventBatch,
  type WatchRestart,
  type WatcherStats,
} from './resource-watcher.js';
