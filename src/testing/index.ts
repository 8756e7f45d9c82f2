/**
 * Test tools, public as `hedgehog-fabric-sync/testing`: the fake Kubernetes API, Git fixture helpers and the
 * sample fabric. An explicit list, so a change to it is deliberate (test/public-api.test.ts).
 */
export {
  FakeKubeApi,
  KubeStatusError,
  type FakeKubeApiOptions,
  type FakeKubeRequest,
  type Fault,
  type FaultMatch,
  type KubeObject,
  type KubeObjectMeta,
  type KubeStatus,
} from './fake-kube-api.js';
export {
  git,
  writeFiles,
  createGitRepo,
  commitFiles,
  type GitFileContent,
  type GitRepoOptions,
  type CommitOptions,
} from './git-repo.js';
export {
  generateSampleFabric,
  sampleFabricCounts,
  withServerDefaults,
  toManifestFiles,
  demoFabric,
  demoClusterFabric,
  demoGitFabric,
  type KubeObjectLike,
  type SampleFabricOptions,
  type ServerDefaultsOptions,
  type ManifestFilesOptions,
  type DemoGitDifferences,
} from './sample-fabric.js';
