/**
 * The Git source, public as `hedgehog-fabric-sync/gitops`: reading a fabric's desired state from a repository
 * (local or remote, at a ref, under a path) and parsing one manifest file. An explicit list, so a change to it
 * is deliberate (test/public-api.test.ts); the source's own helpers are imported from their modules.
 */
export {
  readDesiredState,
  resolveSourceRef,
  DesiredSourceError,
  MAX_OTHER_KIND_FILES,
  type GitSource,
  type DesiredReadOptions,
  type DesiredReadResult,
  type DesiredConflict,
} from './desired-state-reader.js';
export {
  parseManifestFile,
  DEFAULT_MAX_ALIAS_COUNT,
  type ParseManifestOptions,
  type ParsedManifestFile,
} from './manifest-parser.js';
export { DEFAULT_MAX_FILE_BYTES } from './source-files.js';
export { isRemoteRepository, defaultCacheDir } from './git-source.js';
export { stripUrlCredentials, type StrippedUrl } from './git-url.js';
export type { DesiredObservation, ObjectError, ResourceKey } from '../observations.js';
