/**
 * While `hh-sync watch` runs on the embedded ledger, the other commands work: the watch process serves its
 * database on a loopback port recorded in the data directory's lock (mode 0600), and every other hh-sync process
 * that finds a live holder connects through it instead of failing with "in use by process N". A second watch is
 * refused with a clear line (embedded leases cannot span processes); a dead holder's lock is taken over.
 * The holders are real processes; the commands using them run in this process (another process all the same),
 * on a ledger whose fabric the file's beforeAll adds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer, type Socket } from 'node:net';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { FakeKubeApi, generateSampleFabric } from '../src/testing/index.js';
import { BIN, cliEnv } from './helpers/cli.js';
import { hh } from './helpers/cli-in-process.js';
import { waitFor } from './helpers/watch-support.js';
import { ifSetUp } from './helpers/if-set-up.js';

let api: FakeKubeApi;
let dir: string;
let dataDir: string;
let kubeconfig: string;
const holders: ChildProcess[] = [];

beforeAll(async () => {
  api = new FakeKubeApi();
  api.load(generateSampleFabric({ targetObjects: 30, seed: 11 }));
  await api.start();
  dir = mkdtempSync(path.join(tmpdir(), 'hh-embedded-shared-'));
  dataDir = path.join(dir, 'pgdata');
  kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml(), { mode: 0o600 });
  const add = await hh(['fabric', 'add', 'dc1', '--kubeconfig', kubeconfig, '--data-dir', dataDir]);
  expect(add.stderr).not.toMatch(/error/i);
  expect(add.code).toBe(0);
}, 60_000);

afterAll(async () => {
  for (const h of holders) if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  await ifSetUp(api)?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `hh-sync watch dc1` on the embedded ledger, resolved once it says it is watching. */
async function startWatchProcess(): Promise<{
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}> {
  const proc = spawn(process.execPath, [BIN, 'watch', 'dc1', '--data-dir', dataDir], {
    env: cliEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  holders.push(proc);
  let output = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  await waitFor(() => /watching dc1/.test(output) || proc.exitCode !== null, 30_000, 'the watch to start', 50);
  if (proc.exitCode !== null) throw new Error(`the watch exited ${proc.exitCode}: ${output}`);
  return { proc, output: () => output, exited };
}

test('fabric list and drift work while the watch holds the embedded ledger; a second watch is refused clearly', async () => {
  const watch = await startWatchProcess();
  const lockPath = path.join(dataDir, 'hh-sync.lock');
  expect(statSync(lockPath).mode & 0o777).toBe(0o600);
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  expect(lock.pid).toBe(watch.proc.pid);
  expect(Number.isInteger(lock.port)).toBe(true);

  const list = await hh(['fabric', 'list', '--data-dir', dataDir]);
  expect(list.stderr).not.toMatch(/in use by process/);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/dc1/);

  // The watch writes the cluster's objects meanwhile; drift reads them through the same port.
  const drift = await hh(['drift', 'dc1', '--json', '--data-dir', dataDir]);
  expect(drift.stderr).not.toMatch(/in use by process/);
  expect(drift.code).toBe(0);
  expect(JSON.parse(drift.stdout).fabric).toBe('dc1');

  const second = await hh(['watch', 'dc1', '--data-dir', dataDir]);
  expect(second.code).toBe(3);
  expect(second.stderr).toMatch(new RegExp(`served by another hh-sync process \\(${watch.proc.pid}\\)`));
  expect(
    second.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('hh-sync:')).length,
  ).toBeLessThanOrEqual(2);

  watch.proc.kill('SIGTERM');
  expect(await watch.exited).toBe(0);
}, 60_000);

test("a dead holder's lock (port and all) is taken over: the next command opens the ledger itself", async () => {
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => gone.on('exit', r));
  writeFileSync(path.join(dataDir, 'hh-sync.lock'), JSON.stringify({ pid: gone.pid, port: 1 }), { mode: 0o600 });
  const list = await hh(['fabric', 'list', '--data-dir', dataDir]);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/dc1/);
}, 60_000);

test('the holder stops only after the processes using its database are done', async () => {
  const built = path.resolve('dist/src/db/embedded-postgres.js');
  const holder = await startEmbeddedPostgres({ dataDir });
  let stopping: Promise<void> | undefined;
  try {
    const script = `import { startEmbeddedPostgres } from ${JSON.stringify(built)}; import pg from 'pg';
      const e = await startEmbeddedPostgres({ dataDir: process.argv[1] });
      const c = new pg.Client({ connectionString: e.url }); await c.connect();
      console.log('joined ' + e.servedBy);
      await new Promise((r) => setTimeout(r, 1000));
      console.log('answer ' + (await c.query('SELECT 41 + 1 AS n')).rows[0].n);
      await c.end();`;
    const client = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    holders.push(client);
    let out = '';
    client.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    client.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => client.on('exit', (code) => r(code)));
    await waitFor(() => /joined/.test(out) || client.exitCode !== null, 20_000, 'the client to join', 20);
    expect(out).toMatch(new RegExp(`joined ${process.pid}`));
    stopping = holder.stop();
    expect(await exited).toBe(0);
    expect(out).toMatch(/answer 42/); // its query ran although the holder was stopping
    await stopping;
  } finally {
    // The test failed before asking the holder to stop (or while it was stopping): stop it all the same.
    await (stopping ?? holder.stop());
  }
}, 60_000);

describe('a live holder that does not answer: a bounded wait, then one line naming it', () => {
  let other: ChildProcess;
  beforeAll(() => {
    other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    holders.push(other);
  });
  afterAll(() => {
    other.kill('SIGKILL');
  });

  test('no port published (still starting, or an older hh-sync)', async () => {
    const held = path.join(dir, 'no-port');
    mkdirSync(held, { recursive: true });
    writeFileSync(path.join(held, 'hh-sync.lock'), String(other.pid), { mode: 0o600 });
    const t0 = Date.now();
    await expect(startEmbeddedPostgres({ dataDir: held, holderWaitMs: 500 })).rejects.toThrow(
      new RegExp(
        `^embedded database .*no-port is in use by process ${other.pid}, which does not serve it .*; waited 1 s$`,
      ),
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('a port that accepts but never answers', async () => {
    // Takes connections and says nothing. Its connections are ended by hand: a socket never read never sees its
    // peer leave, and one left open keeps Jest's worker from exiting.
    const accepted: Socket[] = [];
    const silent = createServer((socket) => void accepted.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const held = path.join(dir, 'silent');
    mkdirSync(held, { recursive: true });
    writeFileSync(path.join(held, 'hh-sync.lock'), JSON.stringify({ pid: other.pid, port }), { mode: 0o600 });
    try {
      const t0 = Date.now();
      await expect(startEmbeddedPostgres({ dataDir: held, holderWaitMs: 500 })).rejects.toThrow(
        new RegExp(
          `in use by process ${other.pid}, which serves it on 127\\.0\\.0\\.1:${port} but did not answer \\(.+\\); waited 1 s$`,
        ),
      );
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      for (const socket of accepted) socket.destroy();
      silent.close();
    }
  });
});
