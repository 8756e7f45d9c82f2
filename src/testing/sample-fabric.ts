/**
 * A realistic, deterministic Hedgehog fabric for the benchmark, the demo and tests: switches,
 * servers, connections of every type on real ports, VPCs, attachments, peerings and externals,
 * shaped after the real CRDs (../shared/hedgehog-crds) and the documentation's manifests.
 *
 * - `generateSampleFabric(opts)` — any size, from ~25 objects to hundreds of thousands
 *   (`targetObjects` scales the topology to an exact count).
 * - `demoFabric()` / `demoGitFabric()` — the demo's cluster and Git sides.
 * - `withServerDefaults(obj)` — what the cluster adds to a declared object.
 * - `toManifestFiles(objs)` — a Git repository layout of multi-document YAML files.
 */
import { buildFabric } from './sample-fabric-build.js';
import { type SampleFabricOptions, countPlan, resolvePlan } from './sample-fabric-plan.js';
import type { KubeObjectLike } from './sample-fabric-support.js';

export type { KubeObjectLike } from './sample-fabric-support.js';
export type { SampleFabricOptions } from './sample-fabric-plan.js';
export { withServerDefaults, type ServerDefaultsOptions } from './sample-fabric-defaults.js';
export { toManifestFiles, type ManifestFilesOptions } from './sample-fabric-manifests.js';
export { demoFabric, demoClusterFabric, demoGitFabric, type DemoGitDifferences } from './sample-fabric-demo.js';

/**
 * Generates the declared objects of a sample fabric (no server defaults; map them through
 * `withServerDefaults` for what a cluster would report). Names follow from the topology alone
 * (spine-01, leaf-01, server-001, leaf-01--mclag-domain--leaf-02 …) except VPCAttachment names,
 * which include the VPC and subnet the seed picked.
 */
export function generateSampleFabric(opts: SampleFabricOptions = {}): KubeObjectLike[] {
  return buildFabric(resolvePlan(opts));
}

/** Objects per kind `generateSampleFabric(opts)` returns, computed without building them. */
export function sampleFabricCounts(opts: SampleFabricOptions = {}): Record<string, number> {
  return countPlan(resolvePlan(opts));
}
