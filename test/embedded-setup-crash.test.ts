/**
 * Without a template (embedded-template.ts), the first start of a new embedded data directory runs initdb in a
 * child process; the test forces that path (`template: false`). When the starting process is
 * killed (-9) while that child runs, the next start ends the orphaned child and removes its ~40 MB directory — but
 * never kills an unrelated process that happens to have the recorded pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { waitFor } from './helpers/watch-support.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILT = path.join(ROOT, 'dist/src/db/embedded-postgres.js');

let dir: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  const src = path.join(ROOT, 'src/db/embedded-postgres.ts');
  if (!existsSync(BUILT) || statSync(BUILT).mtimeMs < statSync(src).mtimeMs) {
    throw new Error(
      'dist/src/db/embedded-postgres.js is missing or older than its source; build first: `npm run build`',
    );
  }
  dir = mkdtempSync(path.join(tmpdir(), 'hh-setup-crash-'));
});

afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Dead, or a zombie waiting for a parent that is not us (killed all the same). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('kill -9 during initdb: the next start kills the orphaned initdb child, removes its directory, and completes', async () => {
  const dataDir = path.join(dir, 'crash');
  const parent = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { startEmbeddedPostgres } from ${JSON.stringify(BUILT)}; await startEmbeddedPostgres({ dataDir: process.argv[1], template: false });`,
      dataDir,
    ],
    { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  started.push(parent);
  const building = path.join(dataDir, `db.init-${parent.pid}`);
  // The worst moment: the child records itself and initdb starts writing its directory.
  await waitFor(() => existsSync(`${building}.child`) && existsSync(building), 20_000, 'initdb to start');
  const childPid = Number(readFileSync(`${building}.child`, 'utf8'));
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('exit', r));
  expect(running(childPid)).toBe(true); // the orphan initdb goes on without its parent

  const server = await startEmbeddedPostgres({ dataDir });
  try {
    expect(running(childPid)).toBe(false);
    expect(readdirSync(dataDir).filter((n) => n.startsWith('db.init-'))).toEqual([]);
    expect(existsSync(path.join(dataDir, 'db', 'PG_VERSION'))).toBe(true);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
  }
}, 60_000);

test('a recorded pid that now belongs to an unrelated process is left alone; the leftover directory still goes', async () => {
  const dataDir = path.join(dir, 'crash'); // made by the test above: no second initdb
  const unrelated = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  started.push(unrelated);
  await waitFor(() => unrelated.pid !== undefined, 2000, 'the unrelated process');
  const building = path.join(dataDir, 'db.init-999999');
  mkdirSync(building, { recursive: true });
  writeFileSync(path.join(building, 'half-made'), 'x');
  writeFileSync(`${building}.child`, String(unrelated.pid));

  const server = await startEmbeddedPostgres({ dataDir });
  try {
    expect(running(unrelated.pid!)).toBe(true);
    expect(readdirSync(dataDir).filter((n) => n.startsWith('db.init-'))).toEqual([]);
  } finally {
    await server.stop();
    unrelated.kill('SIGKILL');
  }
}, 60_000);
