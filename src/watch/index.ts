/**
 * Continuous mode (`hh-sync watch`): informer-based actual-state sync, periodic desired-state sync, failover between
 * replicas through fabric leases, Prometheus metrics.
 */
export {
  startWatch,
  type WatchTarget,
  type WatchOptions,
  type WatchHandle,
  type WatchEvents,
  type ReleaseReason,
} from './watch-supervisor.js';
export { runWatchUntilSignal, type RunUntilSignalOptions } from './run-until-signal.js';
export type { LeasedFabricSyncOptions, AppliedWrite } from './leased-fabric-sync.js';
export { LOCK_NAMESPACE_WATCH } from './lease-backend.js';
export { LeaseLostError } from './watch-writer.js';
export { WatchMetrics } from './metrics.js';
