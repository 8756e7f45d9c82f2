/**
 * Issue 9, round 3: with --json, every doctor error path leaves ONE JSON document on stdout, the same
 * `{"error": {"message", "code", "exitCode"}}` shape as the other commands — whether --json is given
 * before `doctor` (global) or after it.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDoctorCli } from '../src/cli/doctor-command.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { hh, type Captured } from './helpers/cli-in-process.js';
import { ifSetUp } from './helpers/if-set-up.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hh-doctor-json-'));
const savedEnv = { ...process.env };
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  // Every case names its database with --database-url; none may be picked up from the environment.
  delete process.env.DATABASE_URL;
  delete process.env.HH_SYNC_DATABASE_URL;
});

afterAll(async () => {
  process.env = savedEnv;
  await ifSetUp(db)?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** runDoctorCli (the arguments after `doctor`), output captured. */
async function doctor(args: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await runDoctorCli(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

function expectErrorDocument(result: Captured, exitCode: number, code: string, message: RegExp): void {
  expect(result.code).toBe(exitCode);
  const doc = JSON.parse(result.stdout) as { error: { message: string; code: string; exitCode: number } };
  expect(doc).toEqual({ error: { message: expect.stringMatching(message), code, exitCode } });
  expect(doc.error.message).not.toMatch(/\n/);
}

const existingFile = () => {
  const file = path.join(tmp, 'exists.sql');
  writeFileSync(file, '-- keep me\n');
  return file;
};

const cases: [string, () => string[], number, string, RegExp][] = [
  ['a schema that does not exist', () => ['--database-url', db.url, '--schema', 'nosuch'], 2, 'usage', /nosuch/],
  ['a table that does not exist', () => ['--database-url', db.url, '--table', 'nosuch'], 2, 'usage', /nosuch/],
  ['--out naming an existing file', () => ['--database-url', db.url, '--out', existingFile()], 2, 'usage', /exists/],
  [
    'no database to examine',
    () => ['--data-dir', path.join(tmp, 'nothing-here')],
    2,
    'usage',
    /no database to examine/,
  ],
  [
    'a bad --connect-timeout',
    () => ['--database-url', db.url, '--connect-timeout', 'soon'],
    2,
    'usage',
    /connect-timeout/,
  ],
  [
    'a database that does not answer',
    () => ['--database-url', 'postgres://hh@127.0.0.1:1/hh'],
    3,
    'database',
    /cannot open the database/,
  ],
];

describe.each(cases)('--json doctor: %s', (_what, args, exitCode, code, message) => {
  test('global --json before doctor: stdout is the error document', async () => {
    const argv = args();
    const timeout = argv.indexOf('--connect-timeout');
    // --connect-timeout is a global flag of hh-sync: it goes before the command.
    const globals = timeout >= 0 ? argv.splice(timeout, 2) : [];
    expectErrorDocument(await hh(['--json', ...globals, 'doctor', ...argv]), exitCode, code, message);
  });

  test('doctor --json: stdout is the error document', async () => {
    expectErrorDocument(await doctor(['--json', ...args()]), exitCode, code, message);
  });
});

test('without --json, errors stay on stderr and stdout stays empty', async () => {
  const result = await doctor(['--database-url', db.url, '--schema', 'nosuch']);
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^hh-sync doctor: .*nosuch/);
});
