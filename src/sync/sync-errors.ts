/** Errors a sync run reports, and which of them are the cluster's fault. */
import { KubeConfigError } from '../kube/kube-config.js';
import { KubeAuthError, KubeRequestError } from '../kube/kube-errors.js';

/** Discovery found none of the fabric kinds: the cluster is unreachable, or has no Hedgehog CRDs. */
export class ClusterUnreachableError extends Error {
  constructor(reason: string) {
    super(`no fabric kind could be read from the cluster: ${reason}`);
    this.name = 'ClusterUnreachableError';
  }
}

export { FabricNotFoundError } from '../fabrics/fabric-not-found.js';

/** A failure to reach or read the cluster says something about the fabric's connection; a database failure does not. */
export function isClusterFault(err: unknown): boolean {
  return (
    err instanceof ClusterUnreachableError ||
    err instanceof KubeAuthError ||
    err instanceof KubeRequestError ||
    err instanceof KubeConfigError
  );
}
