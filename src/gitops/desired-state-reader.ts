/**
 * The desired-state source: a Git repository (local path or clonable URL) at a ref, or a plain
 * directory, read into normalized observations plus the problems found on the way.
 *
 * Data flows one way: files → parseManifestFile → observations/errors/conflicts. No database
 * code here; the sync service hands the result to the writer.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { keyOf, type DesiredObservation, type ObjectError } from '../observations.js';
import { DEFAULT_GIT_TIMEOUT_MS, GitCommandError, redactUrl } from './git-cli.js';
import {
  defaultCacheDir,
  isRemoteRepository,
  localGitDir,
  readGitTree,
  resolveCommit,
  syncMirror,
} from './git-source.js';
import { readDirectoryTree } from './directory-source.js';
import { DEFAULT_MAX_ALIAS_COUNT, parseManifestFile, type ParsedManifestFile } from './manifest-parser.js';
import type { ManifestSink } from './manifest-sink.js';
import { DesiredSourceError } from './source-error.js';
import { comparePaths, DEFAULT_MAX_FILE_BYTES, normalizeSubPath } from './source-files.js';

/** Files listed per kind of other documents in a run's report (`-v`); the counts stay complete. */
export const MAX_OTHER_KIND_FILES = 50;

export { DesiredSourceError } from './source-error.js';

export interface GitSource {
  /**
   * A local repository path (with a `.git`, or a bare repository), a plain directory (no `.git`:
   * no commit), or a URL the git CLI can clone (mirrored into `cacheDir`).
   */
  repository: string;
  /** Branch, tag or commit; default the repository's HEAD. Not allowed for a plain directory. */
  ref?: string | null;
  /** Sub-path of the repository holding the manifests (recursively); default the whole repository. */
  path?: string;
  /** Where a remote repository is mirrored; default .hh-sync/git-cache/<hash of the URL>. */
  cacheDir?: string;
}

export interface DesiredReadOptions {
  /** Files larger than this are refused unread. Default 5 MiB. */
  maxFileBytes?: number;
  /** YAML alias expansion limit per document. Default 100. */
  maxAliasCount?: number;
  /** Schema validator hook: returns the problems of a fabric object, [] when valid. */
  validate?: (obj: Record<string, unknown>) => string[];
  /**
   * Time limit of each git network operation (clone, fetch) of a remote repository; default
   * HH_SYNC_GIT_TIMEOUT (seconds) when set, else 120 s.
   */
  gitTimeoutMs?: number;
}

/** The git network time limit: the option, else HH_SYNC_GIT_TIMEOUT (seconds), else the default. */
export function gitTimeoutMs(opts: Pick<DesiredReadOptions, 'gitTimeoutMs'> = {}): number {
  if (opts.gitTimeoutMs !== undefined) {
    if (!(opts.gitTimeoutMs > 0))
      throw new DesiredSourceError(`gitTimeoutMs must be positive (got ${opts.gitTimeoutMs})`);
    return opts.gitTimeoutMs;
  }
  const env = process.env.HH_SYNC_GIT_TIMEOUT;
  if (env === undefined || env === '') return DEFAULT_GIT_TIMEOUT_MS;
  const seconds = Number(env);
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw new DesiredSourceError(`HH_SYNC_GIT_TIMEOUT must be a positive number of seconds (got '${env}')`);
  return seconds * 1000;
}

export interface DesiredConflict {
  kind: string;
  namespace: string;
  name: string;
  /** Every place the object is declared, in (file, line) order; the first one is the observation kept. */
  locations: { file: string; line: number }[];
}

/** The error entry of an object declared more than once: which declaration was kept (the first by file, line) and which were ignored. */
export function conflictError(c: DesiredConflict): ObjectError {
  const [kept, ...ignored] = c.locations.map((l) => `${l.file}:${l.line}`);
  return {
    kind: c.kind,
    namespace: c.namespace,
    name: c.name,
    file: c.locations[1]?.file,
    line: c.locations[1]?.line,
    reason: `declared more than once: kept ${kept}, ignored ${ignored.join(', ')}`,
  };
}

export interface DesiredReadResult {
  /** The resolved commit SHA (null for a plain directory). */
  commit: string | null;
  /** The ref read: as requested, or the branch HEAD points at ('HEAD' when detached); null for a directory. */
  ref: string | null;
  /** One per (kind, namespace, name): for duplicates the first by (file, line). */
  observations: DesiredObservation[];
  /** Objects declared in two or more places. */
  conflicts: DesiredConflict[];
  /** Per-file and per-document problems, in (file, line) order. */
  errors: ObjectError[];
  /** Non-fabric kinds seen, "apiVersion/Kind" → count (not errors). */
  otherKinds: Record<string, number>;
  /** The files holding each of `otherKinds`, "apiVersion/Kind" → paths in path order. */
  otherKindFiles: Record<string, string[]>;
  /** Manifest files read and parsed (refused files not included). */
  filesRead: number;
  /** Objects parsed (non-empty YAML documents, a List counting as its items), broken ones included. */
  documentsRead: number;
  /**
   * What was refused, each counted once: a document or List item with problems (however many), a
   * file refused whole (unreadable, too large, not UTF-8, a symlink, …), and each ignored duplicate
   * declaration. The desired run's `counts.failed`.
   */
  refused: number;
}

/** Collects each file's parse result; the aggregate is built once every file is in. */
class Collector implements ManifestSink {
  private readonly parsed: { path: string; result: ParsedManifestFile }[] = [];
  private readonly refused: ObjectError[] = [];

  constructor(private readonly opts: DesiredReadOptions) {}

  file(p: string, bytes: Buffer): void {
    const result = parseManifestFile(p, bytes, {
      maxAliasCount: this.opts.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT,
      ...(this.opts.validate ? { validate: this.opts.validate } : {}),
    });
    this.parsed.push({ path: p, result });
  }

  refuse(p: string, reason: string): void {
    this.refused.push({ file: p, reason });
  }

  finish(commit: string | null, ref: string | null): DesiredReadResult {
    this.parsed.sort((a, b) => comparePaths(a.path, b.path));
    const all: DesiredObservation[] = [];
    const errors: ObjectError[] = [...this.refused];
    const otherKinds: Record<string, number> = {};
    const otherKindFiles: Record<string, string[]> = {};
    let documentsRead = 0;
    let refused = this.refused.length;
    for (const { path: file, result } of this.parsed) {
      for (const k of Object.keys(result.otherKinds)) {
        // Kept in every run record: a repository of thousands of ConfigMaps must not write thousands of paths each run.
        const files = (otherKindFiles[k] ??= []);
        if (files.length < MAX_OTHER_KIND_FILES) files.push(file);
      }
      all.push(...result.observations);
      errors.push(...result.errors);
      documentsRead += result.documents;
      refused += result.refused;
      for (const [k, n] of Object.entries(result.otherKinds)) otherKinds[k] = (otherKinds[k] ?? 0) + n;
    }
    // Files are in path order and documents in line order, so the first seen is the one kept.
    const byKey = new Map<string, DesiredObservation[]>();
    for (const o of all) {
      const k = keyOf(o);
      const list = byKey.get(k);
      if (list) list.push(o);
      else byKey.set(k, [o]);
    }
    const observations: DesiredObservation[] = [];
    const conflicts: DesiredConflict[] = [];
    for (const list of byKey.values()) {
      const first = list[0]!;
      observations.push(first);
      if (list.length > 1) {
        refused += list.length - 1;
        conflicts.push({
          kind: first.kind,
          namespace: first.namespace,
          name: first.name,
          locations: list.map((o) => ({ file: o.filePath, line: o.line })),
        });
      }
    }
    errors.sort((a, b) => comparePaths(a.file ?? '', b.file ?? '') || (a.line ?? 0) - (b.line ?? 0));
    return {
      commit,
      ref,
      observations,
      conflicts,
      errors,
      otherKinds,
      otherKindFiles,
      filesRead: this.parsed.length,
      documentsRead,
      refused,
    };
  }
}

/**
 * The git directory of `source` (a remote one mirrored and fetched first), or null for a plain
 * directory, which cannot have a ref.
 */
async function openSource(source: GitSource, opts: Pick<DesiredReadOptions, 'gitTimeoutMs'>): Promise<string | null> {
  if (isRemoteRepository(source.repository)) {
    return syncMirror(source.repository, source.cacheDir ?? defaultCacheDir(source.repository), {
      timeoutMs: gitTimeoutMs(opts),
    });
  }
  const dir = path.resolve(source.repository);
  let st;
  try {
    st = await fs.stat(dir);
  } catch (e) {
    throw new DesiredSourceError(`repository ${dir} does not exist`, { cause: e });
  }
  if (!st.isDirectory()) throw new DesiredSourceError(`repository ${dir} is not a directory`);
  const gitDir = await localGitDir(dir);
  if (gitDir === null && source.ref) {
    throw new DesiredSourceError(`ref '${source.ref}' given, but ${dir} is a plain directory, not a Git repository`);
  }
  return gitDir;
}

/**
 * Check that `source.ref` resolves to a commit (a remote repository is fetched first); throws
 * {@link DesiredSourceError} saying why not. Nothing is read beyond the ref.
 */
export async function resolveSourceRef(
  source: GitSource,
  opts: Pick<DesiredReadOptions, 'gitTimeoutMs'> = {},
): Promise<{ commit: string | null; ref: string | null }> {
  const gitDir = await openSource(source, opts);
  if (gitDir === null) return { commit: null, ref: null };
  try {
    return await resolveCommit(gitDir, source.ref);
  } catch (e) {
    if (e instanceof GitCommandError)
      throw new DesiredSourceError(`cannot read repository ${redactUrl(source.repository)}: ${e.message}`, {
        cause: e,
      });
    throw e;
  }
}

/**
 * Read the desired state of `source`. Problems with single files or documents are returned as
 * `errors` (everything else still lands); a source that cannot be read at all throws
 * {@link DesiredSourceError}.
 */
export async function readDesiredState(source: GitSource, opts: DesiredReadOptions = {}): Promise<DesiredReadResult> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!(maxFileBytes > 0)) throw new DesiredSourceError(`maxFileBytes must be positive (got ${maxFileBytes})`);
  if (!source.repository) throw new DesiredSourceError('no repository given');
  const subPath = normalizeSubPath(source.path);
  const collector = new Collector(opts);

  const gitDir = await openSource(source, opts);
  if (gitDir === null) {
    await readDirectoryTree(path.resolve(source.repository), subPath, maxFileBytes, collector);
    return collector.finish(null, null);
  }

  try {
    const { commit, ref } = await resolveCommit(gitDir, source.ref);
    await readGitTree(gitDir, commit, subPath, maxFileBytes, collector);
    return collector.finish(commit, ref);
  } catch (e) {
    if (e instanceof GitCommandError)
      throw new DesiredSourceError(`cannot read repository ${redactUrl(source.repository)}: ${e.message}`, {
        cause: e,
      });
    throw e;
  }
}

/**
 * Read a plain directory of manifests as it is on disk (uncommitted work included), even when it is a Git checkout:
 * `hh-sync diff --local`. The same parser, limits and validation as readDesiredState; no commit, no ref.
 */
export async function readDesiredDirectory(dir: string, opts: DesiredReadOptions = {}): Promise<DesiredReadResult> {
  const maxFileBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!(maxFileBytes > 0)) throw new DesiredSourceError(`maxFileBytes must be positive (got ${maxFileBytes})`);
  const collector = new Collector(opts);
  await readDirectoryTree(path.resolve(dir), '', maxFileBytes, collector);
  return collector.finish(null, null);
}
