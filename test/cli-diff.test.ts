/**
 * `hh-sync diff` (issue 13, a read-only diff), driven in-process on one database for the file, with the fake cluster
 * and a real Git repository of the demo fabric (three deliberate differences: vpc-01's VLAN, vpc-03 only in Git, one
 * VPCAttachment only in the cluster). The fabric reads the repository under `--path fabric`, so `--local` is given a
 * copy of that directory. Nothing the diff does may write to the ledger: every row's xmin and ctid are compared.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  FakeKubeApi,
  commitFiles,
  createGitRepo,
  demoClusterFabric,
  demoGitFabric,
  git,
  toManifestFiles,
} from '../src/testing/index.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { cliEnv, messageLines } from './helpers/cli.js';
import { createSharedCliLedger, hh as hhAlone, type Captured, type SharedCliLedger } from './helpers/cli-in-process.js';
import { ifSetUp } from './helpers/if-set-up.js';

const demo = demoGitFabric();
const VLAN = '/spec/subnets/default/vlan';
/** The list path of every fabric kind. */
const EVERY_LIST = new RegExp(`/(${FABRIC_KINDS.map((k) => k.plural).join('|')})$`);
const TOKEN = 'glpat-DiffTok3n0123456789x';

let shared: SharedCliLedger;
let api: FakeKubeApi;
let work: string;
let kubeconfig: string;
let repo: string;
/** The commit the fabric's ref (main) points at. */
let mainCommit: string;

// Wide enough that no table is cut (a pipe's table is cut to COLUMNS, else 80).
const hh = (args: string[]) => shared.hh(args, { cwd: work, env: cliEnv({ COLUMNS: '250' }) });
const json = (r: Captured): any => JSON.parse(r.stdout);

/** The manifest file (relative to `dir`, '/'-separated) declaring `kind` `name`. */
function fileDeclaring(dir: string, kind: string, name: string): string {
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.yaml'));
  const file = files.find((f) =>
    new RegExp(`kind: ${kind}\\nmetadata:\\n  name: ${name}\\n`).test(readFileSync(join(dir, f), 'utf8')),
  );
  if (!file) throw new Error(`no file declares ${kind} ${name}`);
  return file.split(sep).join('/');
}

/** A copy of the fabric's manifests directory to edit as uncommitted work. */
function localCopy(name: string): string {
  const dir = join(work, name);
  cpSync(join(repo, 'fabric'), dir, { recursive: true });
  return dir;
}

/** `vlan: <from>` → `vlan: <to>` in the document of VPC `name` only. */
function setVlan(dir: string, name: string, from: number, to: number): void {
  const file = join(dir, fileDeclaring(dir, 'VPC', name));
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`name: ${name}\n`);
  const at = text.indexOf(`vlan: ${from}\n`, start);
  expect(at).toBeGreaterThan(start);
  writeFileSync(file, `${text.slice(0, at)}vlan: ${to}\n${text.slice(at + `vlan: ${from}\n`.length)}`);
}

/** The C0 (but newline and tab), DEL and C1 control characters in `text`. */
function controlCharacters(text: string): string[] {
  return Array.from(text).filter((ch) => {
    const c = ch.codePointAt(0)!;
    return (c < 0x20 && ch !== '\n' && ch !== '\t') || (c >= 0x7f && c <= 0x9f);
  });
}

/** kind/name → [status, paths] of every differing object of a diff or drift JSON document. */
function differing(
  objects: { kind: string; name: string; status?: string; driftStatus?: string; differences: { path: string }[] }[],
) {
  return Object.fromEntries(
    objects.map((o) => [`${o.kind}/${o.name}`, [o.status ?? o.driftStatus, o.differences.map((d) => d.path)]]),
  );
}

async function addFabric(name: string, extra: string[] = [], sync = true): Promise<void> {
  const add = await hh([
    'fabric',
    'add',
    name,
    '--kubeconfig',
    kubeconfig,
    '--git',
    repo,
    '--ref',
    'main',
    '--path',
    'fabric',
    '--quiet',
    ...extra,
  ]);
  expect(add).toMatchObject({ code: 0 });
  if (sync) expect((await hh(['sync', name, '--quiet'])).code).toBe(0);
}

/** Every row of every table of the ledger's schema: its xmin and ctid (a write changes both), and the row counts. */
async function ledgerSnapshot(): Promise<Record<string, string[]>> {
  const conn = shared.db.orm.em.getConnection();
  const tables = await conn.execute<{ tablename: string }[]>(
    `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`,
  );
  const snapshot: Record<string, string[]> = {};
  for (const { tablename } of tables) {
    const rows = await conn.execute<{ v: string }[]>(
      `SELECT xmin::text || ' ' || ctid::text AS v FROM "${tablename}" ORDER BY ctid`,
    );
    snapshot[tablename] = rows.map((r) => r.v);
  }
  return snapshot;
}

beforeAll(async () => {
  shared = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-diff-'));
  api = new FakeKubeApi();
  api.load(demoClusterFabric());
  await api.start();
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml());
  repo = join(work, 'repo');
  await createGitRepo(repo, toManifestFiles(demo.objects));
  mainCommit = (await git(repo, 'rev-parse', 'HEAD')).trim();
  // A branch that moves vpc-02's VLAN: 1002 → 1501.
  const feature = localCopy('feature-tree');
  setVlan(feature, 'vpc-02', 1002, 1501);
  const file = fileDeclaring(feature, 'VPC', 'vpc-02');
  await commitFiles(repo, { [`fabric/${file}`]: readFileSync(join(feature, file), 'utf8') }, { branch: 'feature' });
  await git(repo, 'checkout', '-q', 'main');
  await addFabric('dc');
}, 120_000);

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(shared)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("diff with the fabric's own ref shows what drift shows after a sync, as RFC 6902 operations", async () => {
  const [diff, drift] = await Promise.all([hh(['diff', 'dc', '-o', 'json']), hh(['drift', 'dc', '--json'])]);
  expect(diff.code).toBe(0);
  const report = json(diff);
  expect(differing(report.objects)).toEqual(differing(json(drift).resources));
  expect(differing(report.objects)).toEqual({
    'VPC/vpc-01': ['spec_drift', [VLAN]],
    'VPC/vpc-03': ['desired_only', ['']],
    [`VPCAttachment/${demo.differences.onlyInCluster.name}`]: ['actual_only', ['']],
  });
  const vpc01 = report.objects.find((o: { name: string }) => o.name === 'vpc-01');
  expect(vpc01.differences).toEqual([
    { op: 'replace', path: VLAN, value: 1100, actual: demo.differences.changedVlan.clusterValue },
  ]);
  // The object-level operations carry the whole object, as RFC 6902 `add` and `remove` of the root.
  const vpc03 = report.objects.find((o: { name: string }) => o.name === 'vpc-03');
  expect(vpc03.differences[0]).toMatchObject({
    op: 'add',
    path: '',
    value: { spec: { subnets: { default: { vlan: 1004 } } } },
  });
  expect(report.desired).toEqual({ type: 'git', repository: repo, ref: 'main', commit: mainCommit, path: 'fabric' });
  expect(report.actual).toMatchObject({ type: 'ledger', asOf: expect.any(String), ageSeconds: expect.any(Number) });
  expect(report.summary).toMatchObject({ differing: 3, notCompared: 0 });
  expect(report.summary.total).toBe(demoClusterFabric().length + 1);
});

test('the table says what was compared with what and how old the cluster side is, one line per differing object', async () => {
  const r = await hh(['diff', 'dc']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(
    new RegExp(
      `^Diff of fabric dc: ref main \\(commit ${mainCommit.slice(0, 7)}\\) path fabric vs the cluster as of the last actual sync \\d+ (s|min) ago \\(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\)$`,
      'm',
    ),
  );
  expect(r.stdout).toMatch(/^KIND\s+NAME\s+STATUS\s+SEVERITY\s+DIFFERENCES \(cluster → declared\)$/m);
  expect(r.stdout).toMatch(new RegExp(`^VPC\\s+vpc-01\\s+spec drift\\s+critical\\s+${VLAN}: 1000 → 1100$`, 'm'));
  expect(r.stdout).toMatch(/^VPC\s+vpc-03\s+missing from cluster\s+high\s+declared, missing from the cluster$/m);
  const names = await hh(['diff', 'dc', '-o', 'name']);
  expect(names.stdout.trim().split('\n').sort()).toEqual(
    ['VPC/vpc-01', 'VPC/vpc-03', `VPCAttachment/${demo.differences.onlyInCluster.name}`].sort(),
  );
  const wide = await hh(['diff', 'dc', '-o', 'wide']);
  expect(wide.stdout).toMatch(/^KIND\s+NAME\s+STATUS\s+SEVERITY\s+SCORE\s+FILE\s+DIFFERENCES/m);
  expect(wide.stdout).toMatch(
    new RegExp(
      `^VPC\\s+vpc-01\\s+spec drift\\s+critical\\s+\\d\\.\\d\\d\\s+fabric/vpc/001\\.yaml:\\d+\\s+${VLAN}`,
      'm',
    ),
  );
});

test('a table for a narrow terminal fits it; -o wide is never cut', async () => {
  const narrow = await shared.hh(['diff', 'dc'], { cwd: work, env: cliEnv({ COLUMNS: '80' }) });
  const lines = narrow.stdout.trimEnd().split('\n');
  expect(lines.filter((l) => /^VPC\s/.test(l))).toHaveLength(2);
  for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
  const wide = await shared.hh(['diff', 'dc', '-o', 'wide'], { cwd: work, env: cliEnv({ COLUMNS: '80' }) });
  expect(wide.stdout).toContain(demo.differences.onlyInCluster.name);
  expect(Math.max(...wide.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(80);
});

test('--local with an uncommitted edit shows exactly that difference more, as an RFC 6902 path', async () => {
  const local = localCopy('edit');
  setVlan(local, 'vpc-02', 1002, 1777);
  const [base, edited] = await Promise.all([
    hh(['diff', 'dc', '-o', 'json']),
    hh(['diff', 'dc', '--local', 'edit', '-o', 'json']),
  ]);
  expect(edited.code).toBe(0);
  const report = json(edited);
  expect(report.desired).toEqual({ type: 'local', directory: local });
  expect(differing(report.objects)).toEqual({ ...differing(json(base).objects), 'VPC/vpc-02': ['spec_drift', [VLAN]] });
  expect(report.objects.find((o: { name: string }) => o.name === 'vpc-02').differences).toEqual([
    { op: 'replace', path: VLAN, value: 1777, actual: 1002 },
  ]);
  const table = await hh(['diff', 'dc', '--local', 'edit']);
  expect(table.stdout).toMatch(/^Diff of fabric dc: local edit vs the cluster as of the last actual sync/m);
});

test('--ref reads another branch, or a commit by its sha', async () => {
  const branch = json(await hh(['diff', 'dc', '--ref', 'feature', '-o', 'json']));
  const featureCommit = (await git(repo, 'rev-parse', 'feature')).trim();
  expect(branch.desired).toMatchObject({ type: 'git', ref: 'feature', commit: featureCommit });
  expect(branch.objects.find((o: { name: string }) => o.name === 'vpc-02').differences).toEqual([
    { op: 'replace', path: VLAN, value: 1501, actual: 1002 },
  ]);
  const sha = await hh(['diff', 'dc', '--ref', mainCommit, '-o', 'json']);
  expect(sha.code).toBe(0);
  expect(json(sha).desired).toMatchObject({ commit: mainCommit });
  expect(json(sha).objects.map((o: { name: string }) => o.name)).not.toContain('vpc-02');
  expect(json(sha).summary.differing).toBe(3);
});

test("the fabric's ignore rules apply to the diff as to the drift", async () => {
  await addFabric('dcign', ['--ignore', `VPC:${VLAN}`]);
  const local = localCopy('edit-ignored');
  setVlan(local, 'vpc-02', 1002, 1888);
  const r = json(await hh(['diff', 'dcign', '--local', 'edit-ignored', '-o', 'json']));
  const names = r.objects.map((o: { name: string }) => o.name);
  expect(names).not.toContain('vpc-01');
  expect(names).not.toContain('vpc-02');
  expect(names).toContain('vpc-03');
});

test('--exit-code: 0 when nothing differs, 1 when something does; -n and --kind narrow what is compared', async () => {
  const same = await hh(['diff', 'dc', '--kind', 'Switch', '--exit-code']);
  expect(same.code).toBe(0);
  expect(same.stdout).toMatch(/objects compared: \d+ in sync\nNo difference\./);
  expect((await hh(['diff', 'dc', '--exit-code'])).code).toBe(1);
  expect((await hh(['diff', 'dc', '--kind', 'vpc', '--exit-code'])).code).toBe(1);
  expect((await hh(['diff', 'dc', '-n', 'elsewhere', '--exit-code', '-o', 'json'])).code).toBe(0);
  expect((await hh(['diff', 'dc'])).code).toBe(0); // differences without --exit-code are not a failure
});

test('-o json is one JSON document, -o yaml one YAML document holding the same report', async () => {
  const [j, y] = await Promise.all([hh(['diff', 'dc', '-o', 'json']), hh(['diff', 'dc', '-o', 'yaml'])]);
  const fromYaml = parseYaml(y.stdout) as Record<string, unknown>;
  const fromJson = json(j);
  // The age is measured at each run; the rest is the same document.
  delete (fromYaml.actual as Record<string, unknown>).ageSeconds;
  delete fromJson.actual.ageSeconds;
  expect(fromYaml).toEqual(fromJson);
});

test('--live reads the cluster now: a change made since the last sync shows there, not in the ledger diff', async () => {
  const vpc = api.get('VPC', 'default', 'vpc-02')!;
  const spec = structuredClone(vpc.spec) as { subnets: { default: { vlan: number } } };
  spec.subnets.default.vlan = 1999;
  api.apply({ ...vpc, spec });
  try {
    const [ledger, live] = await Promise.all([
      hh(['diff', 'dc', '-o', 'json']),
      hh(['diff', 'dc', '--live', '-o', 'json']),
    ]);
    expect(json(ledger).objects.map((o: { name: string }) => o.name)).not.toContain('vpc-02');
    expect(json(ledger).actual.type).toBe('ledger');
    const report = json(live);
    expect(report.actual).toMatchObject({ type: 'live', failedKinds: [] });
    expect(report.objects.find((o: { name: string }) => o.name === 'vpc-02').differences).toEqual([
      { op: 'replace', path: VLAN, value: 1002, actual: 1999 },
    ]);
    const table = await hh(['diff', 'dc', '--live']);
    expect(table.stdout).toMatch(
      /^Diff of fabric dc: ref main \(commit [0-9a-f]{7}\) path fabric vs the cluster now$/m,
    );
  } finally {
    api.apply(vpc);
  }
});

test('a file that does not parse in --local: one line naming file and line, the other objects still compared', async () => {
  const local = localCopy('broken');
  writeFileSync(
    join(local, 'zz-broken.yaml'),
    'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata: name: broken\nspec: {}\n',
  );
  const r = await hh(['diff', 'dc', '--local', 'broken', '--exit-code']);
  expect(r.code).toBe(1);
  expect(messageLines(r.stderr)).toEqual([expect.stringMatching(/^hh-sync: refused zz-broken\.yaml:3: invalid YAML/)]);
  expect(r.stdout).toMatch(/Refused in the desired read \(1\):\n {2}zz-broken\.yaml:3: /);
  const report = json(await hh(['diff', 'dc', '--local', 'broken', '-o', 'json']));
  expect(report.refused).toEqual([expect.objectContaining({ file: 'zz-broken.yaml', line: 3 })]);
  expect(differing(report.objects)).toMatchObject({ 'VPC/vpc-01': ['spec_drift', [VLAN]] });
});

test('the objects of a refused file are not compared (never shown as only in the cluster)', async () => {
  const local = localCopy('refused-file');
  const vpcFile = fileDeclaring(local, 'VPC', 'vpc-01');
  writeFileSync(join(local, vpcFile), 'kind: VPC\nmetadata: [unclosed\n');
  const report = json(await hh(['diff', 'dc', '--local', 'refused-file', '-o', 'json']));
  expect(report.refused).toEqual([expect.objectContaining({ file: vpcFile })]);
  const notCompared = report.notCompared.map((n: { kind: string; name: string }) => `${n.kind}/${n.name}`);
  expect(notCompared).toEqual(expect.arrayContaining(['VPC/vpc-01', 'VPC/vpc-02']));
  expect(report.notCompared[0].reason).toMatch(
    new RegExp(`${vpcFile.replace('.', '\\.')}, which declared it, was refused`),
  );
  expect(
    report.objects.filter((o: { kind: string; status: string }) => o.kind === 'VPC' && o.status === 'actual_only'),
  ).toEqual([]);
});

test('bad input is one line with the right exit code, and one JSON document with -o json', async () => {
  await addFabric('unsynced', [], false);
  const cases: [string[], number, RegExp][] = [
    [['diff', 'dc', '--local', 'no-such-dir'], 2, /^hh-sync: --local no-such-dir: no such directory: .*no-such-dir$/],
    [
      ['diff', 'dc', '--ref', 'nope'],
      2,
      /^hh-sync: --ref nope: ref 'nope' is not a branch, tag or commit of the repository$/,
    ],
    [['diff', 'ghost'], 2, /no fabric named "ghost"/],
    [['diff', 'dc', '--local', 'x', '--ref', 'main'], 2, /--local and --ref exclude each other/],
    [['diff', 'dc', '--kind', 'gizmo'], 2, /--kind gizmo: not a fabric kind/],
    [
      ['diff', 'unsynced'],
      3,
      /fabric "unsynced" was never read from its cluster.*hh-sync sync unsynced --actual.*hh-sync diff unsynced --live/,
    ],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await hh(args);
    expect({ args, code: r.code }).toEqual({ args, code });
    expect(messageLines(r.stderr)).toEqual([expect.stringMatching(pattern)]);
    const j = await hh([...args, '-o', 'json']);
    expect({ args, code: j.code }).toEqual({ args, code });
    expect(json(j)).toEqual({ error: expect.objectContaining({ exitCode: code }) });
  }
});

test('hostile text in a file name or an object name reaches the terminal inert', async () => {
  const local = localCopy('hostile');
  const evil = 'evil\u001b[2J\u001b]0;owned\u0007.yaml';
  writeFileSync(
    join(local, evil),
    'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: "x\\e[31mred"\nspec: {}\n',
  );
  const r = await hh(['diff', 'dc', '--local', 'hostile']);
  expect(r.code).toBe(0);
  const text = `${r.stdout}${r.stderr}`;
  // Named, the escape sequences removed whole (the screen is not cleared, the window title not set).
  expect(messageLines(r.stderr)).toEqual([
    expect.stringMatching(/^hh-sync: refused evil\.yaml:4: metadata\.name 'xred' must be/),
  ]);
  expect(controlCharacters(text)).toEqual([]);
});

test('--live with the cluster refusing every list: one line, exit 3, the ledger diff unaffected', async () => {
  api.injectFault({ type: 'status', code: 403, match: { watch: false, path: EVERY_LIST } });
  try {
    const r = await hh(['diff', 'dc', '--live']);
    expect(r.code).toBe(3);
    expect(messageLines(r.stderr)).toEqual([
      expect.stringMatching(
        /no fabric kind could be read from the cluster: every list failed: .*check that the cluster is reachable/,
      ),
    ]);
    const j = await hh(['diff', 'dc', '--live', '-o', 'json']);
    expect(json(j)).toEqual({ error: expect.objectContaining({ code: 'cluster', exitCode: 3 }) });
    expect((await hh(['diff', 'dc'])).code).toBe(0); // the ledger's side needs no cluster
  } finally {
    api.clearFaults();
  }
});

test('one kind the cluster will not list with --live: its objects are not compared, the others are', async () => {
  api.injectFault({ type: 'status', code: 403, match: { plural: 'vpcs' } });
  try {
    const r = await hh(['diff', 'dc', '--live', '-o', 'json', '--exit-code']);
    expect(r.code).toBe(1);
    const report = json(r);
    expect(report.actual.failedKinds).toEqual([{ kind: 'VPC', reason: expect.any(String) }]);
    const notCompared = report.notCompared.map((n: { kind: string; name: string }) => `${n.kind}/${n.name}`);
    expect(notCompared).toEqual(expect.arrayContaining(['VPC/vpc-01', 'VPC/vpc-02', 'VPC/vpc-03']));
    expect(report.objects.map((o: { kind: string }) => o.kind)).not.toContain('VPC');
    expect(differing(report.objects)).toMatchObject({
      [`VPCAttachment/${demo.differences.onlyInCluster.name}`]: ['actual_only', ['']],
    });
  } finally {
    api.clearFaults();
  }
});

test('help lists diff with its flags', async () => {
  const [top, diff] = await Promise.all([hhAlone(['--help']), hhAlone(['diff', '--help'])]);
  expect(top.stdout).toMatch(/^ {2}diff\b/m);
  for (const flag of [
    '--local <dir>',
    '--ref <ref>',
    '--live',
    '--kind <kind>',
    '-n, --namespace',
    '-A, --all-namespaces',
    '--exit-code',
  ])
    expect(diff.stdout).toContain(flag);
});

test('a database that is down: one line, exit 3, and one JSON document with -o json', async () => {
  const down = ['--database-url', 'postgres://postgres@127.0.0.1:1/nowhere', 'diff', 'dc'];
  const r = await hhAlone(down, { env: cliEnv(), cwd: work });
  expect(r.code).toBe(3);
  expect(messageLines(r.stderr)).toEqual([expect.stringMatching(/cannot open the ledger/)]);
  const j = await hhAlone([...down, '-o', 'json'], { env: cliEnv(), cwd: work });
  expect(j.code).toBe(3);
  expect(JSON.parse(j.stdout)).toEqual({ error: expect.objectContaining({ code: 'database', exitCode: 3 }) });
});

test('a token in the Git URL is never printed, even when the repository cannot be read', async () => {
  const url = `https://oauth2:${TOKEN}@127.0.0.1:1/org/fabric.git`;
  expect((await hh(['fabric', 'add', 'tokened', '--kubeconfig', kubeconfig, '--git', url, '--quiet'])).code).toBe(0);
  expect((await hh(['sync', 'tokened', '--actual', '--quiet'])).code).toBe(0);
  for (const args of [
    ['diff', 'tokened'],
    ['diff', 'tokened', '-o', 'json'],
    ['diff', 'tokened', '-v'],
  ]) {
    const r = await shared.hh(args, { cwd: work, env: { ...process.env, HH_SYNC_GIT_TIMEOUT: '5' } });
    expect(r.code).toBe(3);
    expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
  }
});

test('nothing is written: every row of every ledger table keeps its xmin and ctid, and no run is recorded', async () => {
  const local = localCopy('nowrite');
  setVlan(local, 'vpc-02', 1002, 1234);
  const before = await ledgerSnapshot();
  expect(Object.keys(before)).toEqual(
    expect.arrayContaining([
      'hedgehog_fabric',
      'hedgehog_resource',
      'sync_operation',
      'state_transition',
      'fabric_crd_schema',
    ]),
  );
  expect(before.hedgehog_resource!.length).toBeGreaterThan(0);
  expect(before.sync_operation!.length).toBeGreaterThan(0);
  for (const args of [
    ['diff', 'dc'],
    ['diff', 'dc', '--local', 'nowrite'],
    ['diff', 'dc', '--ref', 'feature'],
    ['diff', 'dc', '--live'],
    ['diff', 'dc', '--live', '--local', 'nowrite', '-o', 'json'],
  ]) {
    const r = await hh(args);
    expect({ args, code: r.code }).toEqual({ args, code: 0 });
    expect(await ledgerSnapshot()).toEqual(before);
  }
  // The snapshot does see writes: a sync, even one that finds nothing new, records its run.
  expect((await hh(['sync', 'dc', '--actual', '--quiet'])).code).toBe(0);
  expect(await ledgerSnapshot()).not.toEqual(before);
});
