/**
 * The hand-over point between a source (Git commit, plain directory) and the reader:
 * a source reports each manifest file's bytes, or why it refused the file.
 */
export interface ManifestSink {
  /** A manifest file's content; `path` is relative to the repository root, '/'-separated. */
  file(path: string, bytes: Buffer): void;
  /** A file (or symlink, submodule, …) the source refused to read, with the reason. */
  refuse(path: string, reason: string): void;
}
