export * from './desired-state-reader.js';
export { parseManifestFile, sha256Hex, DEFAULT_MAX_ALIAS_COUNT, type ParseManifestOptions, type ParsedManifestFile } from './manifest-parser.js';
export { DEFAULT_MAX_FILE_BYTES } from './source-files.js';
export { isRemoteRepository, defaultCacheDir } from './git-source.js';
export { stripUrlCredentials, type StrippedUrl } from './git-url.js';
