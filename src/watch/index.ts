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
export { runWatchCommand, type WatchCommandOptions } from './watch-command.js';
export type { FabricWatchOptions, AppliedWrite } from './fabric-watch.js';
export { LOCK_NAMESPACE_WATCH } from './lease-backend.js';
export { LeaseLostError } from './watch-writer.js';
export { WatchMetrics } from './metrics.js';
