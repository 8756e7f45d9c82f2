/**
 * Building real Git repositories for tests, demos and benchmarks with the `git` CLI
 * (no shell, fixed identity, no hooks, no signing, no global/system GIT_* environment leaking in).
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A file's new content: text, bytes, a symbolic link, or null to delete the file. */
export type GitFileContent = string | Uint8Array | { symlink: string } | null;

export interface GitRepoOptions {
  /** Initial branch. Default 'main'. */
  branch?: string;
  /** Commit message of the first commit. */
  message?: string;
  /** Tag the first commit. */
  tag?: string;
}

export interface CommitOptions {
  message?: string;
  /** Commit on this branch, creating it from the current HEAD when absent (it stays checked out). */
  branch?: string;
  /** Tag the new commit (lightweight tag). */
  tag?: string;
}

const IDENTITY = [
  '-c',
  'user.name=hh-sync test',
  '-c',
  'user.email=hh-sync-test@example.invalid',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'tag.gpgsign=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.autocrlf=false',
  '-c',
  'init.templateDir=',
];

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_CONFIG_NOSYSTEM = '1';
  env.GIT_CONFIG_GLOBAL = '/dev/null';
  return env;
}

/** Run `git <args>` in `dir`; resolves to trimmed stdout. */
export function git(dir: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...IDENTITY, '-C', dir, ...args],
      { env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')} failed in ${dir}: ${stderr.trim() || err.message}`));
        else resolve(stdout.trim());
      },
    );
  });
}

/** Write (or delete) files in a work tree; paths are relative, '/'-separated. */
export async function writeFiles(dir: string, files: Record<string, GitFileContent>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(dir, ...rel.split('/'));
    if (!abs.startsWith(path.resolve(dir) + path.sep)) throw new Error(`file path ${rel} leaves ${dir}`);
    if (content === null) {
      await fs.rm(abs, { force: true, recursive: true });
      continue;
    }
    await fs.mkdir(path.dirname(abs), { recursive: true });
    await fs.rm(abs, { force: true });
    if (typeof content === 'object' && !(content instanceof Uint8Array)) await fs.symlink(content.symlink, abs);
    else await fs.writeFile(abs, content);
  }
}

/** `git init` a repository in `dir` (created if needed) with `files` as its first commit; returns the commit SHA. */
export async function createGitRepo(
  dir: string,
  files: Record<string, GitFileContent>,
  opts: GitRepoOptions = {},
): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', opts.branch ?? 'main');
  return commitFiles(dir, files, {
    message: opts.message ?? 'initial manifests',
    ...(opts.tag ? { tag: opts.tag } : {}),
  });
}

/** Apply `changes` (null deletes) and commit them all; returns the new commit SHA. */
export async function commitFiles(
  dir: string,
  changes: Record<string, GitFileContent>,
  opts: CommitOptions = {},
): Promise<string> {
  if (opts.branch) {
    const exists = await git(dir, 'rev-parse', '--verify', '--quiet', `refs/heads/${opts.branch}`).then(
      () => true,
      () => false,
    );
    await git(dir, 'checkout', '-q', ...(exists ? [opts.branch] : ['-b', opts.branch]));
  }
  await writeFiles(dir, changes);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '--allow-empty', '-m', opts.message ?? 'update manifests');
  if (opts.tag) await git(dir, 'tag', opts.tag);
  return git(dir, 'rev-parse', 'HEAD');
}
