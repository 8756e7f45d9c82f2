/**
 * The few Git CLI calls the desired-state source needs, run with execFile/spawn (never a shell),
 * with an environment that cannot redirect them to another repository, prompt for credentials,
 * or run anything from the repository (hooks, fsmonitor).
 */
import { spawn } from 'node:child_process';
import { maskUrlCredentials } from './git-url.js';

/** Options placed before every git sub-command. */
const SAFE_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'protocol.ext.allow=never',
  '-c',
  'advice.detachedHead=false',
];

/** Git sub-process failure, carrying git's own stderr (credentials in URLs already redacted). */
export class GitCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitCommandError';
  }
}

/**
 * The environment of git sub-processes: the caller's, minus every GIT_* variable (GIT_DIR,
 * GIT_WORK_TREE, GIT_CONFIG_* … would silently point git elsewhere), with prompts disabled.
 */
function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_ASKPASS = '';
  env.SSH_ASKPASS = '';
  env.LC_ALL = 'C';
  return env;
}

/**
 * Mask the credentials of every URL in `text` (git's messages) by the one rule of git-url.ts, so a
 * message never shows what `fabric list` would not.
 */
export function redactUrl(text: string): string {
  return maskUrlCredentials(text);
}

/** Default time limit of one git network operation (clone, fetch, ls-remote). */
export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
/** The longest delay setTimeout honours; beyond it Node fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
/** How much of a git command's stderr is kept for its error message. */
const MAX_STDERR_BYTES = 64 * 1024;

/**
 * Git's own credential sources (credential helpers, the SSH agent) always apply. HH_SYNC_GIT_TOKEN adds
 * a credential helper that answers with the token: the helper's text names the environment variable,
 * never the token, so the token appears neither in `ps` nor in any message.
 */
function tokenHelperConfig(): string[] {
  if (!process.env.HH_SYNC_GIT_TOKEN) return [];
  return [
    '-c',
    'credential.helper=!f() { test "$1" = get || exit 0; echo "username=${HH_SYNC_GIT_USERNAME:-x-access-token}"; echo "password=$HH_SYNC_GIT_TOKEN"; }; f',
  ];
}

/** Git processes of network operations still running: killed with their process group if this process exits. */
const liveNetworkGroups = new Set<number>();
let exitHookInstalled = false;
function trackNetworkGroup(pid: number): void {
  liveNetworkGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const g of liveNetworkGroups) killGroup(g);
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL'); // git and its helpers (git-remote-https, ssh) together
  } catch {
    // already gone
  }
}

export interface RunGitOptions {
  /** The repository's git directory (`--git-dir`): no discovery, no work tree. */
  gitDir?: string;
  /** Extra `-c key=value` settings, e.g. protocol.file.allow for a local clone. */
  config?: string[];
  maxBuffer?: number;
  /** Git returning this exit code is not an error (e.g. rev-parse --verify -q → 1 when absent). */
  okExitCodes?: number[];
  /**
   * A network operation (clone, fetch, ls-remote): limited to `timeoutMs` (default 120 s), after which
   * git and every helper it started are killed; a stalled transfer is also abandoned by git itself
   * (GIT_HTTP_LOW_SPEED_LIMIT/TIME). HH_SYNC_GIT_TOKEN, when set, is offered to the remote.
   */
  network?: { timeoutMs?: number };
  /** Bytes written to git's standard input (e.g. `hash-object --stdin`); without it git reads an empty input. */
  input?: Buffer | string;
  /**
   * Variables set for this command only, after the GIT_* ones of the caller were removed: a temporary index
   * (GIT_INDEX_FILE) or an identity (GIT_AUTHOR_NAME …) the caller chose, never one inherited by accident.
   */
  env?: Readonly<Record<string, string>>;
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

/** Run one git command and collect its output. */
export function runGit(args: string[], opts: RunGitOptions = {}): Promise<GitResult> {
  const full = [...SAFE_CONFIG];
  for (const c of opts.config ?? []) full.push('-c', c);
  if (opts.network) full.push(...tokenHelperConfig());
  if (opts.gitDir) full.push(`--git-dir=${opts.gitDir}`);
  full.push(...args);
  // setTimeout fires at once past 2^31-1 ms (~24.8 days): a huge limit must stay a limit, not become "no time at all".
  const timeoutMs = opts.network ? Math.min(opts.network.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS, MAX_TIMER_MS) : 0;
  const env = { ...gitEnv(), ...opts.env };
  if (opts.network) {
    env.GIT_HTTP_LOW_SPEED_LIMIT = '1000';
    env.GIT_HTTP_LOW_SPEED_TIME = String(Math.max(1, Math.min(60, Math.ceil(timeoutMs / 1000))));
  }
  return new Promise((resolve, reject) => {
    const maxBuffer = opts.maxBuffer ?? 256 * 1024 * 1024;
    // A network operation leads its own process group, so a timeout kills its helpers (git-remote-https, ssh) too.
    const child = spawn('git', full, {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
      detached: !!opts.network,
    });
    // Without input git reads an empty stdin. It may exit before reading all of it (EPIPE): its exit status tells.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let errBytes = 0;
    let outBytes = 0;
    let failure: 'timeout' | 'maxBuffer' | null = null;
    const stop = (why: 'timeout' | 'maxBuffer') => {
      failure ??= why;
      if (opts.network && child.pid) killGroup(child.pid);
      else child.kill('SIGKILL');
    };
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > maxBuffer) stop('maxBuffer');
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      // Only the start of stderr is kept for the message: a chatty or hostile remote cannot fill memory.
      if (errBytes < MAX_STDERR_BYTES) err.push(d);
      errBytes += d.length;
    });
    const timer = opts.network ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
    if (opts.network && child.pid) trackNetworkGroup(child.pid);
    const done = () => {
      if (timer) clearTimeout(timer);
      if (child.pid) liveNetworkGroups.delete(child.pid);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(
        new GitCommandError(
          e.code === 'ENOENT' ? 'the git executable was not found on PATH' : `git could not be started: ${e.message}`,
          null,
          '',
        ),
      );
    });
    child.on('close', (code) => {
      done();
      const stderr = redactUrl(Buffer.concat(err).toString('utf8').trim());
      const stdout = Buffer.concat(out);
      if (failure === 'timeout') {
        const what = `git ${args[0]}`;
        reject(
          new GitCommandError(
            `${what} timed out after ${timeoutMs / 1000} s (the remote did not answer in time; the limit is HH_SYNC_GIT_TIMEOUT seconds)`,
            null,
            stderr,
          ),
        );
      } else if (failure === 'maxBuffer') {
        reject(new GitCommandError(`git ${args[0]} printed more than ${maxBuffer} bytes`, null, stderr));
      } else if (code === 0 || (code !== null && opts.okExitCodes?.includes(code))) {
        resolve({ stdout, stderr, exitCode: code });
      } else {
        const what = redactUrl(`git ${args.slice(0, 2).join(' ')}`);
        reject(
          new GitCommandError(
            `${what} failed${code !== null ? ` (exit ${code})` : ' (killed)'}: ${stderr || 'no message'}`,
            code,
            stderr,
          ),
        );
      }
    });
  });
}

/**
 * Stream the contents of many blobs through ONE `git cat-file --batch` process.
 * `onBlob` is called in request order; a missing object is reported with `content: null`.
 */
export function catFileBatch(
  gitDir: string,
  objectIds: readonly string[],
  onBlob: (index: number, content: Buffer | null) => void,
): Promise<void> {
  if (objectIds.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...SAFE_CONFIG, `--git-dir=${gitDir}`, 'cat-file', '--batch'], {
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    let stderr = '';
    let failed: Error | null = null;
    const fail = (e: Error) => {
      if (failed) return;
      failed = e;
      child.kill();
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 10_000) stderr += d;
    });

    const parser = new CatFileBatchParser(onBlob);
    child.stdout.on('data', (data: Buffer) => {
      if (failed) return;
      try {
        parser.push(data);
      } catch (e) {
        fail(e as Error);
      }
    });
    child.on('error', (e) => fail(e));
    child.on('close', (code) => {
      if (failed) {
        reject(failed);
        return;
      }
      if (code !== 0) {
        reject(
          new GitCommandError(`git cat-file --batch failed (exit ${code}): ${redactUrl(stderr.trim())}`, code, stderr),
        );
        return;
      }
      if (parser.count !== objectIds.length) {
        reject(new Error(`git cat-file --batch returned ${parser.count} of ${objectIds.length} objects`));
        return;
      }
      resolve();
    });
    child.stdin.on('error', (e) => fail(e));
    child.stdin.end(objectIds.join('\n') + '\n');
  });
}

/**
 * Incremental parser of `git cat-file --batch` output, "<oid> <type> <size>\n<content>\n" or
 * "<oid> missing\n" per requested object, fed the stdout chunks as they come.
 */
class CatFileBatchParser {
  /** Objects reported so far (the index of the next one). */
  count = 0;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The content size of the object whose header was read, while its content is awaited. */
  private want: { size: number } | null = null;

  constructor(private readonly onBlob: (index: number, content: Buffer | null) => void) {}

  /** Reports every object complete in what has arrived; throws on output that is not the batch format. */
  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.want) {
        if (this.buffered < this.want.size + 1) return;
        const content = Buffer.from(this.take(this.want.size + 1).subarray(0, this.want.size));
        this.want = null;
        this.onBlob(this.count++, content);
        continue;
      }
      const nl = this.findNewline();
      if (nl < 0) return;
      const header = this.take(nl + 1).toString('utf8', 0, nl);
      const parts = header.split(' ');
      if (parts[1] === 'missing' || parts[1] === 'ambiguous') {
        this.onBlob(this.count++, null);
        continue;
      }
      const size = Number(parts[2]);
      if (parts.length !== 3 || !Number.isSafeInteger(size))
        throw new Error(`unexpected git cat-file output: ${header.slice(0, 200)}`);
      this.want = { size };
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return head;
  }

  private findNewline(): number {
    let offset = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(0x0a);
      if (i >= 0) return offset + i;
      offset += c.length;
    }
    return -1;
  }
}
