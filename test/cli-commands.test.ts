/**
 * hh-sync command by command, driven in-process (`main(args, context)`) against one database opened for the
 * file (a fresh database on the test server, or an in-memory embedded one), a fake Kubernetes API served from
 * this process, and real Git repositories. Every command's happy path, its usage errors, the documented JSON
 * shapes and the exit codes 0/1/2/3. What only a real process shows — a terminal, Ctrl-C, a daemon stopping on
 * SIGINT — is run on the BUILT binary, spawned against a ledger of its own.
 *
 * Every test stands alone: it adds the fabrics it uses under names of its own (the drift tests share one
 * synced fabric built in their beforeAll), so any single test can run with -t.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRIFT_SEVERITIES, DRIFT_STATUSES } from '../src/drift/types.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { FakeKubeApi, createGitRepo, demoClusterFabric, demoGitFabric, toManifestFiles } from '../src/testing/index.js';
import {
  canRunInTty,
  cliEnv,
  createCliLedger,
  hasAnsi,
  messageLines,
  runCli,
  runCliInTty,
  type CliLedger,
} from './helpers/cli.js';
import { createSharedCliLedger, hh as hhAlone, type SharedCliLedger } from './helpers/cli-in-process.js';
import { createEmptyDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

const TOKEN = 'sekret-bearer-token-4d1f';

let shared: SharedCliLedger;
let api: FakeKubeApi;
let work: string;
let kubeconfig: string;
let repo: string;
let brokenRepo: string;
const git = demoGitFabric();

/** hh-sync in-process with this file's ledger. */
const hh = (args: string[]) => shared.hh(args);

/** Adds a fabric reading the fake cluster and the demo repository (or what `extra` says), quietly. */
async function addFabric(
  name: string,
  extra: string[] = ['--kubeconfig', kubeconfig, '--git', repo],
  run = hh,
): Promise<void> {
  const r = await run(['fabric', 'add', name, ...extra, '--quiet']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
}

/** One failure line on stderr, no stack trace. */
function expectOneLine(r: { stderr: string }, pattern: RegExp): void {
  const lines = messageLines(r.stderr);
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines.join('\n')).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at .+\(.*:\d+:\d+\)/); // no stack frames without --verbose
}

beforeAll(async () => {
  shared = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-'));
  api = new FakeKubeApi({ token: TOKEN });
  api.load(demoClusterFabric());
  await api.start();
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml());
  repo = join(work, 'repo');
  await createGitRepo(repo, toManifestFiles(git.objects));
  brokenRepo = join(work, 'broken');
  await createGitRepo(brokenRepo, {
    ...toManifestFiles(git.objects.filter((o) => o.kind === 'VPC')),
    'fabric/broken.yaml': 'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: [unclosed\n',
  });
}, 60_000);

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(shared)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('help and usage errors (no ledger needed)', () => {
  test('--help lists every command and global flag with examples; each command has its own help', async () => {
    const [top, sync, add, version] = await Promise.all([
      hhAlone(['--help']),
      hhAlone(['sync', '--help']),
      hhAlone(['fabric', 'add', '--help']),
      hhAlone(['--version']),
    ]);
    expect(top.code).toBe(0);
    for (const cmd of ['migrate', 'doctor', 'fabric', 'sync', 'drift', 'watch', 'demo'])
      expect(top.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    for (const flag of ['--database-url', '--data-dir', '--json', '--quiet', '--verbose'])
      expect(top.stdout).toContain(flag);
    expect(top.stdout).toContain('Examples:');
    expect(top.stdout).toMatch(/Exit codes: 0 success, 1 .*2 usage error, 3 runtime failure/);
    expect(sync.code).toBe(0);
    for (const flag of ['--desired', '--actual', '--ref', '--exit-code', '--json']) expect(sync.stdout).toContain(flag);
    expect(sync.stdout).toContain('$ hh-sync sync dc1');
    expect(add.code).toBe(0);
    for (const flag of [
      '--kubeconfig',
      '--context',
      '--namespace',
      '--git',
      '--ref',
      '--path',
      '--crds',
      '--interval',
      '--ignore',
      '--in-cluster',
    ]) {
      expect(add.stdout).toContain(flag);
    }
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  const missing = join(tmpdir(), 'hh-cli-does-not-exist', 'kubeconfig');
  test.each<[string, string[], RegExp]>([
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['unknown option', ['drift', 'x', '--bogus'], /unknown option '--bogus'/],
    ['missing argument', ['sync'], /missing required argument 'fabric'/],
    ['excess argument', ['fabric', 'list', 'extra'], /too many arguments/],
    ['--quiet with --verbose', ['--quiet', '--verbose', 'fabric', 'list'], /cannot be used with/],
    [
      'non-positive interval',
      ['fabric', 'add', 'f', '--interval', '0'],
      /--interval 0: must be a positive whole number/,
    ],
    [
      'malformed ignore rule',
      ['fabric', 'add', 'f', '--ignore', 'VPC:spec/x'],
      /--ignore VPC:spec\/x: .*must start with "\/"/,
    ],
    [
      'ignore rule outside spec/metadata',
      ['fabric', 'add', 'f', '--ignore', '/status/x'],
      /must start with \/spec or \/metadata/,
    ],
    ['ignore rule of an unknown kind', ['fabric', 'add', 'f', '--ignore', 'Router:/spec/x'], /not a fabric kind/],
    [
      'kubeconfig that does not exist',
      ['fabric', 'add', 'f', '--kubeconfig', missing],
      /--kubeconfig .*does not exist/,
    ],
    [
      'git path that does not exist',
      ['fabric', 'add', 'f', '--git', join(tmpdir(), 'hh-cli-no-repo')],
      /--git .*does not exist/,
    ],
    [
      'bad namespace',
      ['fabric', 'add', 'f', '--namespace', 'Not_A_Label'],
      /--namespace Not_A_Label: not a valid namespace/,
    ],
    ['--ref without a Git source', ['fabric', 'add', 'f', '--ref', 'main'], /--ref needs a Git source/],
    ['--in-cluster with --kubeconfig', ['fabric', 'add', 'f', '--in-cluster', '--kubeconfig', missing], /--in-cluster/],
    ['bad drift status', ['drift', 'x', '--status', 'bogus'], /--status bogus: expected one of in_sync/],
    ['bad drift kind', ['drift', 'x', '--kind', 'Routers'], /--kind Routers: not a fabric kind/],
    ['--ref with --actual only', ['sync', 'x', '--actual', '--ref', 'main'], /--ref chooses what to read from Git/],
    ['metrics port out of range', ['watch', 'x', '--metrics-port', '70000'], /--metrics-port 70000/],
    [
      'demo with a database URL',
      ['demo', '--database-url', 'postgres://x/y'],
      /the demo always uses its own embedded ledger/,
    ],
  ])('%s → exit 2 with one line', async (_name, args, pattern) => {
    const r = await hhAlone(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expectOneLine(r, pattern);
  });

  test('no ledger yet: commands that read it say how to make one (exit 2) and create nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hh-cli-none-'));
    try {
      const r = await hhAlone(['--data-dir', join(dir, 'pgdata'), 'fabric', 'list']);
      expect(r.code).toBe(2);
      expectOneLine(r, /no ledger at .*pgdata: add a fabric first/);
      expect(existsSync(join(dir, 'pgdata'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a database that cannot be reached is a runtime failure: exit 3, one line saying what to check', async () => {
    const r = await hhAlone(['--database-url', 'postgres://postgres@127.0.0.1:1/nowhere', 'fabric', 'list']);
    expect(r.code).toBe(3);
    expectOneLine(r, /cannot open the ledger \(postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere\).*check --database-url/);
  });
});

describe('the ledger, command by command', () => {
  test('migrate creates the schema, then says it is up to date; doctor finds it healthy; no fabrics yet', async () => {
    // A database of its own: the file's shared one is migrated already.
    const empty = await createEmptyDatabase();
    try {
      const fresh = (args: string[]) => hhAlone(['--database-url', empty.url, ...args]);
      const first = await fresh(['migrate', '--json']);
      expect(first.code).toBe(0);
      const applied = JSON.parse(first.stdout);
      expect(Object.keys(applied).sort()).toEqual(['applied', 'database']);
      expect(applied.applied.length).toBeGreaterThan(0);
      const again = await fresh(['migrate']);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/the ledger schema is up to date/);
      const doctor = await fresh(['doctor', '--json']);
      expect(doctor.code).toBe(0);
      expect(JSON.parse(doctor.stdout).healthy).toBe(true);
      const list = await fresh(['fabric', 'list', '--json']);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([]);
    } finally {
      await empty.drop();
    }
  }, 90_000);

  test('fabric add stores where the two sides are, with the server URL for display and never the token', async () => {
    const r = await hh([
      'fabric',
      'add',
      'lab',
      '--kubeconfig',
      kubeconfig,
      '--git',
      repo,
      '--namespace',
      'default',
      '--interval',
      '60',
      '--ignore',
      'Switch:/spec/description',
      '--ignore',
      '/metadata/annotations/note',
      '--description',
      'the lab fabric',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f).toMatchObject({
      name: 'lab',
      description: 'the lab fabric',
      kubeconfigPath: kubeconfig,
      kubeContext: null,
      inCluster: false,
      apiServerUrl: api.url,
      namespaces: ['default'],
      gitRepository: repo,
      gitRef: null,
      gitPath: '',
      syncIntervalSeconds: 60,
      ignoreRules: [{ kind: 'Switch', pointer: '/spec/description' }, { pointer: '/metadata/annotations/note' }],
      syncStatus: 'never_synced',
    });
    expect(r.stdout + r.stderr).not.toContain(TOKEN);

    const dup = await hh(['fabric', 'add', 'lab', '--git', repo]);
    expect(dup.code).toBe(2);
    expectOneLine(dup, /a fabric named "lab" already exists.*fabric set lab/);

    // Context names are checked against the kubeconfig.
    const ctx = await hh(['fabric', 'add', 'other', '--kubeconfig', kubeconfig, '--context', 'nope']);
    expect(ctx.code).toBe(2);
    expectOneLine(ctx, /context "nope" is not defined in kubeconfig file .*known contexts: fake/);
  }, 90_000);

  test('relative paths are resolved against the working directory the command was given', async () => {
    const r = await shared.hh(
      ['fabric', 'add', 'relative', '--git', 'repo', '--kubeconfig', './kubeconfig', '--json'],
      { cwd: work },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ gitRepository: repo, kubeconfigPath: kubeconfig });
  });

  test('fabric set changes only what it is given; list shows it; set of nothing / of an unknown fabric is a usage error', async () => {
    await addFabric('setlab', [
      '--kubeconfig',
      kubeconfig,
      '--git',
      repo,
      '--namespace',
      'default',
      '--interval',
      '60',
      '--ignore',
      'Switch:/spec/description',
      '--ignore',
      '/metadata/annotations/note',
    ]);
    const r = await hh([
      'fabric',
      'set',
      'setlab',
      '--ref',
      'main',
      '--path',
      './fabric/',
      '--all-namespaces',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const f = JSON.parse(r.stdout);
    expect(f).toMatchObject({
      gitRef: 'main',
      gitPath: 'fabric',
      namespaces: [],
      syncIntervalSeconds: 60,
      apiServerUrl: api.url,
    });
    expect(f.ignoreRules).toHaveLength(2);

    const nothing = await hh(['fabric', 'set', 'setlab']);
    expect(nothing.code).toBe(2);
    expectOneLine(nothing, /nothing to change/);
    const unknown = await hh(['fabric', 'set', 'ghost', '--ref', 'main']);
    expect(unknown.code).toBe(2);
    expectOneLine(unknown, /no fabric named "ghost"; list them with `hh-sync fabric list`/);

    // Wide enough for the whole temporary paths (a pipe's table is cut to COLUMNS, else 80: cli-output-formats).
    const list = await shared.hh(['fabric', 'list'], { env: cliEnv({ COLUMNS: '300' }) });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+CLUSTER\s+GIT\s+STATUS\s+DRIFTED\s+LAST SYNC/m);
    expect(list.stdout).toMatch(
      new RegExp(`^setlab\\s+${api.url.replace(/[.]/g, '\\.')}\\s+.*@main:fabric\\s+never_synced\\s+0\\s+never`, 'm'),
    );
    expect(hasAnsi(list.stdout + list.stderr)).toBe(false); // not a terminal: no colours
  }, 90_000);

  test('sync --json: desired then actual, one object per run in the documented shape', async () => {
    await addFabric('synclab');
    const r = await hh(['sync', 'synclab', '--json']);
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.stdout);
    expect(Array.isArray(runs)).toBe(true);
    expect(runs.map((x: { type: string }) => x.type)).toEqual(['desired', 'actual']);
    for (const run of runs) {
      expect(Object.keys(run).sort()).toEqual([
        'commit',
        'counts',
        'details',
        'errorMessage',
        'errors',
        'fabric',
        'finishedAt',
        'id',
        'otherKinds',
        'schemaSource',
        'skippedKinds',
        'startedAt',
        'status',
        'type',
      ]);
      expect(Object.keys(run.counts).sort()).toEqual([
        'cleared',
        'created',
        'failed',
        'listed',
        'unchanged',
        'updated',
      ]);
      expect(run).toMatchObject({ fabric: 'synclab', status: 'completed', errors: [] });
      expect(Date.parse(run.finishedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt));
    }
    expect(runs[1].id).toBeGreaterThan(runs[0].id);
    // The actual run started after the desired one finished: the final drift is against a fresh cluster read.
    expect(Date.parse(runs[1].startedAt)).toBeGreaterThanOrEqual(Date.parse(runs[0].finishedAt));
    expect(runs[0].counts).toMatchObject({ listed: git.objects.length, created: git.objects.length, failed: 0 });
    expect(runs[1].counts.listed).toBe(demoClusterFabric().length);
    expect(r.stderr).not.toContain(TOKEN);

    // Again: nothing changed on either side.
    const again = await hh(['sync', 'synclab', '--actual', '--json']);
    expect(again.code).toBe(0);
    const single = JSON.parse(again.stdout);
    expect(Array.isArray(single)).toBe(false);
    expect(single).toMatchObject({
      type: 'actual',
      status: 'completed',
      counts: { created: 0, updated: 0, unchanged: demoClusterFabric().length },
    });
  }, 90_000);

  describe('drift of a synced fabric', () => {
    beforeAll(async () => {
      await addFabric('driftlab');
      expect((await hh(['sync', 'driftlab', '--quiet'])).code).toBe(0);
    }, 90_000);

    test('drift --json has the documented shape and exactly the deliberate differences; --exit-code gives 1', async () => {
      const r = await hh(['drift', 'driftlab', '--json', '--exit-code']);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(Object.keys(report).sort()).toEqual(['fabric', 'resources', 'summary', 'unreadable']);
      expect(report.unreadable).toEqual([]); // every object of this fabric was read
      expect(Object.keys(report.summary.byStatus).sort()).toEqual([...DRIFT_STATUSES].sort());
      expect(Object.keys(report.summary.bySeverity).sort()).toEqual([...DRIFT_SEVERITIES].sort());
      const total = demoClusterFabric().length + 1; // + the object only in Git
      expect(report.summary.total).toBe(total);
      expect(report.summary.byStatus.in_sync).toBe(total - 3);
      for (const res of report.resources) {
        expect(Object.keys(res).sort()).toEqual([
          'differences',
          'driftScore',
          'driftSeverity',
          'driftStatus',
          'kind',
          'name',
          'namespace',
        ]);
        for (const d of res.differences) expect(Object.keys(d).sort()).toEqual(['actual', 'desired', 'op', 'path']);
      }
      const byName = Object.fromEntries(report.resources.map((x: { name: string }) => [x.name, x]));
      const d = git.differences;
      expect(Object.keys(byName).sort()).toEqual([d.changedVlan.name, d.onlyInGit.name, d.onlyInCluster.name].sort());
      expect(byName[d.changedVlan.name]).toMatchObject({
        kind: 'VPC',
        driftStatus: 'spec_drift',
        driftSeverity: 'critical',
        differences: [
          {
            op: 'replace',
            path: '/' + d.changedVlan.pathSegments.join('/'),
            desired: d.changedVlan.gitValue,
            actual: d.changedVlan.clusterValue,
          },
        ],
      });
      expect(byName[d.onlyInGit.name]).toMatchObject({
        kind: d.onlyInGit.kind,
        driftStatus: 'desired_only',
        differences: [{ op: 'add', path: '', actual: null }],
      });
      expect(byName[d.onlyInCluster.name]).toMatchObject({
        kind: d.onlyInCluster.kind,
        driftStatus: 'actual_only',
        differences: [{ op: 'remove', path: '', desired: null }],
      });
    }, 90_000);

    test('drift: the table a person reads, and filters', async () => {
      // Wide enough not to cut (a pipe's table is cut to COLUMNS, else 80: cli-output-formats).
      const r = await shared.hh(['drift', 'driftlab'], { env: cliEnv({ COLUMNS: '200' }) });
      expect(r.code).toBe(0); // drift without --exit-code is not an error
      const d = git.differences;
      expect(r.stdout).toMatch(/^KIND\s+NAME\s+STATUS\s+SEVERITY\s+DIFFERENCES/m);
      expect(r.stdout).toMatch(
        new RegExp(
          `^VPC\\s+${d.changedVlan.name}\\s+spec drift\\s+critical\\s+/spec/subnets/default/vlan: ${d.changedVlan.clusterValue} → ${d.changedVlan.gitValue}`,
          'm',
        ),
      );
      expect(r.stdout).toMatch(new RegExp(`^${d.onlyInGit.kind}\\s+${d.onlyInGit.name}\\s+only in Git\\s+high`, 'm'));
      expect(r.stdout).toMatch(
        new RegExp(`^${d.onlyInCluster.kind}\\s+${d.onlyInCluster.name}\\s+only in cluster\\s+medium`, 'm'),
      );
      expect(r.stdout).toMatch(/\d+ objects: \d+ in sync, 1 spec drift, 1 only in Git, 1 only in cluster/);

      // One at a time: an embedded data directory is locked by the process using it.
      const crit = await hh(['drift', 'driftlab', '--severity', 'critical', '--json']);
      expect(JSON.parse(crit.stdout).resources.map((x: { name: string }) => x.name)).toEqual([d.changedVlan.name]);
      const switches = await hh([
        'drift',
        'driftlab',
        '--kind',
        'switches',
        '--status',
        'in-sync',
        '--json',
        '--exit-code',
      ]);
      const sw = JSON.parse(switches.stdout);
      expect(sw.resources.length).toBe(demoClusterFabric().filter((o) => o.kind === 'Switch').length);
      expect(
        sw.resources.every(
          (x: { kind: string; driftStatus: string }) => x.kind === 'Switch' && x.driftStatus === 'in_sync',
        ),
      ).toBe(true);
      expect(switches.code).toBe(0); // in-sync objects are not findings
    }, 90_000);
  });

  test('a partial desired run exits 0 but says so, and 1 with --exit-code; errors name file and line', async () => {
    const add = await hh(['fabric', 'add', 'broken', '--git', brokenRepo, '--quiet']);
    expect(add.code).toBe(0);
    const r = await hh(['sync', 'broken', '--desired', '--json']);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ type: 'desired', status: 'partial' });
    expect(run.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'fabric/broken.yaml', line: expect.any(Number), reason: expect.any(String) }),
      ]),
    );
    for (const e of run.errors)
      expect(Object.keys(e).sort()).toEqual(['file', 'kind', 'line', 'name', 'namespace', 'reason']);
    expect(messageLines(r.stderr).join('\n')).toMatch(
      /desired sync of fabric broken was partial: \d+ problems? .*everything else was stored/,
    );

    const ci = await hh(['sync', 'broken', '--desired', '--exit-code']);
    expect(ci.code).toBe(1);
    expect(ci.stdout).toMatch(/^! desired\s+partial/m);
    expect(ci.stdout).toMatch(/fabric\/broken\.yaml:\d+ /);
  }, 90_000);

  test('failed runs exit 3 with one line saying what to check: rejected credentials, unreachable cluster, missing Git source', async () => {
    const badToken = join(work, 'bad-token-kubeconfig');
    writeFileSync(badToken, api.kubeconfigYaml({ token: 'wrong-token' }));
    await hh(['fabric', 'add', 'denied', '--kubeconfig', badToken, '--quiet']);
    const denied = await hh(['sync', 'denied']);
    expect(denied.code).toBe(3);
    expect(denied.stdout).toMatch(/^✗ actual\s+failed/m);
    expectOneLine(denied, /actual sync of fabric denied failed: .*(401|Unauthorized|credentials)/i);
    expect(denied.stdout + denied.stderr).not.toContain('wrong-token');

    const unreachable = join(work, 'unreachable-kubeconfig');
    writeFileSync(
      unreachable,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]\n' +
        'users: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    await hh(['fabric', 'add', 'gone', '--kubeconfig', unreachable, '--quiet']);
    const gone = await hh(['sync', 'gone', '--actual', '--json']);
    expect(gone.code).toBe(3);
    expect(JSON.parse(gone.stdout).counts.listed).toBe(0);
    expectOneLine(
      gone,
      /actual sync of fabric gone failed: no fabric kind could be read from the cluster: .*ECONNREFUSED.*check that the cluster is reachable/,
    );

    const noGit = await hh(['sync', 'denied', '--desired']);
    expect(noGit.code).toBe(3);
    expectOneLine(
      noGit,
      /desired sync of fabric denied failed: fabric "denied" has no Git source; set one with `hh-sync fabric set denied --git/,
    );
  }, 120_000);

  test('fabric remove forgets the fabric; commands naming it then exit 2', async () => {
    await addFabric('kept', ['--git', repo]);
    await addFabric('doomed', ['--git', brokenRepo]);
    const r = await hh(['fabric', 'remove', 'doomed', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      fabric: 'doomed',
      removed: true,
      rows: { objects: 0, runs: 0, transitions: 0, crdSchemas: 0 },
    });
    const again = await hh(['fabric', 'remove', 'doomed', '--yes']);
    expect(again.code).toBe(2);
    expectOneLine(again, /no fabric named "doomed"/);
    // Other tests' fabrics share this ledger: only these two are this test's to judge.
    const names = JSON.parse((await hh(['fabric', 'list', '--json'])).stdout).map((f: { name: string }) => f.name);
    expect(names.filter((n: string) => n === 'kept' || n === 'doomed')).toEqual(['kept']);
  }, 90_000);
});

/**
 * The built binary, spawned: a terminal, Ctrl-C and a daemon's SIGINT exist only for a real process. Its ledger
 * is one of its own (an embedded one is a --data-dir the spawned process opens itself); the fabrics are added
 * in-process before it starts.
 */
describe('the built binary', () => {
  let spawned: CliLedger;
  /** hh-sync in-process on the spawned processes' ledger (it opens and closes it like a CLI run). */
  const alongside = (args: string[]) => hhAlone([...spawned.flags, ...args]);

  beforeAll(async () => {
    spawned = await createCliLedger();
  });

  afterAll(async () => {
    await ifSetUp(spawned)?.dispose();
  });

  // Needs util-linux `script` for a pseudo-terminal; without it there is no terminal to test.
  if (canRunInTty())
    test('on a terminal: a progress bar per run and colours; NO_COLOR turns colours off', async () => {
      await addFabric('ttylab', undefined, alongside);
      const r = await runCliInTty([...spawned.flags, 'sync', 'ttylab']);
      expect(r.code).toBe(0);
      // The bar (drawn on stderr, which the pseudo-terminal merges into stdout) counts kinds.
      expect(r.stdout).toMatch(
        new RegExp(`actual\\s+\\S+ \\d+/${FABRIC_KINDS.length} kinds \\| \\d+ listed \\| \\d+ written`),
      );
      // eslint-disable-next-line no-control-regex -- the colour codes (ESC sequences) are what is tested
      expect(r.stdout).toMatch(/\x1b\[32m✓\x1b\[39m desired/); // green check mark
      const plain = await runCliInTty([...spawned.flags, 'drift', 'ttylab'], { env: cliEnv({ NO_COLOR: '1' }) });
      expect(plain.code).toBe(0);
      expect(plain.stdout).toMatch(/spec drift/);
      // eslint-disable-next-line no-control-regex -- NO_COLOR means no colour codes (ESC sequences) at all
      expect(plain.stdout).not.toMatch(/\x1b\[\d+m/);
    }, 90_000);

  test('Ctrl-C during a sync stops the run, records it and exits 130', async () => {
    await addFabric('lab', undefined, alongside);
    // The VPC list hangs: the run is stuck in the cluster read when the signal comes.
    api.injectFault({ type: 'delay', ms: 30_000, match: { kind: 'VPC', watch: false }, times: 1 });
    let sent = false;
    try {
      const r = await runCli([...spawned.flags, 'sync', 'lab', '--actual'], {
        onStderr: (chunk, child) => {
          if (sent || !chunk.includes('reading the actual state')) return;
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 500);
        },
      });
      expect(sent).toBe(true);
      expect(r.code).toBe(130);
      expect(messageLines(r.stderr).join('\n')).toMatch(/SIGINT: stopping/);
      expect(messageLines(r.stderr).join('\n')).toMatch(/interrupted by SIGINT; the runs above were recorded/);
      expect(r.ms).toBeLessThan(30_000); // it did not wait for the hung request
    } finally {
      api.clearFaults();
    }
    const lab = JSON.parse((await alongside(['fabric', 'list', '--json'])).stdout).find(
      (f: { name: string }) => f.name === 'lab',
    );
    expect(lab.syncStatus).toBe('error');
    expect(lab.lastSyncError).toMatch(/abort|interrupt/i);
  }, 90_000);

  test('watch: runs on the ledger, serves metrics, stops cleanly on SIGINT with exit 0', async () => {
    await addFabric('watched', undefined, alongside);
    let metricsUrl: string | undefined;
    let metricsBody = '';
    let signalled = false;
    const r = await runCli([...spawned.flags, 'watch', 'watched', '--metrics-port', '0'], {
      timeoutMs: 60_000,
      onStderr: (_chunk, child) => {
        if (signalled) return;
        const m = /metrics on (http:\/\/\S+\/metrics)/.exec(_chunk);
        if (!m) return;
        metricsUrl = m[1];
        signalled = true;
        // Scrape once, then ask it to stop.
        fetch(metricsUrl!)
          .then((res) => res.text())
          .then((body) => {
            metricsBody = body;
          })
          .catch(() => undefined)
          .finally(() => child.kill('SIGINT'));
      },
    });
    expect(metricsUrl).toBeDefined();
    expect(metricsBody).toMatch(/^# (HELP|TYPE) /m);
    expect(r.code).toBe(0);
  }, 90_000);
});
