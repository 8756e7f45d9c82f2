/**
 * The Kubernetes source, public as `hedgehog-fabric-sync/kube`: the catalog of fabric kinds, kubeconfig loading,
 * validated reads of the fabric kinds (ClusterReader), the watch loop (ClusterInformer) and the errors they throw.
 * An explicit list, so a change to it is deliberate (test/public-api.test.ts); the modules' own helpers
 * (object validation, retries, error texts) are imported from their modules.
 */
export { FABRIC_KINDS, kindInfo, isFabricKind, type KindInfo } from './catalog.js';
export {
  loadKubeConfig,
  contextName,
  KubeConfigError,
  type KubeAccess,
  type InClusterEnvironment,
} from './kube-config.js';
export { DEFAULT_MAX_OBJECT_BYTES } from './object-validation.js';
export {
  ClusterReader,
  MalformedResponseError,
  type ClusterReaderOptions,
  type DiscoveryResult,
  type KindListResult,
  type KindPageSink,
  type KindPagesResult,
  type RetryInfo,
} from './cluster-reader.js';
export { KubeAuthError, KubeRequestError } from './kube-errors.js';
export {
  ClusterInformer,
  type ClusterInformerOptions,
  type WatchEventBatch,
  type WatchRestart,
  type InformerStats,
} from './cluster-informer.js';
export type { ActualObservation, ObjectError, ResourceKey } from '../observations.js';
