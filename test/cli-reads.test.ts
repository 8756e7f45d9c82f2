/**
 * `hh-sync runs`, `history`, `get`, `fabric show` and `fabric remove`, driven in-process against one database for the
 * file, fake Kubernetes APIs served from this process and real Git repositories. Values are checked against what the
 * sync commands reported (ids, counts, commits), not against constants. Each test adds the fabrics it judges.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import pg from 'pg';
import { main } from '../src/cli/main.js';
import { query } from '../src/store/sql.js';
import { LOCK_NAMESPACE_WATCH } from '../src/store/watch-lease.js';
import { AdvisoryLeaseBackend, leaseConnectionConfig } from '../src/watch/lease-backend.js';
import {
  FakeKubeApi,
  commitFiles,
  createGitRepo,
  demoClusterFabric,
  demoGitFabric,
  toManifestFiles,
  type KubeObjectLike,
} from '../src/testing/index.js';
import { cliEnv, messageLines } from './helpers/cli.js';
import { createSharedCliLedger, hh as hhAlone, type Captured, type SharedCliLedger } from './helpers/cli-in-process.js';
import { testWithServer } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let shared: SharedCliLedger;
let api: FakeKubeApi;
let work: string;
let kubeconfig: string;
let repo: string;
const demo = demoGitFabric();

const hh = (args: string[]) => shared.hh(args, { cwd: work });
const json = (r: Captured): any => JSON.parse(r.stdout);

/** The one hh-sync: line of a failure, and no stack trace. */
function oneErrorLine(r: Captured): string {
  const lines = messageLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  return lines[0]!;
}

/** Adds a fabric on the fake cluster and the demo repository and syncs it; returns the sync's run reports. */
async function syncedFabric(name: string, extra: string[] = []): Promise<{ id: number; type: string; counts: any }[]> {
  expect(
    await hh(['fabric', 'add', name, '--kubeconfig', kubeconfig, '--git', repo, '--quiet', ...extra]),
  ).toMatchObject({ code: 0 });
  const r = await hh(['sync', name, '--json']);
  expect(r.code).toBe(0);
  return json(r);
}

async function fabricId(name: string): Promise<number> {
  const [row] = await query<{ id: number }>(shared.db.orm.em.fork(), `SELECT id FROM hedgehog_fabric WHERE name = ?`, [
    name,
  ]);
  return row!.id;
}

beforeAll(async () => {
  process.env.NO_COLOR = '1';
  shared = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-reads-'));
  api = new FakeKubeApi();
  api.load(demoClusterFabric());
  // One object outside the default namespace, for -n.
  const vpc = demoClusterFabric().find((o) => o.kind === 'VPC')!;
  api.create({ ...structuredClone(vpc), metadata: { name: 'vpc-t', namespace: 'tenant-a' } });
  await api.start();
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml());
  repo = join(work, 'repo');
  await createGitRepo(repo, toManifestFiles(demo.objects));
}, 60_000);

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(shared)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('help lists runs, history, get and fabric show; fabric remove offers --yes', async () => {
  const [top, fabric, remove, get] = await Promise.all([
    hhAlone(['--help']),
    hhAlone(['fabric', '--help']),
    hhAlone(['fabric', 'remove', '--help']),
    hhAlone(['get', '--help']),
  ]);
  for (const cmd of ['runs', 'history', 'get']) expect(top.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
  expect(fabric.stdout).toMatch(/^ {2}show <name>/m);
  expect(remove.stdout).toContain('-y, --yes');
  for (const flag of ['-n, --namespace', '-A, --all-namespaces']) expect(get.stdout).toContain(flag);
});

test('an empty fabric: no runs, no objects, said so (exit 0); -o json an empty list', async () => {
  expect((await hh(['fabric', 'add', 'empty', '--quiet'])).code).toBe(0);
  expect(await hh(['runs', 'empty'])).toMatchObject({
    code: 0,
    stdout: 'No runs recorded for fabric empty yet: `hh-sync sync empty` records one.\n',
  });
  expect(json(await hh(['runs', 'empty', '--json']))).toEqual({ fabric: 'empty', runs: [] });
  expect(await hh(['get', 'empty'])).toMatchObject({ code: 0, stdout: 'No objects in fabric empty yet.\n' });
  expect(json(await hh(['get', 'empty', '-o', 'json']))).toEqual({ fabric: 'empty', items: [] });
  const show = json(await hh(['fabric', 'show', 'empty', '--json']));
  expect(show).toMatchObject({ lastRuns: [], rows: { objects: 0, runs: 0, transitions: 0, crdSchemas: 0 } });
  expect(show.drift).toMatchObject({ total: 0, unchecked: 0 });
});

test('the database down: each command fails with one line, exit 3, and -o json|yaml one error document', async () => {
  const down = ['--database-url', 'postgres://postgres@127.0.0.1:1/nowhere', '--connect-timeout', '2'];
  for (const args of [
    ['runs', 'x'],
    ['history', 'x', 'vpc/a'],
    ['get', 'x'],
    ['fabric', 'show', 'x'],
    ['fabric', 'remove', 'x', '--yes'],
  ]) {
    const text = await hhAlone([...down, ...args], { cwd: work });
    expect({ args, code: text.code, stdout: text.stdout }).toEqual({ args, code: 3, stdout: '' });
    expect(oneErrorLine(text)).toMatch(/cannot open the ledger .*ECONNREFUSED/);
    const r = await hhAlone([...down, ...args, '--json'], { cwd: work });
    expect(json(r)).toEqual({
      error: { message: expect.stringMatching(/ECONNREFUSED/), code: 'database', exitCode: 3 },
    });
    const y = await hhAlone([...down, ...args, '-o', 'yaml'], { cwd: work });
    expect(parseYaml(y.stdout)).toEqual(json(r));
  }
}, 60_000);

describe('runs', () => {
  test('lists the runs the sync recorded, newest first, with its counts; the table shows the same numbers', async () => {
    const synced = await syncedFabric('runs-a');
    const r = await hh(['runs', 'runs-a', '--json']);
    expect(r.code).toBe(0);
    const doc = json(r);
    expect(doc.fabric).toBe('runs-a');
    expect(doc.runs.map((x: any) => x.id).sort()).toEqual(synced.map((x) => x.id).sort());
    for (const run of doc.runs) {
      const reported = synced.find((x) => x.id === run.id)!;
      expect(run).toMatchObject({ type: reported.type, status: 'completed', progress: null, counts: reported.counts });
      expect(run.durationMs).toBeGreaterThanOrEqual(0);
      expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    }
    const started = doc.runs.map((x: any) => Date.parse(x.startedAt));
    expect(started).toEqual([...started].sort((a: number, b: number) => b - a));

    const table = await hh(['runs', 'runs-a']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ID\s+TYPE\s+STATUS\s+STARTED\s+DURATION\s+LISTED\s+CREATED\s+UPDATED\s+CLEARED\s+FAILED\s+ERROR$/,
    );
    expect(lines).toHaveLength(1 + synced.length);
    for (const run of synced) {
      const line = lines.find((l) => l.startsWith(`${run.id} `))!;
      const c = run.counts;
      expect(line.split(/\s+/).slice(0, 3)).toEqual([String(run.id), run.type, 'completed']);
      expect(line).toMatch(
        new RegExp(`\\s${c.listed}\\s+${c.created}\\s+${c.updated}\\s+${c.cleared}\\s+${c.failed}$`),
      );
    }

    const wide = (await hh(['runs', 'runs-a', '-o', 'wide'])).stdout.trimEnd().split('\n');
    expect(wide[0]).toMatch(/\sFAILED\s+UNCHANGED\s+FINISHED\s+COMMIT\s+ERROR$/);
    const desiredRun = doc.runs.find((x: any) => x.type === 'desired');
    expect(desiredRun.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(wide.find((l) => l.startsWith(`${desiredRun.id} `))).toContain(desiredRun.commit);
  }, 90_000);

  test('--limit, --type and --status filter; success and running are the recorded statuses', async () => {
    const synced = await syncedFabric('runs-f');
    expect((await hh(['sync', 'runs-f', '--desired', '--quiet'])).code).toBe(0);
    const all = json(await hh(['runs', 'runs-f', '--json'])).runs;
    expect(all).toHaveLength(synced.length + 1);

    const one = json(await hh(['runs', 'runs-f', '--limit', '1', '--json'])).runs;
    expect(one.map((x: any) => x.id)).toEqual([all[0].id]);

    const desired = json(await hh(['runs', 'runs-f', '--type', 'desired', '--json'])).runs;
    expect(desired.map((x: any) => x.id)).toEqual(all.filter((x: any) => x.type === 'desired').map((x: any) => x.id));
    expect(desired).toHaveLength(2);

    const success = json(await hh(['runs', 'runs-f', '--status', 'success', '--json'])).runs;
    expect(success).toHaveLength(all.length);
    const none = await hh(['runs', 'runs-f', '--status', 'failed,running']);
    expect(none).toMatchObject({ code: 0, stdout: 'No runs of fabric runs-f match the filters.\n' });
  }, 90_000);

  test('a failed run shows its error on one line; a hostile message is made inert', async () => {
    const down = new FakeKubeApi();
    await down.start();
    const downConfig = join(work, 'down-kubeconfig');
    writeFileSync(downConfig, down.kubeconfigYaml());
    await down.stop(); // nothing listens there any more
    expect((await hh(['fabric', 'add', 'runs-down', '--kubeconfig', downConfig, '--quiet'])).code).toBe(0);
    expect((await hh(['sync', 'runs-down', '--actual', '--quiet'])).code).toBe(3);

    const failed = json(await hh(['runs', 'runs-down', '--status', 'failed', '--json'])).runs;
    expect(failed).toHaveLength(1);
    expect(failed[0].errorMessage).toMatch(/ECONNREFUSED|no fabric kind could be read/);
    const table = await hh(['runs', 'runs-down']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/\bactual\s+failed\b/);
    expect(lines[1]).toContain(failed[0].errorMessage.split('\n')[0].slice(0, 40));

    await query(
      shared.db.orm.em.fork(),
      `INSERT INTO sync_operation (fabric_id, type, status, started_at, finished_at, error_message)
       VALUES (?, 'desired', 'failed', now(), now(), ?)`,
      [await fabricId('runs-down'), '\u001b]0;pwned\u0007boom\u001b[2J\nsecond line'],
    );
    const hostile = await hh(['runs', 'runs-down', '--limit', '1']);
    expect([hostile.stdout.includes('\u001b'), hostile.stdout.includes('\u0007')]).toEqual([false, false]);
    expect(hostile.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(hostile.stdout).toMatch(/boom/);
  }, 90_000);

  test('a run still in_progress: running with its elapsed time while young, abandoned (no duration) once its process is gone', async () => {
    expect((await hh(['fabric', 'add', 'runs-live', '--quiet'])).code).toBe(0);
    const id = await fabricId('runs-live');
    const em = shared.db.orm.em.fork();
    // As a process that died mid-run leaves them: rows never closed, nobody holding the fabric's lock or lease.
    await query(
      em,
      `INSERT INTO sync_operation (fabric_id, type, status, started_at) VALUES
         (?, 'actual', 'in_progress', now() - interval '10 minutes'),
         (?, 'watch', 'in_progress', now() - interval '9 minutes'),
         (?, 'desired', 'in_progress', now() - interval '2 seconds')`,
      [id, id, id],
    );
    const runs = json(await hh(['runs', 'runs-live', '--json'])).runs;
    expect(runs.map((r: any) => [r.type, r.status, r.progress])).toEqual([
      ['desired', 'in_progress', 'running'],
      ['watch', 'in_progress', 'abandoned'],
      ['actual', 'in_progress', 'abandoned'],
    ]);
    expect(runs[0].durationMs).toBeGreaterThanOrEqual(2000);
    expect(runs[0].durationMs).toBeLessThan(60_000);
    expect(runs[1].durationMs).toBeNull();
    const table = (await hh(['runs', 'runs-live'])).stdout.trimEnd().split('\n');
    expect(table[1]).toMatch(/desired\s+running\s+\S+ \S+\s+\d+(\.\d)?s…/);
    expect(table[3]).toMatch(/actual\s+abandoned\s+\S+ \S+\s+-\s.*abandoned: no process holds the fabric/);
  }, 60_000);

  test('usage errors: --limit 0/abc, an unknown type or status, an unknown fabric; with --json one document each', async () => {
    const cases: [string[], RegExp][] = [
      [['runs', 'x', '--limit', '0'], /--limit 0: must be a whole number from 1 to/],
      [['runs', 'x', '--limit', 'abc'], /--limit abc: must be a whole number/],
      [['runs', 'x', '--type', 'nightly'], /--type nightly: expected one of actual, desired, watch, publish/],
      [['runs', 'x', '--status', 'great'], /--status great: expected one of/],
      [['runs', 'ghost'], /no fabric named "ghost"/],
    ];
    for (const [args, pattern] of cases) {
      const text = await hh(args);
      expect({ args, code: text.code, stdout: text.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(oneErrorLine(text)).toMatch(pattern);
      const r = await hh([...args, '--json']);
      expect(r.code).toBe(2);
      expect(json(r)).toEqual({ error: { message: expect.stringMatching(pattern), code: 'usage', exitCode: 2 } });
    }
    const name = await hh(['runs', 'ghost', '-o', 'name']);
    expect(name.code).toBe(2);
    expect(oneErrorLine(name)).toMatch(/-o name: `hh-sync runs` prints table, json, yaml, wide/);
  }, 60_000);
});

describe('history', () => {
  let histApi: FakeKubeApi;
  let histRepo: string;
  const target = (): KubeObjectLike => structuredClone(demo.objects.find((o) => o.kind === 'VPC')!);

  beforeAll(async () => {
    histApi = new FakeKubeApi();
    histApi.load(demoClusterFabric());
    await histApi.start();
    writeFileSync(join(work, 'hist-kubeconfig'), histApi.kubeconfigYaml());
    histRepo = join(work, 'hist-repo');
    const vpc = target();
    const rest = demo.objects.filter((o) => !(o.kind === 'VPC' && o.metadata.name === vpc.metadata.name));
    await createGitRepo(histRepo, { ...toManifestFiles(rest), 'fabric/target.yaml': yamlOf(vpc) });
  }, 60_000);
  afterAll(async () => ifSetUp(histApi)?.stop());

  function yamlOf(o: KubeObjectLike): string {
    return `apiVersion: ${o.apiVersion}\nkind: ${o.kind}\nmetadata:\n  name: ${o.metadata.name}\nspec: ${JSON.stringify(o.spec)}\n`;
  }

  test('after a change in Git and a deletion: every transition, oldest first, with its run and commit; deleted at the end', async () => {
    const vpc = target();
    const name = vpc.metadata.name;
    expect(
      (await hh(['fabric', 'add', 'hist', '--kubeconfig', join(work, 'hist-kubeconfig'), '--git', histRepo, '--quiet']))
        .code,
    ).toBe(0);
    expect((await hh(['sync', 'hist', '--quiet'])).code).toBe(0);
    const first = json(await hh(['history', 'hist', `vpc/${name}`, '--json']));
    expect(first).toMatchObject({ fabric: 'hist', kind: 'VPC', namespace: 'default', name, present: true });
    expect(first.transitions.length).toBeGreaterThanOrEqual(1);
    expect(first.transitions[0].from).toBeNull();

    const changed = structuredClone(vpc);
    // Git takes the cluster's VLAN: the drift the demo starts with is resolved by a desired run.
    expect(name).toBe(demo.differences.changedVlan.name);
    (changed.spec.subnets as Record<string, { vlan: number }>).default!.vlan =
      demo.differences.changedVlan.clusterValue;
    const changeCommit = await commitFiles(histRepo, { 'fabric/target.yaml': yamlOf(changed) });
    expect((await hh(['sync', 'hist', '--desired', '--quiet'])).code).toBe(0);
    const second = json(await hh(['history', 'hist', `VPCs/default/${name}`, '--json']));
    expect(second.transitions.length).toBeGreaterThan(first.transitions.length);
    const byChange = second.transitions.slice(first.transitions.length);
    expect(byChange[0]).toMatchObject({
      from: 'drifted',
      to: 'synced',
      trigger: 'sync_desired',
      runType: 'desired',
      commit: changeCommit,
    });

    await commitFiles(histRepo, { 'fabric/target.yaml': null });
    histApi.delete('VPC', 'default', name);
    expect((await hh(['sync', 'hist', '--quiet'])).code).toBe(0);
    const after = await hh(['history', 'hist', `vpc/${name}`, '-n', 'default', '--json']);
    expect(after.code).toBe(0);
    const doc = json(after);
    expect(doc.present).toBe(false);
    expect(doc.transitions.at(-1).to).toBe('deleted');
    expect(doc.transitions.slice(0, second.transitions.length)).toEqual(second.transitions);
    const times = doc.transitions.map((t: any) => Date.parse(t.at));
    expect(times).toEqual([...times].sort((a: number, b: number) => a - b));

    const table = await hh(['history', 'hist', `vpc/${name}`]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^VPC/${name} in fabric hist: deleted from the ledger \\d{4}-`));
    expect(lines[1]).toMatch(/^WHEN\s+FROM\s+TO\s+TRIGGER\s+RUN\s+COMMIT\s+REASON$/);
    expect(lines).toHaveLength(2 + (doc.transitions as unknown[]).length);
    expect(lines[2]).toMatch(/\(new\)/);
    expect(lines.at(-1)).toMatch(/\sdeleted\s/);
    expect(table.stdout).toContain(changeCommit.slice(0, 12));

    // A reason carries foreign text (a file name from Git): control sequences never reach the terminal.
    await query(
      shared.db.orm.em.fork(),
      `UPDATE state_transition SET reason = ? WHERE id = (SELECT max(id) FROM state_transition WHERE fabric_id = ?)`,
      ['declared in \u001b[2Jevil\rname.yaml\nnext', await fabricId('hist')],
    );
    const hostile = await hh(['history', 'hist', `vpc/${name}`]);
    expect([hostile.stdout.includes('\u001b'), hostile.stdout.includes('\r')]).toEqual([false, false]);
    expect(hostile.stdout.trimEnd().split('\n')).toHaveLength(lines.length);
    expect(hostile.stdout).toMatch(/evilname\.yaml next/);
  }, 120_000);

  test('errors: an object never held, a malformed reference, an unknown kind or fabric, -n against the reference', async () => {
    expect((await hh(['fabric', 'add', 'hist-empty', '--quiet'])).code).toBe(0);
    const cases: [string[], RegExp][] = [
      [
        ['history', 'hist-empty', 'vpc/never'],
        /fabric hist-empty has no history of VPC\/never: the ledger never held it/,
      ],
      [['history', 'hist-empty', 'vpc'], /"vpc": expected <Kind>\/<name> or <Kind>\/<namespace>\/<name>/],
      [['history', 'hist-empty', 'vpc/a/b/c'], /expected <Kind>\/<name>/],
      [['history', 'hist-empty', 'gizmo/a'], /not a fabric kind/],
      [['history', 'hist-empty', 'vpc/Bad_Name'], /the name "Bad_Name" must be a lowercase RFC 1123 subdomain/],
      [['history', 'hist-empty', 'vpc/t/a', '-n', 'other'], /names namespace t but -n says other/],
      [['history', 'ghost', 'vpc/a'], /no fabric named "ghost"/],
    ];
    for (const [args, pattern] of cases) {
      const text = await hh(args);
      expect({ args, code: text.code, stdout: text.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(oneErrorLine(text)).toMatch(pattern);
      const r = await hh([...args, '--json']);
      expect(json(r)).toEqual({ error: { message: expect.stringMatching(pattern), code: 'usage', exitCode: 2 } });
    }
  }, 60_000);
});

describe('get', () => {
  beforeAll(async () => {
    await syncedFabric('get-a');
  }, 90_000);

  test('the table lists every object the ledger holds; -n and a kind filter it; -o name prints what history takes', async () => {
    const all = json(await hh(['get', 'get-a', '-o', 'json']));
    const drift = json(await hh(['drift', 'get-a', '--json']));
    expect(all.fabric).toBe('get-a');
    expect(all.items).toHaveLength(drift.summary.total);
    const table = await hh(['get', 'get-a']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+NAMESPACE\s+NAME\s+STATE\s+DRIFT\s+SEVERITY$/);
    expect(lines).toHaveLength(1 + (all.items as unknown[]).length);

    const tenant = json(await hh(['get', 'get-a', '-n', 'tenant-a', '--json'])).items;
    expect(tenant.map((o: any) => `${o.kind}/${o.namespace}/${o.name}`)).toEqual(['VPC/tenant-a/vpc-t']);
    expect(tenant[0]).toMatchObject({ desired: { spec: null, file: null }, drift: { status: 'actual_only' } });
    const vpcs = json(await hh(['get', 'get-a', 'VPCs', '-A', '--json'])).items;
    expect(vpcs.length).toBe(all.items.filter((o: any) => o.kind === 'VPC').length);
    expect(vpcs.length).toBeGreaterThan(1);

    const names = await hh(['get', 'get-a', 'vpc', '-o', 'name']);
    expect(names.stdout.trimEnd().split('\n')).toEqual(
      vpcs.map((o: any) => (o.namespace === 'default' ? `VPC/${o.name}` : `VPC/${o.namespace}/${o.name}`)),
    );
    const none = await hh(['get', 'get-a', 'vpc', '-n', 'nowhere']);
    expect(none).toMatchObject({ code: 0, stdout: 'No objects in fabric get-a match.\n' });
  }, 60_000);

  test('one object with -o yaml: desired and actual, drift with its differences, the Git file, line and commit', async () => {
    const { changedVlan } = demo.differences;
    const r = await hh(['get', 'get-a', `vpc/${changedVlan.name}`, '-o', 'yaml']);
    expect(r.code).toBe(0);
    const doc = parseYaml(r.stdout);
    const head = (await import('../src/testing/index.js')).git(repo, 'rev-parse', 'HEAD');
    expect(doc).toMatchObject({
      kind: 'VPC',
      namespace: 'default',
      name: changedVlan.name,
      desired: { commit: await head, file: expect.stringMatching(/\.yaml$/) },
      drift: { status: 'spec_drift' },
    });
    expect(doc.drift.differences).toContainEqual(
      expect.objectContaining({
        path: `/${changedVlan.pathSegments.join('/')}`,
        desired: changedVlan.gitValue,
        actual: changedVlan.clusterValue,
      }),
    );
    expect(doc.actual.spec).not.toBeNull();
    // The recorded line is where the object's document starts in that file.
    const fileLines = readFileSync(join(repo, doc.desired.file), 'utf8').split('\n');
    const line = doc.desired.line as number;
    expect(line).toBeGreaterThanOrEqual(1);
    expect(fileLines[line - 1]).toMatch(/^(apiVersion|kind|metadata|spec):/); // not a comment or `---`
    const documentText = fileLines.slice(line - 1, line + 12).join('\n');
    expect(documentText).toMatch(new RegExp(`name: ${changedVlan.name}\\b`));

    const wide = await hh(['get', 'get-a', `vpc/${changedVlan.name}`, '-o', 'wide']);
    expect(wide.stdout).toContain(`${doc.desired.file}:${doc.desired.line}`);
    expect(wide.stdout).toContain(doc.desired.commit);
  }, 60_000);

  test('errors: an unknown object, kind or fabric, a malformed reference, a bad namespace; --json one document', async () => {
    const cases: [string[], RegExp][] = [
      [['get', 'get-a', 'vpc/nope'], /fabric get-a holds no VPC\/nope/],
      [['get', 'get-a', 'gizmo'], /kind gizmo: not a fabric kind/],
      [['get', 'get-a', 'vpc/'], /"vpc\/": expected <Kind>\/<name>/],
      [['get', 'get-a', '-n', 'Bad_NS'], /-n Bad_NS: the namespace must be a lowercase RFC 1123 label/],
      [['get', 'get-a', 'vpc/x', '-n', 'a,b'], /names one object: give at most one -n namespace/],
      [['get', 'get-a', '-n', 'a', '-A'], /cannot be used with option/],
      [['get', 'ghost'], /no fabric named "ghost"/],
    ];
    for (const [args, pattern] of cases) {
      const text = await hh(args);
      expect({ args, code: text.code, stdout: text.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(messageLines(text.stderr).join('\n')).toMatch(pattern);
      const r = await hh([...args, '-o', 'json']);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(json(r)).toEqual({ error: { message: expect.stringMatching(pattern), code: 'usage', exitCode: 2 } });
    }
  }, 60_000);
});

describe('fabric show', () => {
  test('settings, row counts, drift counts equal to the drift report, the last 5 runs, and no lease holder', async () => {
    await syncedFabric('show-a');
    for (let i = 0; i < 2; i++) expect((await hh(['sync', 'show-a', '--quiet'])).code).toBe(0);
    const doc = json(await hh(['fabric', 'show', 'show-a', '--json']));
    const runs = json(await hh(['runs', 'show-a', '--limit', '5', '--json'])).runs;
    const drift = json(await hh(['drift', 'show-a', '--json']));
    const objects = json(await hh(['get', 'show-a', '--json'])).items;
    expect(doc.fabric).toMatchObject({ name: 'show-a', gitRepository: repo, kubeconfigPath: kubeconfig });
    expect(doc.lastRuns.map((r: any) => r.id)).toEqual(runs.map((r: any) => r.id));
    expect(doc.lastRuns).toHaveLength(5);
    expect(doc.drift).toEqual(drift.summary);
    expect(doc.rows).toMatchObject({ objects: objects.length, runs: 6 });
    expect(doc.rows.transitions).toBeGreaterThanOrEqual(objects.length);
    expect(doc.lease).toMatchObject({ state: 'none', pid: null });

    const text = await hh(['fabric', 'show', 'show-a']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`git         ${repo}`);
    expect(text.stdout).toMatch(/watch lease no watch holds the lease/);
    expect(text.stdout).toContain(`drift       ${drift.summary.total} objects: `);
    expect(text.stdout).toContain(`rows        ${objects.length} objects, 6 runs`);
    expect(text.stdout).toMatch(/Last 5 runs/);
    for (const r of runs) expect(text.stdout).toMatch(new RegExp(`^${r.id}\\s+${r.type}\\s+completed`, 'm'));
    const yaml = parseYaml((await hh(['fabric', 'show', 'show-a', '-o', 'yaml'])).stdout);
    expect(yaml).toEqual(doc);
  }, 120_000);

  test('a token stored in the Git URL is never shown', async () => {
    expect((await hh(['fabric', 'add', 'show-secret', '--git', 'https://example.com/net/f.git', '--quiet'])).code).toBe(
      0,
    );
    await query(shared.db.orm.em.fork(), `UPDATE hedgehog_fabric SET git_repository = ? WHERE name = 'show-secret'`, [
      'https://ghp_S3CRETTOKEN@example.com/net/f.git',
    ]);
    const text = await hh(['fabric', 'show', 'show-secret']);
    const doc = await hh(['fabric', 'show', 'show-secret', '--json']);
    for (const r of [text, doc]) {
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/S3CRET/);
      expect(r.stdout).toContain('example.com/net/f.git');
    }
  });

  test('on the embedded ledger the lease holder is unknown, not "none": its leases live in the watch process', async () => {
    const dataDir = join(work, 'embedded-ledger');
    const env = cliEnv();
    expect((await hhAlone(['--data-dir', dataDir, 'fabric', 'add', 'emb', '--quiet'], { env, cwd: work })).code).toBe(
      0,
    );
    const r = await hhAlone(['--data-dir', dataDir, 'fabric', 'show', 'emb', '--json'], { env, cwd: work });
    expect(r.code).toBe(0);
    expect(json(r).lease).toMatchObject({
      state: 'unknown',
      reason: expect.stringMatching(/embedded ledger/),
      pid: null,
    });
    const text = await hhAlone(['--data-dir', dataDir, 'fabric', 'show', 'emb'], { env, cwd: work });
    expect(text.stdout).toMatch(
      /watch lease unknown: the embedded ledger's watch leases live in the watch's own process/,
    );
    expect(text.stdout).not.toMatch(/no watch holds the lease/);
  }, 120_000);

  test('an unknown fabric: exit 2, one line, one JSON document', async () => {
    const r = await hh(['fabric', 'show', 'ghost']);
    expect(r.code).toBe(2);
    expect(oneErrorLine(r)).toMatch(/no fabric named "ghost"/);
    expect(json(await hh(['fabric', 'show', 'ghost', '--json'])).error).toMatchObject({ code: 'usage', exitCode: 2 });
  });

  testWithServer(
    'the watch lease: its holder while renewed; expired, not held, once its heartbeat is older than the lease period',
    async () => {
      expect((await hh(['fabric', 'add', 'show-lease', '--quiet'])).code).toBe(0);
      const id = await fabricId('show-lease');
      const em = shared.db.orm.em.fork();
      const backend = new AdvisoryLeaseBackend(leaseConnectionConfig(em), {
        group: 'hh-sync-watch:readstest',
        queryTimeoutMs: 5000,
      });
      await backend.connect();
      try {
        expect(await backend.tryAcquire(id)).toBe(true);
        const held = json(await hh(['fabric', 'show', 'show-lease', '--json'])).lease;
        expect(held).toMatchObject({ state: 'held', group: 'hh-sync-watch:readstest', pid: expect.any(Number) });
        expect(Date.parse(held.expiresAt) - Date.parse(held.renewedAt)).toBe(15_000);
        const text = await hh(['fabric', 'show', 'show-lease']);
        expect(text.stdout).toMatch(new RegExp(`watch lease held by hh-sync-watch:readstest \\(pid ${held.pid} on `));
      } finally {
        await backend.close();
      }
      // A holder frozen for a minute: the lock still held, its heartbeat a minute old.
      const frozen = new pg.Client({ ...leaseConnectionConfig(em), application_name: 'hh-sync-watch:frozen:-' });
      await frozen.connect();
      try {
        await frozen.query(
          `SELECT set_config('application_name', 'hh-sync-watch:frozen:-:' || (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - 60000), false)`,
        );
        await frozen.query('SELECT pg_advisory_lock($1::int, $2::int)', [LOCK_NAMESPACE_WATCH, id]);
        const expired = json(await hh(['fabric', 'show', 'show-lease', '--json'])).lease;
        expect(expired).toMatchObject({ state: 'expired', group: 'hh-sync-watch:frozen' });
        expect(Date.parse(expired.expiresAt)).toBeLessThan(Date.now());
        const text = await hh(['fabric', 'show', 'show-lease']);
        expect(text.stdout).toMatch(/watch lease expired: hh-sync-watch:frozen .* stopped renewing it/);
        expect(text.stdout).not.toMatch(/held by/);
      } finally {
        await frozen.end();
      }
    },
    60_000,
  );
});

describe('fabric remove', () => {
  /** main() with a stdin that is a terminal, answering `answer`. */
  async function onTerminal(args: string[], answer: string): Promise<Captured> {
    let stdout = '';
    let stderr = '';
    const stdin = Object.assign(Readable.from([Buffer.from(answer)]), { isTTY: true });
    const code = await main([...shared.flags, ...args], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: cliEnv(),
      cwd: work,
      stdin,
      openLedger: shared.openLedger,
    });
    return { code, stdout, stderr };
  }

  test('without --yes and no terminal: exit 2 naming --yes and what would go; nothing removed', async () => {
    await syncedFabric('rm-refused');
    const rows = json(await hh(['fabric', 'show', 'rm-refused', '--json'])).rows;
    const r = await hh(['fabric', 'remove', 'rm-refused']);
    expect(r.code).toBe(2);
    expect(oneErrorLine(r)).toBe(
      `hh-sync: not removing fabric rm-refused and its ${rows.objects} objects, ${rows.runs} runs, ${rows.transitions} history rows and ${rows.crdSchemas} CRD schemas: give --yes to confirm (stdin is not a terminal to ask on)`,
    );
    const j = await hh(['fabric', 'remove', 'rm-refused', '--json']);
    expect(json(j).error).toMatchObject({ code: 'usage', exitCode: 2, message: expect.stringMatching(/--yes/) });
    expect(json(await hh(['fabric', 'show', 'rm-refused', '--json'])).rows).toEqual(rows);
  }, 90_000);

  test('on a terminal it asks: "n" keeps the fabric, "y" removes it', async () => {
    await syncedFabric('rm-asked');
    const rows = json(await hh(['fabric', 'show', 'rm-asked', '--json'])).rows;
    const no = await onTerminal(['fabric', 'remove', 'rm-asked'], 'n\n');
    expect(no.code).toBe(0);
    expect(no.stderr).toContain(
      `remove fabric rm-asked and its ${rows.objects} objects, ${rows.runs} runs, ${rows.transitions} history rows and ${rows.crdSchemas} CRD schemas? [y/N]`,
    );
    expect(no.stderr).toContain('fabric rm-asked not removed');
    expect((await hh(['fabric', 'show', 'rm-asked'])).code).toBe(0);
    const yes = await onTerminal(['fabric', 'remove', 'rm-asked'], 'y\n');
    expect(yes.code).toBe(0);
    expect(yes.stdout).toMatch(/removed fabric rm-asked: deleted \d+ objects/);
    expect((await hh(['fabric', 'show', 'rm-asked'])).code).toBe(2);
  }, 90_000);

  test('--yes removes it with every row it owned, detached history included, and says how many', async () => {
    await syncedFabric('rm-yes');
    const id = await fabricId('rm-yes');
    const rows = json(await hh(['fabric', 'show', 'rm-yes', '--json'])).rows;
    expect(rows.objects).toBeGreaterThan(0);
    const r = await hh(['fabric', 'remove', 'rm-yes', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(json(r)).toEqual({ fabric: 'rm-yes', removed: true, rows });
    const [left] = await query<Record<string, number>>(
      shared.db.orm.em.fork(),
      `SELECT (SELECT count(*) FROM hedgehog_resource WHERE fabric_id = ?)::int AS objects,
              (SELECT count(*) FROM sync_operation WHERE fabric_id = ?)::int AS runs,
              (SELECT count(*) FROM state_transition WHERE fabric_id = ?)::int AS transitions,
              (SELECT count(*) FROM fabric_crd_schema WHERE fabric_id = ?)::int AS schemas`,
      [id, id, id, id],
    );
    expect(left).toEqual({ objects: 0, runs: 0, transitions: 0, schemas: 0 });
    const again = await hh(['fabric', 'remove', 'rm-yes', '--yes']);
    expect(again.code).toBe(2);
    expect(oneErrorLine(again)).toMatch(/no fabric named "rm-yes"/);
  }, 90_000);
});
