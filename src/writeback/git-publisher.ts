/**
 * Git plumbing for publishing commits to a fabric's repository without a work tree.
 *
 * Each repository gets a BARE clone of its own under `<cacheBase>/publish/<hash>`, never a user's checkout.
 * A commit is built from objects with a TEMPORARY INDEX FILE per call (GIT_INDEX_FILE), so no work tree exists
 * and two processes sharing one clone never touch each other's state; only the remote-tracking refs are
 * shared, and a fetch that meets another's ref lock is retried. Pushes are never forced: a remote that moved
 * answers 'non-fast-forward', and the caller fetches, re-checks and retries.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { catFileBatch, GitCommandError, redactUrl, runGit } from '../gitops/git-cli.js';
import { isRemoteRepository, localGitDir, parseLsTree } from '../gitops/git-source.js';

/** A publishing failure; its message never shows a credential of the repository URL. */
export class GitPublishError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(redactUrl(message), options);
    this.name = 'GitPublishError';
  }
}

export interface PublishClone {
  /** The bare clone's git directory. */
  gitDir: string;
  /** The repository as given (URL or absolute local path); may hold credentials: show it through redactUrl. */
  repository: string;
  /** Time limit of each network operation (fetch, ls-remote, push); git-cli's default when undefined. */
  timeoutMs?: number;
}

export interface GitIdentity {
  name: string;
  email: string;
}

export interface CommitInfo {
  commit: string;
  /** "Name <email>" of the author. */
  author: string;
  /** Author date, strict ISO 8601 with the author's offset. */
  date: string;
}

export type PushOutcome = { ok: true } | { ok: false; reason: 'non-fast-forward' | 'rejected'; message: string };

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
/** Attempts of a fetch that met another process's ref lock in the shared clone. */
const FETCH_ATTEMPTS = 5;
const LOCK_CONFLICT = /cannot lock ref|unable to create '[^']*\.lock'|unable to update local ref|packed-refs\.lock/i;
/** How many of the remote's "remote:" lines a rejection message keeps, and how long each may be. */
const MAX_REMOTE_LINES = 20;
const MAX_REMOTE_LINE_CHARS = 300;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The repository as the clone's origin: a URL as given, a local path made absolute (and checked to be a repository). */
async function originOf(repository: string): Promise<string> {
  if (repository === '' || repository.startsWith('-') || repository.includes('\0')) {
    throw new GitPublishError(`repository ${JSON.stringify(redactUrl(repository))} is not a Git URL or path`);
  }
  if (isRemoteRepository(repository)) return repository;
  const dir = path.resolve(repository);
  if ((await localGitDir(dir)) === null) throw new GitPublishError(`${dir} is not a Git repository`);
  return dir;
}

async function pathExists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

async function isBareRepository(dir: string): Promise<boolean> {
  const r = await runGit(['rev-parse', '--is-bare-repository'], { gitDir: dir, okExitCodes: [128] }).catch(() => null);
  return r?.exitCode === 0 && r.stdout.toString('utf8').trim() === 'true';
}

/**
 * The bare publishing clone of `repository` under `<cacheBase>/publish/<sha256 of the repository>[:16]`
 * (cacheBase default `.hh-sync`), made on first use. No network access: `fetchTip` fetches.
 * A new clone is made in a temporary sibling and renamed into place, so a concurrent first use or an
 * interruption never leaves a half-made clone.
 */
export async function openPublishClone(
  repository: string,
  opts: { cacheBase?: string; timeoutMs?: number } = {},
): Promise<PublishClone> {
  const origin = await originOf(repository);
  const hash = createHash('sha256').update(origin).digest('hex').slice(0, 16);
  const gitDir = path.resolve(opts.cacheBase ?? '.hh-sync', 'publish', hash);
  const clone: PublishClone = { gitDir, repository: origin, timeoutMs: opts.timeoutMs };
  if (await isBareRepository(gitDir)) {
    const current = await runGit(['config', '--get', 'remote.origin.url'], { gitDir, okExitCodes: [1] });
    if (current.stdout.toString('utf8').trim() !== origin) await setOrigin(gitDir, origin);
    return clone;
  }
  if (await pathExists(gitDir)) {
    throw new GitPublishError(`publish clone directory ${gitDir} exists but is not a bare Git repository; remove it`);
  }
  await fs.mkdir(path.dirname(gitDir), { recursive: true });
  const tmp = `${gitDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await runGit(['init', '--quiet', '--bare', '--template=', tmp]);
    await setOrigin(tmp, origin);
    await fs.rename(tmp, gitDir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    // Another process may have made the same clone first.
    if (!(await isBareRepository(gitDir))) {
      throw new GitPublishError(`cannot create the publish clone ${gitDir}: ${errorText(e)}`, { cause: e });
    }
  }
  return clone;
}

async function setOrigin(gitDir: string, origin: string): Promise<void> {
  await runGit(['config', 'remote.origin.url', origin], { gitDir });
  await runGit(['config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*'], { gitDir });
  // A background gc must not outlive the command that started it in a clone other processes share.
  await runGit(['config', 'gc.autoDetach', 'false'], { gitDir });
}

/**
 * A branch name as `git check-ref-format --branch` accepts it, taken literally: `@{-1}` and other
 * shorthands that git would expand are refused, as is a leading '-'.
 */
export async function checkBranchName(branch: string): Promise<string> {
  // eslint-disable-next-line no-control-regex -- control characters are what a branch name must not hold
  const ok = !branch.startsWith('-') && !/[\0-\x1f\x7f]/.test(branch) && branch.length <= 255;
  const r = ok ? await runGit(['check-ref-format', '--branch', branch], { okExitCodes: [1, 128] }) : null;
  if (!r || r.exitCode !== 0 || r.stdout.toString('utf8').trim() !== branch) {
    throw new GitPublishError(`branch name ${JSON.stringify(branch)} is not a valid Git branch name`);
  }
  return branch;
}

/** The remote's default branch (what its HEAD points at), asked with `ls-remote --symref`. */
async function remoteDefaultBranch(clone: PublishClone): Promise<string> {
  const r = await runGit(['ls-remote', '--symref', 'origin', 'HEAD'], {
    gitDir: clone.gitDir,
    network: { timeoutMs: clone.timeoutMs },
  });
  const m = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(r.stdout.toString('utf8'));
  if (!m) {
    throw new GitPublishError(
      `repository ${clone.repository} names no default branch (an empty repository?); give the branch to publish to`,
    );
  }
  return checkBranchName(m[1]!);
}

/** `git fetch` of every branch, retried with a short backoff when another process holds a ref lock. */
async function fetchAll(clone: PublishClone): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await runGit(['fetch', '--quiet', '--prune', '--no-tags', '--no-write-fetch-head', 'origin'], {
        gitDir: clone.gitDir,
        network: { timeoutMs: clone.timeoutMs },
      });
      return;
    } catch (e) {
      const lock = e instanceof GitCommandError && LOCK_CONFLICT.test(e.stderr);
      if (!lock || attempt >= FETCH_ATTEMPTS) throw e;
      const delayMs = 20 * 2 ** attempt + Math.floor(Math.random() * 20);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/**
 * Fetch the remote and return the tip of `branch` (null: the remote's default branch); `tip` is null when
 * the branch does not exist on the remote (a new branch for a pull request, or an empty repository).
 */
export async function fetchTip(
  clone: PublishClone,
  branch: string | null,
): Promise<{ branch: string; tip: string | null }> {
  try {
    const name = branch === null ? await remoteDefaultBranch(clone) : await checkBranchName(branch);
    await fetchAll(clone);
    return { branch: name, tip: await fetchedTip(clone, name) };
  } catch (e) {
    if (e instanceof GitPublishError) throw e;
    throw new GitPublishError(`cannot fetch repository ${clone.repository}: ${errorText(e)}`, { cause: e });
  }
}

/**
 * The tip of `branch` (a name checkBranchName accepted) as the last fetch saw it, without fetching again (one fetch brings every branch): null when the
 * remote has no such branch.
 */
export async function fetchedTip(clone: PublishClone, branch: string): Promise<string | null> {
  // `branch` went through checkBranchName (fetchTip's, or the caller's): one git process less per lookup.
  const r = await runGit(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`], {
    gitDir: clone.gitDir,
    okExitCodes: [1],
  });
  return r.exitCode === 0 ? r.stdout.toString('utf8').trim() : null;
}

function checkObjectId(id: string, what: string): string {
  if (!OBJECT_ID.test(id)) throw new GitPublishError(`${what} ${JSON.stringify(id)} is not a full commit id`);
  return id;
}

/**
 * Why a repository-relative file path is refused, or null: absolute, '.'/'..'/empty segments, NUL or other
 * control characters, a backslash (a separator on Windows), or a `.git` segment (git would ignore it silently).
 */
export function unsafeFilePathReason(p: string): string | null {
  if (p === '') return 'empty path';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
  if (p.includes('\\')) return 'backslash in path';
  // eslint-disable-next-line no-control-regex -- NUL, newline and other control characters in a file name
  if (/[\0-\x1f\x7f]/.test(p)) return 'control character in path';
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return `path segment '${seg}' leaves the repository`;
    if (seg.toLowerCase() === '.git') return "path segment '.git' is Git's own directory";
  }
  return null;
}

function checkFilePath(p: string): string {
  const reason = unsafeFilePathReason(p);
  if (reason) throw new GitPublishError(`file path ${JSON.stringify(p)} is refused: ${reason}`);
  return p;
}

/** The bytes of the regular file at `filePath` in `commit`; null when there is none. Symlinks and folders are refused. */
export async function readFileAt(clone: PublishClone, commit: string, filePath: string): Promise<Buffer | null> {
  checkObjectId(commit, 'commit');
  checkFilePath(filePath);
  const listing = await runGit(['--literal-pathspecs', 'ls-tree', '-z', '--full-tree', commit, '--', filePath], {
    gitDir: clone.gitDir,
  });
  const entry = parseLsTree(listing.stdout).find((e) => e.path === filePath);
  if (!entry) return null;
  if (entry.type !== 'blob' || entry.mode === '120000') {
    const what = entry.mode === '120000' ? 'a symbolic link' : entry.type === 'tree' ? 'a folder' : 'a submodule';
    throw new GitPublishError(`${filePath} is ${what} at commit ${commit.slice(0, 12)}, not a file`);
  }
  return (await runGit(['cat-file', 'blob', entry.oid], { gitDir: clone.gitDir })).stdout;
}

/**
 * Several files of `commit` at once: path → content, null when absent. Two git processes whatever the count (one
 * listing, one `cat-file --batch`): starting a process per file is what a publish of many files spent its time on.
 * Folders, symbolic links and submodules are refused as readFileAt refuses them.
 */
export async function readFilesAt(
  clone: PublishClone,
  commit: string,
  filePaths: readonly string[],
): Promise<Map<string, Buffer | null>> {
  checkObjectId(commit, 'commit');
  const out = new Map<string, Buffer | null>(filePaths.map((p) => [checkFilePath(p), null]));
  if (filePaths.length === 0) return out;
  const listing = await runGit(['--literal-pathspecs', 'ls-tree', '-z', '--full-tree', commit, '--', ...filePaths], {
    gitDir: clone.gitDir,
  });
  const listed = parseLsTree(listing.stdout);
  const entries = listed.filter((e) => out.has(e.path));
  // Asked for `dir` and `dir/x.yaml` together, ls-tree descends into dir and lists its files, not dir itself.
  const folder = filePaths.find((p) => listed.some((e) => e.path.startsWith(`${p}/`)));
  if (folder !== undefined)
    throw new GitPublishError(`${folder} is a folder at commit ${commit.slice(0, 12)}, not a file`);
  for (const e of entries) {
    if (e.type !== 'blob' || e.mode === '120000') {
      const what = e.mode === '120000' ? 'a symbolic link' : e.type === 'tree' ? 'a folder' : 'a submodule';
      throw new GitPublishError(`${e.path} is ${what} at commit ${commit.slice(0, 12)}, not a file`);
    }
  }
  await catFileBatch(
    clone.gitDir,
    entries.map((e) => e.oid),
    (i, content) => out.set(entries[i]!.path, content),
  );
  return out;
}

/** Paths of the regular files under `underPath` ('' = everywhere) in `commit`, in Git's order (names not UTF-8 escaped). */
export async function listFilesAt(clone: PublishClone, commit: string, underPath: string): Promise<string[]> {
  checkObjectId(commit, 'commit');
  const under = underPath.replace(/\/+$/, '');
  const args = ['--literal-pathspecs', 'ls-tree', '-r', '-z', '--full-tree', commit];
  if (under !== '') args.push('--', checkFilePath(under));
  const listing = await runGit(args, { gitDir: clone.gitDir });
  return parseLsTree(listing.stdout)
    .filter((e) => e.type === 'blob' && e.mode !== '120000')
    .filter((e) => under === '' || e.path === under || e.path.startsWith(`${under}/`))
    .map((e) => e.path);
}

/** Parse "Name <email>" (as `git commit --author` takes it). */
export function parseIdentity(text: string): GitIdentity {
  const m = /^\s*([^<>]*?)\s*<([^<>\s]+)>\s*$/.exec(text);
  if (!m || m[1] === '') {
    throw new GitPublishError(`identity ${JSON.stringify(text)} is not of the form "Name <email@example.com>"`);
  }
  return checkIdentity({ name: m[1]!, email: m[2]! }, 'identity');
}

/** A name and email git would store as given: no angle brackets, no control characters, neither empty. */
function checkIdentity(id: GitIdentity, role: string): GitIdentity {
  // eslint-disable-next-line no-control-regex -- newlines or NUL would forge commit header lines
  const bad = (s: string) => s.trim() === '' || /[<>\0-\x1f\x7f]/.test(s);
  if (bad(id.name) || bad(id.email)) {
    throw new GitPublishError(`${role} ${JSON.stringify(`${id.name} <${id.email}>`)} is not a usable Git identity`);
  }
  return { name: id.name.trim(), email: id.email.trim() };
}

/** user.name and user.email from the Git configuration (system, global, the clone's); null when either is unset or empty. */
export async function defaultIdentity(clone: PublishClone): Promise<GitIdentity | null> {
  const get = async (key: string) =>
    (await runGit(['config', '--get', key], { gitDir: clone.gitDir, okExitCodes: [1] })).stdout.toString('utf8').trim();
  const [name, email] = await Promise.all([get('user.name'), get('user.email')]);
  if (name === '' || email === '') return null;
  return checkIdentity({ name, email }, 'the identity of the Git configuration (user.name, user.email)');
}

/** The author to publish as: the one given ("Name <email>"), else the Git configuration's; a clear error when neither. */
export async function resolveAuthor(
  clone: PublishClone,
  given: string | GitIdentity | undefined,
): Promise<GitIdentity> {
  if (typeof given === 'string') return parseIdentity(given);
  if (given) return checkIdentity(given, 'author');
  const configured = await defaultIdentity(clone);
  if (configured) return configured;
  throw new GitPublishError(
    'no author for the commit: give one ("Name <email>") or set user.name and user.email in the Git configuration',
  );
}

export interface CommitOptions {
  message: string;
  author: GitIdentity;
  /** Default: the author. */
  committer?: GitIdentity;
  /** Author and committer date; default: now (git's clock). */
  date?: Date;
}

/**
 * One commit on top of `parent` (null: a root commit) applying `changes` (path → new bytes, or null to delete),
 * built in a temporary index without a work tree. Content equal to the parent's is not a change: `changed`
 * lists only the paths that really differ. Nothing changed → `{ commit: parent, changed: [] }`, no new commit.
 */
export async function createCommit(
  clone: PublishClone,
  parent: string | null,
  changes: ReadonlyMap<string, Buffer | null>,
  o: CommitOptions,
): Promise<{ commit: string; changed: string[] }> {
  if (parent !== null) checkObjectId(parent, 'parent commit');
  for (const p of changes.keys()) checkFilePath(p);
  const author = checkIdentity(o.author, 'author');
  const committer = checkIdentity(o.committer ?? o.author, 'committer');
  if (o.message.trim() === '' || o.message.includes('\0')) {
    throw new GitPublishError('the commit message is empty or contains a NUL character');
  }
  if (o.date && Number.isNaN(o.date.getTime())) throw new GitPublishError('the commit date is not a valid date');
  const indexDir = await fs.mkdtemp(path.join(tmpdir(), 'hh-publish-index-'));
  try {
    const env = { GIT_INDEX_FILE: path.join(indexDir, 'index') };
    const tree = await buildTree(clone.gitDir, parent, changes, { env, scratchDir: indexDir });
    const changed = await changedPaths(clone.gitDir, parent, tree);
    // The index silently replaces a file by a folder of the same name (and the reverse): refuse instead.
    const collateral = changed.filter((p) => !changes.has(p));
    if (collateral.length > 0) {
      throw new GitPublishError(
        `the changes would also remove ${collateral.slice(0, 5).join(', ')} (a file and a folder of the same name)`,
      );
    }
    if (changed.length === 0) {
      if (parent !== null) return { commit: parent, changed: [] };
      throw new GitPublishError('nothing to commit: a first commit needs at least one file');
    }
    const commit = await commitTree(clone.gitDir, tree, parent, o.message, { author, committer, date: o.date });
    return { commit, changed };
  } finally {
    await fs.rm(indexDir, { recursive: true, force: true });
  }
}

/** The tree of `parent` with `changes` applied, written to the object store; returns its id. */
async function buildTree(
  gitDir: string,
  parent: string | null,
  changes: ReadonlyMap<string, Buffer | null>,
  work: { env: Record<string, string>; scratchDir: string },
): Promise<string> {
  const { env } = work;
  await runGit(parent === null ? ['read-tree', '--empty'] : ['read-tree', parent], { gitDir, env });
  const written = [...changes].filter((c): c is [string, Buffer] => c[1] !== null);
  const modes = await executableModes(
    gitDir,
    env,
    written.map(([p]) => p),
  );
  const blobs = await writeBlobs(
    gitDir,
    written.map(([, content]) => content),
    work.scratchDir,
  );
  let entries = '';
  written.forEach(([p], i) => (entries += `${modes.has(p) ? '100755' : '100644'} ${blobs[i]!}\t${p}\0`));
  // Mode 0 removes a path (`--force-remove` would need a work tree); a root commit has nothing to remove.
  if (parent !== null) {
    for (const [p, content] of changes) if (content === null) entries += `0 ${'0'.repeat(parent.length)}\t${p}\0`;
  }
  if (entries) await runGit(['update-index', '--add', '-z', '--index-info'], { gitDir, env, input: entries });
  return (await runGit(['write-tree'], { gitDir, env })).stdout.toString('utf8').trim();
}

/**
 * Store `contents` as blobs with ONE `git hash-object` process (however many files a publish writes), through
 * scratch files; returns their ids in order. --no-filters: the bytes are stored exactly as given (CRLF, BOM).
 */
async function writeBlobs(gitDir: string, contents: Buffer[], scratchDir: string): Promise<string[]> {
  if (contents.length === 0) return [];
  const files = contents.map((_, i) => path.join(scratchDir, `blob-${i}`));
  if (files.some((f) => f.includes('\n'))) throw new GitPublishError(`temporary directory ${scratchDir} has a newline`);
  await Promise.all(files.map((f, i) => fs.writeFile(f, contents[i]!)));
  const r = await runGit(['hash-object', '-w', '-t', 'blob', '--no-filters', '--stdin-paths'], {
    gitDir,
    input: files.join('\n') + '\n',
  });
  const ids = r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');
  if (ids.length !== contents.length || !ids.every((id) => OBJECT_ID.test(id))) {
    throw new GitPublishError(`git hash-object returned ${ids.length} object ids for ${contents.length} files`);
  }
  return ids;
}

/** Which of `paths` are executable files in the index: a rewrite keeps their mode. */
async function executableModes(gitDir: string, env: Record<string, string>, paths: string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const r = await runGit(['--literal-pathspecs', 'ls-files', '-s', '-z', '--', ...paths], { gitDir, env });
  const executable = new Set<string>();
  for (const record of r.stdout.toString('utf8').split('\0')) {
    const tab = record.indexOf('\t');
    if (tab >= 0 && record.startsWith('100755 ')) executable.add(record.slice(tab + 1));
  }
  return executable;
}

/** Paths whose content or mode differ between `parent`'s tree and `tree` (every path of `tree` for a root commit). */
async function changedPaths(gitDir: string, parent: string | null, tree: string): Promise<string[]> {
  const args =
    parent === null
      ? ['ls-tree', '-r', '-z', '--name-only', '--full-tree', tree]
      : ['diff-tree', '-r', '-z', '--name-only', '--no-renames', parent, tree];
  const r = await runGit(args, { gitDir });
  return r.stdout
    .toString('utf8')
    .split('\0')
    .filter((p) => p !== '');
}

async function commitTree(
  gitDir: string,
  tree: string,
  parent: string | null,
  message: string,
  who: { author: GitIdentity; committer: GitIdentity; date: Date | undefined },
): Promise<string> {
  const env: Record<string, string> = {
    GIT_AUTHOR_NAME: who.author.name,
    GIT_AUTHOR_EMAIL: who.author.email,
    GIT_COMMITTER_NAME: who.committer.name,
    GIT_COMMITTER_EMAIL: who.committer.email,
  };
  if (who.date) {
    // Git's internal date format: seconds since the epoch and a UTC offset.
    env.GIT_AUTHOR_DATE = env.GIT_COMMITTER_DATE = `${Math.floor(who.date.getTime() / 1000)} +0000`;
  }
  const args = ['commit-tree', tree, ...(parent === null ? [] : ['-p', parent]), '-F', '-'];
  // No signing: a gpg passphrase prompt would hang an unattended publish.
  const r = await runGit(args, { gitDir, env, input: message, config: ['commit.gpgSign=false'] });
  return r.stdout.toString('utf8').trim();
}

/** One line of a remote's message, safe to print: no terminal escapes or control characters, bounded. */
function remoteLine(line: string): string {
  // eslint-disable-next-line no-control-regex -- a hostile remote's escape sequences and control characters
  const plain = line.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\0-\x08\x0a-\x1f\x7f]/g, '');
  return plain.length > MAX_REMOTE_LINE_CHARS ? `${plain.slice(0, MAX_REMOTE_LINE_CHARS)}…` : plain;
}

/** The "remote:" lines of git's stderr (what a hook or a protected-branch rule printed), bounded. */
function remoteMessages(stderr: string): string[] {
  return stderr
    .split(/\r?\n|\r/)
    .filter((l) => l.startsWith('remote:'))
    .map((l) => remoteLine(l.slice('remote:'.length).trim()))
    .filter((l) => l !== '')
    .slice(0, MAX_REMOTE_LINES);
}

/**
 * Whether a refused push lost a race rather than broke a rule: git's own non-fast-forward answers, or the
 * remote finding the branch at another commit than the one it checked while it was taking the push (two
 * pushes at the same moment: "cannot lock ref … is at X but expected Y"). Either way: fetch and retry.
 */
function movedMeanwhile(summary: string, remote: string[]): boolean {
  if (/^\[rejected\] \((?:non-fast-forward|fetch first)\)$/.test(summary)) return true;
  if (!summary.startsWith('[remote rejected]')) return false;
  const raced = /cannot lock ref .*but expected|incorrect old value provided/;
  return raced.test(summary) || (summary.includes('(failed to update ref)') && remote.some((l) => raced.test(l)));
}

/**
 * `git push --porcelain origin <commit>:refs/heads/<branch>`, never forced. A remote that moved answers
 * 'non-fast-forward' (fetch, re-check, retry); a refusal by the remote (hook, protected branch) 'rejected'
 * with its reason and "remote:" lines. Failing to reach the remote at all is an error.
 */
export async function pushCommit(
  clone: PublishClone,
  commit: string,
  branch: string,
  o: { timeoutMs?: number } = {},
): Promise<PushOutcome> {
  checkObjectId(commit, 'commit');
  await checkBranchName(branch);
  const ref = `refs/heads/${branch}`;
  let result;
  try {
    result = await runGit(['push', '--porcelain', '--no-follow-tags', 'origin', `${commit}:${ref}`], {
      gitDir: clone.gitDir,
      okExitCodes: [1],
      config: ['push.gpgSign=false'],
      network: { timeoutMs: o.timeoutMs ?? clone.timeoutMs },
    });
  } catch (e) {
    throw new GitPublishError(`cannot push to ${branch} of ${clone.repository}: ${errorText(e)}`, { cause: e });
  }
  const outcome = pushOutcomeOf(result.stdout.toString('utf8'), result.stderr, result.exitCode, branch);
  if (outcome) return outcome;
  const detail = result.stderr.split('\n').slice(-3).join(' ').trim() || 'no status from git push';
  throw new GitPublishError(`cannot push to ${branch} of ${clone.repository}: ${remoteLine(detail)}`);
}

/**
 * What `git push --porcelain` said about `refs/heads/<branch>`: its status line ("<flag>\t<from>:<to>\t<summary>")
 * and, for a refusal, the "remote:" lines of stderr. Null when git printed no status for the branch.
 */
export function pushOutcomeOf(porcelain: string, stderr: string, exitCode: number, branch: string): PushOutcome | null {
  const ref = `refs/heads/${branch}`;
  const status = porcelain
    .split('\n')
    .map((l) => l.split('\t'))
    .find((f) => f.length >= 3 && f[1]?.endsWith(`:${ref}`));
  if (!status) return null;
  if (status[0] !== '!') return exitCode === 0 ? { ok: true } : null;
  const summary = remoteLine(status[2] ?? '');
  const remote = remoteMessages(stderr);
  if (movedMeanwhile(summary, remote)) {
    return { ok: false, reason: 'non-fast-forward', message: redactUrl(`${branch} moved on the remote: ${summary}`) };
  }
  const message = [`the remote refused the push to ${branch}: ${summary}`, ...remote.map((l) => `remote: ${l}`)];
  return { ok: false, reason: 'rejected', message: redactUrl(message.join('\n')) };
}

const LOG_FORMAT = '--format=%H%x00%an <%ae>%x00%aI';

function parseLog(out: Buffer): CommitInfo[] {
  return out
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const [commit, author, date] = l.split('\0');
      return { commit: commit!, author: author!, date: date! };
    });
}

function gitDirOf(cloneOrGitDir: PublishClone | string): string {
  return typeof cloneOrGitDir === 'string' ? cloneOrGitDir : cloneOrGitDir.gitDir;
}

/** The newest commit at or before `commit` that touched `filePath` (to name who changed a file outside hh-sync). */
export async function lastCommitOf(
  cloneOrGitDir: PublishClone | string,
  commit: string,
  filePath: string,
): Promise<CommitInfo | null> {
  return (await lastCommitsOf(cloneOrGitDir, commit, [filePath])).get(filePath) ?? null;
}

/**
 * For each of `filePaths`, the newest commit at or before `commit` that touched it: ONE `git log` over those paths,
 * however many (a desired sync after a big outside change may ask for hundreds). Absent from the map: no commit
 * touched the path.
 */
export async function lastCommitsOf(
  cloneOrGitDir: PublishClone | string,
  commit: string,
  filePaths: readonly string[],
): Promise<Map<string, CommitInfo>> {
  checkObjectId(commit, 'commit');
  const wanted = new Set(filePaths.map(checkFilePath));
  const out = new Map<string, CommitInfo>();
  if (wanted.size === 0) return out;
  // A record per commit: \x01, then "sha\0author\0date", then the touched paths one per line (unquoted: paths with
  // control characters are refused above, so a newline always ends a path).
  const r = await runGit(
    ['--literal-pathspecs', 'log', '--format=%x01%H%x00%an <%ae>%x00%aI', '--name-only', commit, '--', ...wanted],
    { gitDir: gitDirOf(cloneOrGitDir), config: ['core.quotePath=false'] },
  );
  for (const record of r.stdout.toString('utf8').split('\x01')) {
    const [header = '', ...paths] = record.split('\n');
    const [sha, author, date] = header.split('\0');
    if (!sha || author === undefined || date === undefined) continue;
    for (const p of paths) if (wanted.has(p) && !out.has(p)) out.set(p, { commit: sha, author, date });
    if (out.size === wanted.size) break;
  }
  return out;
}

/** Commits reachable from `to` but not from `from`, newest first; only those touching `filePath` when given. */
export async function commitsBetween(
  cloneOrGitDir: PublishClone | string,
  from: string,
  to: string,
  filePath?: string,
): Promise<CommitInfo[]> {
  checkObjectId(from, 'commit');
  checkObjectId(to, 'commit');
  const args = ['--literal-pathspecs', 'log', LOG_FORMAT, `${from}..${to}`];
  if (filePath !== undefined) args.push('--', checkFilePath(filePath));
  return parseLog((await runGit(args, { gitDir: gitDirOf(cloneOrGitDir) })).stdout);
}
