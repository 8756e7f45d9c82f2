/**
 * A process holding the embedded ledger that is frozen (SIGSTOP, a stuck event loop) accepts TCP on its port and
 * never answers: the other hh-sync processes must fail within the connection timeout (--connect-timeout /
 * connectTimeoutMs), not wait the 60 s reserved for a holder that is alive but busy. A busy holder (it answers its
 * liveness ping but our handshake waits in its queue) is still waited for, up to holderWaitMs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { cliEnv, runCli } from './helpers/cli.js';
import { waitFor } from './helpers/watch-support.js';
import { ifSetUp } from './helpers/if-set-up.js';

let dir: string;
let dataDir: string;
let holder: ChildProcess | undefined;

/**
 * A separate process holding `dataDir` as a watch does: the lock names its pid and port, and it answers the liveness
 * ping as pglite-socket does (an SSLRequest gets 'N'). No PGlite inside: the frozen process is what is tested.
 */
async function spawnHolder(): Promise<ChildProcess> {
  const script = `const net = require('node:net');
    const s = net.createServer((c) => c.on('data', () => c.write('N')));
    s.listen(0, '127.0.0.1', () => console.log('serving ' + s.address().port));`;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  await waitFor(() => /serving \d+/.test(out) || proc.exitCode !== null, 15_000, 'the holder to serve', 20);
  if (proc.exitCode !== null) throw new Error(`the holder exited ${proc.exitCode}: ${out}`);
  const port = Number(/serving (\d+)/.exec(out)![1]);
  mkdirSync(path.join(dataDir, 'db'), { recursive: true }); // a ledger exists here (the CLI checks before opening)
  writeFileSync(path.join(dataDir, 'hh-sync.lock'), JSON.stringify({ pid: proc.pid, port }), { mode: 0o600 });
  return proc;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'hh-holder-silent-'));
  dataDir = path.join(dir, 'pgdata');
  holder = await spawnHolder();
  holder.kill('SIGSTOP'); // frozen: its port still accepts (the kernel's backlog), nothing answers
}, 20_000);

afterAll(() => {
  // Never leave a stopped process behind: wake it, then end it.
  if (holder && holder.exitCode === null && holder.signalCode === null) {
    holder.kill('SIGCONT');
    holder.kill('SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a frozen holder of the embedded ledger', () => {
  test('the library fails within connectTimeoutMs, naming the process and its port', async () => {
    const t0 = Date.now();
    await expect(startEmbeddedPostgres({ dataDir, connectTimeoutMs: 1000 })).rejects.toThrow(
      new RegExp(
        `in use by process ${holder!.pid}, which serves it on 127\\.0\\.0\\.1:\\d+ but did not answer \\(no answer at all within 1 s, the connection timeout: is that process stopped or hung\\?\\)`,
      ),
    );
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3000);
  });

  test('hh-sync fabric list --connect-timeout 1 exits 3 within the timeout, not after 60 s', async () => {
    const r = await runCli(['fabric', 'list', '--data-dir', dataDir, '--connect-timeout', '1'], {
      env: cliEnv(),
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`in use by process ${holder!.pid}.*no answer at all within 1 s`));
    expect(r.stderr.split('\n').filter((l) => l.startsWith('hh-sync:'))).toHaveLength(1);
    expect(r.ms).toBeLessThan(10_000); // node start-up and the CLI's loading included
  }, 30_000);

  test('HH_SYNC_CONNECT_TIMEOUT governs it too', async () => {
    const r = await runCli(['fabric', 'list', '--data-dir', dataDir], {
      env: cliEnv({ HH_SYNC_CONNECT_TIMEOUT: '1.5' }),
      timeoutMs: 30_000,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/no answer at all within 1\.5 s/);
    expect(r.ms).toBeLessThan(10_000);
  }, 30_000);
});

describe('a holder that is alive but busy', () => {
  let busy: Server;
  const sockets: import('node:net').Socket[] = [];
  afterAll(() => {
    for (const s of sockets) s.destroy();
    ifSetUp(busy)?.close();
  });

  test('is waited for up to holderWaitMs, past the connection timeout, then named with what it answered', async () => {
    // Like pglite-socket behind another client's transaction: the SSLRequest gets its 'N' at once, the startup waits.
    busy = createServer((socket) => {
      sockets.push(socket);
      socket.once('data', () => socket.write('N'));
    });
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const held = path.join(dir, 'busy');
      mkdirSync(held, { recursive: true });
      writeFileSync(path.join(held, 'hh-sync.lock'), JSON.stringify({ pid: other.pid, port }), { mode: 0o600 });
      const t0 = Date.now();
      const opening = startEmbeddedPostgres({ dataDir: held, holderWaitMs: 2500, connectTimeoutMs: 300 });
      await expect(opening).rejects.toThrow(
        new RegExp(
          `in use by process ${other.pid}, which serves it on 127\\.0\\.0\\.1:${port} but did not answer \\(.+\\); waited 3 s$`,
        ),
      );
      await expect(opening).rejects.not.toThrow(/stopped or hung/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2400);
    } finally {
      other.kill('SIGKILL');
    }
  }, 20_000);
});
