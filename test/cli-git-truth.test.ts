/**
 * The Git side of hh-sync as a person meets it (issue 9): URLs stored without their secrets, refs checked
 * when they are set, no foreign --ref behind `fabric list`'s back, and a desired run that says what it did
 * not track and whether documents were checked against CRD schemas. Driven in-process on one database;
 * each test has a fabric of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitFiles, createGitRepo, git } from '../src/testing/index.js';
import { messageLines } from './helpers/cli.js';
import { createSharedCliLedger, type SharedCliLedger } from './helpers/cli-in-process.js';
import { ifSetUp } from './helpers/if-set-up.js';

let ledger: SharedCliLedger;
let work: string;
let repo: string;
const hh = (args: string[]) => ledger.hh(args);
const TOKEN = 'glpat-AbCdEf0123456789xyzQ';

const sw = (name: string) => `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: ${name}
spec:
  role: server-leaf
`;

beforeAll(async () => {
  ledger = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-git-'));
  repo = join(work, 'repo');
  await createGitRepo(repo, {
    'sw.yaml': sw('leaf-1'),
    'extra/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n',
  });
  await commitFiles(repo, { 'sw.yaml': sw('leaf-2') }, { branch: 'feature' });
  await git(repo, 'checkout', '-q', 'main');
}, 60_000);

afterAll(async () => {
  await ifSetUp(ledger)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('a token in a Git URL is removed before the URL is stored, and never printed', async () => {
  const add = await hh([
    'fabric',
    'add',
    'remote',
    '--git',
    `https://oauth2:${TOKEN}@git.example.com/org/fabric.git?private_token=${TOKEN}`,
    '--json',
  ]);
  expect(add.code).toBe(0);
  expect(JSON.parse(add.stdout).gitRepository).toBe('https://git.example.com/org/fabric.git');
  expect(add.stderr).toMatch(/removed the password, user name, query parameter private_token from the URL/);
  const list = await hh(['fabric', 'list']);
  for (const r of [add, list]) expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
});

test('fabric set --ref checks the ref at once; a bad one is refused in one line naming --ref', async () => {
  expect((await hh(['fabric', 'add', 'local', '--git', repo])).code).toBe(0);
  const bad = await hh(['fabric', 'set', 'local', '--ref', 'nope']);
  expect(bad.code).toBe(2);
  expect(messageLines(bad.stderr)).toEqual([
    expect.stringMatching(/--ref nope: ref 'nope' is not a branch, tag or commit of the repository/),
  ]);
  expect((await hh(['fabric', 'set', 'local', '--ref', 'main'])).code).toBe(0);
});

test("sync --ref with another ref than the fabric's is refused, pointing at fabric set --ref", async () => {
  expect((await hh(['fabric', 'add', 'onmain', '--git', repo, '--ref', 'main'])).code).toBe(0);
  const r = await hh(['sync', 'onmain', '--desired', '--ref', 'feature']);
  expect(r.code).toBe(2);
  expect(messageLines(r.stderr).join('\n')).toMatch(
    /--ref 'feature' is not the ref of fabric "onmain" \('main'\).*hh-sync fabric set onmain --ref feature.*hh-sync diff onmain --ref feature/,
  );
});

test('a desired run prints the kinds it did not track (their files with -v) and whether schemas were checked', async () => {
  expect((await hh(['fabric', 'add', 'untracked', '--git', repo, '--ref', 'main'])).code).toBe(0);
  const text = await hh(['sync', 'untracked', '--desired', '--verbose']);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/not tracked \(1 document of other kinds\): v1\/ConfigMap ×1/);
  expect(text.stdout).toMatch(/v1\/ConfigMap: extra\/cm\.yaml/);
  expect(text.stdout).toMatch(/schemas: none known, documents were NOT checked/);
  const json = await hh(['sync', 'untracked', '--desired', '--json']);
  expect(JSON.parse(json.stdout)).toMatchObject({ otherKinds: { 'v1/ConfigMap': 1 }, schemaSource: 'none' });
});

test('a configured ref that vanished fails the run with a hint naming --ref', async () => {
  await git(repo, 'tag', 'gone');
  expect((await hh(['fabric', 'add', 'vanished', '--git', repo, '--ref', 'gone'])).code).toBe(0);
  await git(repo, 'tag', '-d', 'gone');
  const r = await hh(['sync', 'vanished', '--desired']);
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(
    /ref 'gone' is not a branch, tag or commit.*hh-sync fabric set vanished --ref <branch\|tag\|commit>/,
  );
});
