/** Spawning watch replicas (test/helpers/watch-replica.mjs) and following their JSON-lines output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = path.join(ROOT, 'test/helpers/watch-replica.mjs');

export interface ReplicaLine {
  t: number;
  pid: number;
  event: string;
  fabric?: string;
  [k: string]: unknown;
}

export interface Replica {
  proc: ChildProcess;
  lines: ReplicaLine[];
  stderr: () => string;
  /** Resolves with the first line (already seen or future) matching. */
  waitFor(pred: (l: ReplicaLine) => boolean, timeoutMs: number, what: string): Promise<ReplicaLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The replica runs the built package: fail early, with what to do, when dist/ is missing or older than src/watch. */
export function assertBuilt(): void {
  const dist = path.join(ROOT, 'dist/src/watch');
  const src = path.join(ROOT, 'src/watch');
  const hint = 'build the package first: `npx tsc -p tsconfig.build.json` (`npm test` does it)';
  if (!existsSync(path.join(dist, 'index.js'))) throw new Error(`dist/src/watch/index.js is missing; ${hint}`);
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
    const built = path.join(dist, f.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(path.join(src, f)).mtimeMs) {
      throw new Error(`dist/src/watch/${path.basename(built)} is older than src/watch/${f}; ${hint}`);
    }
  }
}

export function spawnReplica(config: object, env: NodeJS.ProcessEnv = {}): Replica {
  const proc = spawn(process.execPath, [SCRIPT, JSON.stringify(config)], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ReplicaLine[] = [];
  const waiters: { pred: (l: ReplicaLine) => boolean; resolve: (l: ReplicaLine) => void }[] = [];
  let buf = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let line: ReplicaLine;
      try {
        line = JSON.parse(text);
      } catch {
        continue; // not ours (a library printing)
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(pred, timeoutMs, what) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          resolve: (l: ReplicaLine) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(
            new Error(
              `replica ${proc.pid}: timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${err.slice(-2000)}; last lines: ${JSON.stringify(lines.slice(-5))}`,
            ),
          );
        }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}
