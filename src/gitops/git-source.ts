/**
 * Desired state from a Git repository: resolve the ref to a commit and read the manifest files
 * OF THAT COMMIT (never the working tree, which may hold uncommitted edits), with one
 * `git ls-tree` and one `git cat-file --batch` process however many files there are.
 * Remote repositories are mirrored into a cache directory with `git clone --mirror` / `fetch`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { catFileBatch, redactUrl, runGit } from './git-cli.js';
import type { ManifestSink } from './manifest-sink.js';
import { show } from '../common/values.js';
import { DesiredSourceError } from './source-error.js';
import {
  comparePaths,
  decodePathBytes,
  isManifestPath,
  isUnder,
  NON_UTF8_NAME_REASON,
  unsafePathReason,
} from './source-files.js';

/** True for what the git CLI treats as a remote: scheme://… or scp-like user@host:path. */
export function isRemoteRepository(repository: string): boolean {
  // Git's own rule: a colon before any slash is scp-like ssh (`host:path`, also once a token user was
  // removed from `TOKEN@host:path`), except a drive letter (`C:`).
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repository) || /^[^/\s:]{2,}:/.test(repository);
}

/**
 * Cache directory of a remote repository: <base>/<hash of the URL>, base .hh-sync/git-cache by default.
 * One directory per URL: fabrics with different remotes never share (and re-point) one mirror.
 */
export function defaultCacheDir(repository: string, base = path.join('.hh-sync', 'git-cache')): string {
  const hash = createHash('sha256').update(repository).digest('hex').slice(0, 16);
  return path.resolve(base, hash);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function isBareRepository(dir: string): Promise<boolean> {
  try {
    const [head, objects, refs] = await Promise.all([
      fs.stat(path.join(dir, 'HEAD')),
      fs.stat(path.join(dir, 'objects')),
      fs.stat(path.join(dir, 'refs')),
    ]);
    return head.isFile() && objects.isDirectory() && refs.isDirectory();
  } catch {
    return false;
  }
}

/**
 * The git directory of a local path: `<dir>/.git` (a directory, or a gitfile of a worktree),
 * or `<dir>` itself when it is a bare repository; null for a plain directory.
 */
export async function localGitDir(dir: string): Promise<string | null> {
  const dotGit = path.join(dir, '.git');
  if (await exists(dotGit)) return dotGit;
  if (await isBareRepository(dir)) return dir;
  return null;
}

/**
 * Make sure a mirror of `url` exists in `cacheDir` and is up to date; returns its git directory.
 * A fresh clone goes to a temporary sibling and is renamed into place, so an interrupted clone
 * never leaves a half-made cache behind.
 */
export async function syncMirror(url: string, cacheDir: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const shown = redactUrl(url);
  const network = { timeoutMs: opts.timeoutMs };
  const dir = path.resolve(cacheDir);
  try {
    if (await isBareRepository(dir)) {
      const current = await runGit(['config', '--get', 'remote.origin.url'], { gitDir: dir, okExitCodes: [1] });
      if (current.stdout.toString('utf8').trim() !== url) {
        await runGit(['remote', 'set-url', 'origin', url], { gitDir: dir });
      }
      await runGit(['fetch', '--quiet', '--prune', '--prune-tags', '--force', 'origin'], { gitDir: dir, network });
      await followRemoteHead(dir, network);
      return dir;
    }
    if (await exists(dir)) {
      throw new DesiredSourceError(
        `cache directory ${dir} exists but is not a Git mirror; remove it or choose another cacheDir`,
      );
    }
    await fs.mkdir(path.dirname(dir), { recursive: true });
    const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await runGit(['clone', '--mirror', '--quiet', '--template=', '--', url, tmp], { network });
      await fs.rename(tmp, dir);
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      // Another process may have finished the same clone first.
      if (!(await isBareRepository(dir))) throw e;
    }
    return dir;
  } catch (e) {
    if (e instanceof DesiredSourceError) throw e;
    const msg = e instanceof Error ? e.message : typeof e === 'string' ? e : show(e);
    throw new DesiredSourceError(`cannot clone or fetch repository ${shown}: ${redactUrl(msg)}`, { cause: e });
  }
}

/** A mirror's HEAD follows the remote's default branch, which may change after the clone. */
async function followRemoteHead(gitDir: string, network: { timeoutMs?: number }): Promise<void> {
  const r = await runGit(['ls-remote', '--symref', 'origin', 'HEAD'], { gitDir, okExitCodes: [2], network });
  const m = /^ref: (refs\/heads\/\S+)\tHEAD$/m.exec(r.stdout.toString('utf8'));
  if (m) await runGit(['symbolic-ref', 'HEAD', m[1]!], { gitDir });
}

/** Resolve a branch, tag or commit (default: the repository's HEAD) to a commit SHA. */
export async function resolveCommit(
  gitDir: string,
  ref: string | null | undefined,
): Promise<{ commit: string; ref: string }> {
  const wanted = ref === undefined || ref === null || ref === '' ? null : ref;
  // eslint-disable-next-line no-control-regex -- control characters (NUL to US, DEL) are exactly what a ref must not contain
  if (wanted !== null && /[\0-\x1f\x7f]/.test(wanted)) {
    throw new DesiredSourceError(`ref ${JSON.stringify(wanted)} contains control characters`);
  }
  const r = await runGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${wanted ?? 'HEAD'}^{commit}`], {
    gitDir,
    okExitCodes: [1, 128],
  });
  const commit = r.stdout.toString('utf8').trim();
  if (r.exitCode === 128) {
    throw new DesiredSourceError(`${gitDir} is not a usable Git repository: ${r.stderr || 'git rev-parse failed'}`);
  }
  if (r.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(commit)) {
    if (wanted === null) throw new DesiredSourceError('repository has no commit at HEAD (empty repository?)');
    throw new DesiredSourceError(`ref '${wanted}' is not a branch, tag or commit of the repository`);
  }
  if (wanted !== null) return { commit, ref: wanted };
  // Default ref: name the branch HEAD points at, or 'HEAD' when detached.
  const head = await runGit(['symbolic-ref', '--quiet', '--short', 'HEAD'], { gitDir, okExitCodes: [1, 128] });
  const branch = head.exitCode === 0 ? head.stdout.toString('utf8').trim() : '';
  return { commit, ref: branch || 'HEAD' };
}

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  size: number | null;
  path: string;
  /** The path's bytes are not valid UTF-8: `path` shows them escaped (`\xff`), and the file is refused. */
  nameNotUtf8: boolean;
}

/**
 * `git ls-tree -z` output (with `-l`: sizes too) → entries. Paths are raw, never quoted, thanks to -z; one that is
 * not UTF-8 shows its invalid bytes escaped and is marked, never silently altered.
 */
export function parseLsTree(out: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let start = 0;
  while (start < out.length) {
    let end = out.indexOf(0, start);
    if (end < 0) end = out.length;
    const tab = out.indexOf(9, start);
    const recStart = start;
    start = end + 1;
    if (tab < 0 || tab > end) continue;
    const [mode, type, oid, size] = out.toString('latin1', recStart, tab).split(/ +/);
    // The path is raw bytes: decoded strictly, never lossily (see decodePathBytes).
    const name = decodePathBytes(out.subarray(tab + 1, end));
    entries.push({
      mode: mode!,
      type: type!,
      oid: oid!,
      size: size === '-' || size === undefined ? null : Number(size),
      path: name.path,
      nameNotUtf8: !name.valid,
    });
  }
  return entries;
}

/**
 * Report every manifest file of `commit` under `subPath` to the sink, refusing symlinks,
 * submodules, unsafe paths and files over `maxFileBytes` (judged by the tree's size, unread).
 */
export async function readGitTree(
  gitDir: string,
  commit: string,
  subPath: string,
  maxFileBytes: number,
  sink: ManifestSink,
): Promise<void> {
  const args = ['--literal-pathspecs', 'ls-tree', '-r', '-z', '-l', '--full-tree', commit];
  if (subPath) args.push('--', subPath);
  const listing = await runGit(args, { gitDir });
  const entries = parseLsTree(listing.stdout)
    .filter((e) => isUnder(e.path, subPath))
    .sort((a, b) => comparePaths(a.path, b.path));
  if (subPath && entries.length === 0) {
    throw new DesiredSourceError(`path '${subPath}' does not exist at commit ${commit.slice(0, 12)}`);
  }

  const wanted: TreeEntry[] = [];
  for (const e of entries) {
    const unsafe = unsafePathReason(e.path);
    if (unsafe) {
      sink.refuse(e.path, `refused: ${unsafe}`);
    } else if (e.mode === '120000') {
      sink.refuse(e.path, 'refused: symbolic link (symlinks are never followed; commit the file itself)');
    } else if (e.type === 'commit') {
      sink.refuse(e.path, 'refused: Git submodule (its files are not part of this repository)');
    } else if (e.type !== 'blob' || !isManifestPath(e.path)) {
      continue;
    } else if (e.nameNotUtf8) {
      sink.refuse(e.path, NON_UTF8_NAME_REASON);
    } else if (e.size !== null && e.size > maxFileBytes) {
      sink.refuse(e.path, `refused: file is ${e.size} bytes, over the limit of ${maxFileBytes} bytes`);
    } else {
      wanted.push(e);
    }
  }
  await catFileBatch(
    gitDir,
    wanted.map((e) => e.oid),
    (i, content) => {
      const e = wanted[i]!;
      if (content === null) sink.refuse(e.path, `object ${e.oid} is missing from the repository`);
      else if (content.length > maxFileBytes)
        sink.refuse(e.path, `refused: file is ${content.length} bytes, over the limit of ${maxFileBytes} bytes`);
      else sink.file(e.path, content);
    },
  );
}

/**
 * The git directory a source was read from, without fetching: the mirror of a remote repository, or a local
 * repository's; null for a plain directory (or a mirror not made yet).
 */
export async function gitDirOfSource(source: { repository: string; cacheDir?: string }): Promise<string | null> {
  if (isRemoteRepository(source.repository)) {
    const dir = path.resolve(source.cacheDir ?? defaultCacheDir(source.repository));
    return (await isBareRepository(dir)) ? dir : null;
  }
  return localGitDir(path.resolve(source.repository));
}
