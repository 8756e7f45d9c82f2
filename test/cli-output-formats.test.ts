/**
 * `-o json|yaml|wide|name` on the existing commands, tables cut to the terminal's width (its columns, else COLUMNS,
 * else 80), and `-n/-A` on `drift` and `drafts` — driven in-process against one database for the file, a fake cluster
 * and a real Git repository. The fabric is the demo's plus three objects made for this file: a VPC with a 253-character
 * name (the longest Kubernetes allows) differing from Git in five places, one of them a long annotation of wide
 * characters; and a VPC in namespace tenant-a that only the cluster runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import stringWidth from 'string-width';
import { parse as parseYaml } from 'yaml';
import { main } from '../src/cli/main.js';
import { query } from '../src/store/sql.js';
import { FakeKubeApi, createGitRepo, demoClusterFabric, demoGitFabric, toManifestFiles } from '../src/testing/index.js';
import { createSharedCliLedger, hh as hhAlone, type Captured, type SharedCliLedger } from './helpers/cli-in-process.js';
import { cliEnv, messageLines } from './helpers/cli.js';
import { ifSetUp } from './helpers/if-set-up.js';

const FABRIC = 'fmt';
const LONG = `vpc-${'a'.repeat(249)}`; // 253 characters
const TENANT_VPC = 'vpc-tenant';
/** Five paths differ on the long VPC: the annotation and four subnet fields. */
const LONG_PATHS = [
  '/metadata/annotations/example.com~1note',
  '/spec/subnets/default/dhcp/range/end',
  '/spec/subnets/default/dhcp/range/start',
  '/spec/subnets/default/gateway',
  '/spec/subnets/default/vlan',
];
const CLUSTER_NOTE = `${'漢字'.repeat(60)}-cluster`;
const GIT_NOTE = `${'x'.repeat(150)}-git`;

let shared: SharedCliLedger;
let api: FakeKubeApi;
let work: string;
let kubeconfig: string;
let repo: string;

type Obj = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> } } & {
  [k: string]: any;
};

/** A copy of the demo's vpc-01 under another name and namespace, with the subnet fields and note given. */
function vpcLike(base: Obj, name: string, namespace: string, vlan: number, last: number, note: string): Obj {
  const copy = structuredClone(base);
  copy.metadata = { ...copy.metadata, name, namespace, annotations: { 'example.com/note': note } };
  const subnet = copy.spec.subnets.default;
  subnet.vlan = vlan;
  subnet.gateway = `10.50.0.${last}`;
  subnet.subnet = '10.50.0.0/24';
  subnet.dhcp.range = { start: `10.50.0.${last + 10}`, end: `10.50.0.${last + 90}` };
  return copy;
}

/** Environment without a COLUMNS from the test's own terminal (the width under test comes from the options). */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e = cliEnv({ NO_COLOR: '1', ...extra });
  if (!('COLUMNS' in extra)) delete e.COLUMNS;
  return e;
}

interface StreamOptions {
  /** stdout is a terminal this many columns wide. */
  columns?: number;
  env?: NodeJS.ProcessEnv;
  stdin?: string;
}

/** hh-sync in-process on the file's ledger, stdout optionally a terminal of `columns` columns. */
async function hh(args: string[], o: StreamOptions = {}): Promise<Captured> {
  const stdout = {
    text: '',
    isTTY: o.columns !== undefined,
    columns: o.columns,
    write(t: string) {
      this.text += t;
      return true;
    },
  };
  const stderr = {
    text: '',
    write(t: string) {
      this.text += t;
      return true;
    },
  };
  const code = await main([...shared.flags, ...args], {
    stdout,
    stderr,
    env: o.env ?? env(),
    cwd: work,
    stdin: Readable.from(o.stdin === undefined ? [] : [Buffer.from(o.stdin, 'utf8')]),
    openLedger: shared.openLedger,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

// eslint-disable-next-line no-control-regex -- colour codes are removed before measuring
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
/** The widest line of `text`, in terminal columns. */
const widest = (text: string) => Math.max(...text.split('\n').map((l) => stringWidth(stripAnsi(l))));

/** `-o json` and `-o yaml` print the same one document. */
async function sameDocument(args: string[]): Promise<unknown> {
  // One after the other: a sync run holds its fabric's lock.
  const json = await hh([...args, '-o', 'json']);
  const yaml = await hh([...args, '-o', 'yaml']);
  expect({ json: json.code, yaml: yaml.code }).toEqual({ json: 0, yaml: 0 });
  const fromJson: unknown = JSON.parse(json.stdout);
  expect(() => JSON.parse(yaml.stdout)).toThrow(); // YAML, not JSON in disguise
  expect(parseYaml(yaml.stdout)).toEqual(fromJson);
  return fromJson;
}

/** A refused format: exit 2, one line naming the format and the command; with -o json one JSON error document. */
function expectRefused(r: Captured, format: string, command: string): void {
  expect(r.code).toBe(2);
  const lines = messageLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`-o ${format}`);
  expect(lines[0]).toContain(command);
}

beforeAll(async () => {
  shared = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-output-'));
  const cluster = demoClusterFabric() as Obj[];
  const vpc01 = cluster.find((o) => o.kind === 'VPC' && o.metadata.name === 'vpc-01')!;
  const git = demoGitFabric().objects as Obj[];
  api = new FakeKubeApi();
  api.load([
    ...cluster,
    vpcLike(vpc01, LONG, 'default', 1500, 1, CLUSTER_NOTE),
    vpcLike(vpc01, TENANT_VPC, 'tenant-a', 1600, 1, 'tenant'),
  ]);
  await api.start();
  kubeconfig = join(work, 'kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfigYaml());
  repo = join(work, 'repo');
  await createGitRepo(repo, toManifestFiles([...git, vpcLike(vpc01, LONG, 'default', 1501, 2, GIT_NOTE)] as never[]));
  expect(await hh(['fabric', 'add', FABRIC, '--kubeconfig', kubeconfig, '--git', repo, '--quiet'])).toMatchObject({
    code: 0,
  });
  expect((await hh(['sync', FABRIC, '--quiet'])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await ifSetUp(api)?.stop();
  await ifSetUp(shared)?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('drift: the table fits the terminal', () => {
  test('not a terminal and no COLUMNS: every line fits 80 columns, long cells cut with …', async () => {
    const r = await hh(['drift', FABRIC]);
    expect(r.code).toBe(0);
    expect(widest(r.stdout)).toBeLessThanOrEqual(80);
    expect(r.stdout).not.toContain(LONG);
    // The long row is there, its name cut (not dropped), its paths and the severity column kept.
    const row = r.stdout.split('\n').find((l) => /^VPC\s+default\s+vpc-aaaa/.test(l));
    expect(row).toBeDefined();
    expect(row).toMatch(/…/);
    expect(row).toMatch(/spec drift/);
    expect(r.stdout).toMatch(/^\s+… 2 more/m);
  });

  test("a terminal's own width wins over COLUMNS; COLUMNS counts when stdout is a pipe", async () => {
    const narrow = await hh(['drift', FABRIC], { columns: 60, env: env({ COLUMNS: '200', NO_COLOR: '' }) });
    expect(narrow.code).toBe(0);
    expect(widest(narrow.stdout)).toBeLessThanOrEqual(60);
    expect(narrow.stdout).toContain('…');
    const piped = await hh(['drift', FABRIC], { env: env({ COLUMNS: '120' }) });
    expect(widest(piped.stdout)).toBeLessThanOrEqual(120);
    expect(widest(piped.stdout)).toBeGreaterThan(80);
    // A COLUMNS that is no number is ignored: 80.
    const bad = await hh(['drift', FABRIC], { env: env({ COLUMNS: 'wide' }) });
    expect(widest(bad.stdout)).toBeLessThanOrEqual(80);
  });

  test('the wide annotation (two columns per character) is measured as the terminal shows it', async () => {
    // 200 columns: the name is cut, the differences (the note: 40 columns of values each side) are not.
    const r = await hh(['drift', FABRIC, '--kind', 'VPC', '--max-paths', '5'], { columns: 200 });
    expect(r.stdout).toContain('漢字漢字');
    expect(r.stdout).not.toContain(LONG);
    expect(widest(r.stdout)).toBeLessThanOrEqual(200);
  });

  test('-o wide cuts nothing: the whole name, every differing path, whole values', async () => {
    const r = await hh(['drift', FABRIC, '-o', 'wide'], { columns: 60 });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(LONG);
    for (const p of LONG_PATHS) expect(r.stdout).toContain(`${p}:`);
    expect(r.stdout).toContain(JSON.stringify(CLUSTER_NOTE));
    expect(r.stdout).toContain(JSON.stringify(GIT_NOTE));
    expect(r.stdout).not.toMatch(/… \d+ more/);
    expect(widest(r.stdout)).toBeGreaterThan(253);
  });
});

describe('drift: -o name, json, yaml, -n/-A', () => {
  test('-o name: Kind/name (Kind/namespace/name outside default) per object that differs, as --json lists them', async () => {
    const [names, json] = await Promise.all([hh(['drift', FABRIC, '-o', 'name']), hh(['drift', FABRIC, '--json'])]);
    expect(names.code).toBe(0);
    const expected = (JSON.parse(json.stdout).resources as { kind: string; namespace: string; name: string }[]).map(
      (r) => (r.namespace === 'default' ? `${r.kind}/${r.name}` : `${r.kind}/${r.namespace}/${r.name}`),
    );
    expect(names.stdout.trimEnd().split('\n')).toEqual(expected);
    expect(expected).toEqual(expect.arrayContaining([`VPC/${LONG}`, `VPC/tenant-a/${TENANT_VPC}`, 'VPC/vpc-01']));
    expect(expected).toHaveLength(5);
  });

  test('-o yaml is the JSON document as YAML', async () => {
    const doc = (await sameDocument(['drift', FABRIC])) as { resources: unknown[] };
    expect(doc.resources).toHaveLength(5);
  });

  test('-n keeps one namespace, -A every one; -n with -A is a usage error', async () => {
    const tenant = await hh(['drift', FABRIC, '-n', 'tenant-a', '-o', 'name']);
    expect(tenant).toMatchObject({ code: 0, stdout: `VPC/tenant-a/${TENANT_VPC}\n` });
    const both = await hh(['drift', FABRIC, '--namespace', 'default,tenant-a', '--json']);
    expect(JSON.parse(both.stdout).resources).toHaveLength(5);
    const defaults = await hh(['drift', FABRIC, '-n', 'default', '--json']);
    const resources = JSON.parse(defaults.stdout).resources as { namespace: string }[];
    expect(resources).toHaveLength(4);
    expect(resources.every((r) => r.namespace === 'default')).toBe(true);
    const all = await hh(['drift', FABRIC, '-A', '-o', 'name']);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(5);
    const none = await hh(['drift', FABRIC, '-n', 'no-such-namespace']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/Nothing to show: no object differs \(with these filters\)/);
    const clash = await hh(['drift', FABRIC, '-n', 'default', '-A', '-o', 'json']);
    expect(clash.code).toBe(2);
    expect(messageLines(clash.stderr)).toHaveLength(1);
    expect(JSON.parse(clash.stdout).error.code).toBe('usage');
  });

  test('-n filters the objects that could not be read too', async () => {
    const mark = (reason: string | null) =>
      query(
        shared.db.orm.em.fork(),
        `UPDATE hedgehog_resource SET last_sync_error = ? WHERE name = ? AND namespace = 'tenant-a'`,
        [reason, TENANT_VPC],
      );
    await mark('refused: a test reason');
    try {
      const unreadable = async (ns: string) =>
        JSON.parse((await hh(['drift', FABRIC, '-n', ns, '--json'])).stdout).unreadable as { name: string }[];
      expect((await unreadable('tenant-a')).map((u) => u.name)).toEqual([TENANT_VPC]);
      expect(await unreadable('default')).toEqual([]);
      const text = await hh(['drift', FABRIC, '-n', 'tenant-a']);
      expect(text.stdout).toMatch(/^1 object could not be read/m);
      expect(text.stdout).toMatch(/^ {2}VPC tenant-a\/vpc-tenant — refused: a test reason$/m);
    } finally {
      await mark(null);
    }
  });

  test('the database down with -o yaml: exit 3 and one YAML error document, the password not in it', async () => {
    const r = await hhAlone(
      [
        'drift',
        FABRIC,
        '-o',
        'yaml',
        '--database-url',
        'postgres://hh:s3cret-pw@127.0.0.1:1/hh',
        '--connect-timeout',
        '5',
      ],
      { env: env() },
    );
    expect(r.code).toBe(3);
    expect(parseYaml(r.stdout)).toEqual({ error: expect.objectContaining({ code: 'database', exitCode: 3 }) });
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    expect(messageLines(r.stderr)).toHaveLength(1);
  });

  test('an unknown fabric with -o yaml: exit 2 and one YAML error document', async () => {
    const r = await hh(['drift', 'no-such-fabric', '-o', 'yaml']);
    expect(r.code).toBe(2);
    expect(parseYaml(r.stdout)).toEqual({ error: expect.objectContaining({ code: 'usage', exitCode: 2 }) });
  });
});

describe('fabric list, add, set', () => {
  test('-o name: fabric/<name> per fabric; -o wide: every setting as a column; the table fits 80 columns', async () => {
    const set = await hh([
      'fabric',
      'set',
      FABRIC,
      '--description',
      `a description ${'d'.repeat(120)}`,
      '--ignore',
      'VPC:/spec/subnets/*/dhcp/options',
      '--quiet',
    ]);
    expect(set.code).toBe(0);
    const names = await hh(['fabric', 'list', '-o', 'name']);
    expect(names.code).toBe(0);
    const fabrics = (await sameDocument(['fabric', 'list'])) as { name: string }[];
    expect(names.stdout).toBe(fabrics.map((f) => `fabric/${f.name}\n`).join(''));
    const wide = await hh(['fabric', 'list', '-o', 'wide']);
    for (const h of ['CONTEXT', 'NAMESPACES', 'CRDS', 'INTERVAL', 'DIRECTION', 'IGNORE', 'NEW FILES', 'DESCRIPTION'])
      expect(wide.stdout).toContain(h);
    expect(wide.stdout).toContain('VPC:/spec/subnets/*/dhcp/options');
    expect(wide.stdout).toContain('d'.repeat(120));
    expect(wide.stdout).toContain(repo);
    const table = await hh(['fabric', 'list']);
    expect(widest(table.stdout)).toBeLessThanOrEqual(80);
    expect(table.stdout).not.toContain('DESCRIPTION');
  });

  test('add and set print json and yaml; wide and name are refused before anything is stored', async () => {
    const doc = (await sameDocument(['fabric', 'set', FABRIC, '--interval', '301'])) as { syncIntervalSeconds: number };
    expect(doc.syncIntervalSeconds).toBe(301);
    const wide = await hh(['fabric', 'add', 'fmt-refused', '--git', repo, '-o', 'wide']);
    expectRefused(wide, 'wide', 'hh-sync fabric add');
    const name = await hh(['fabric', 'set', FABRIC, '--interval', '302', '-o', 'name', '--json']);
    expect(name.code).toBe(2); // --json and -o name ask for two formats
    expect(JSON.parse(name.stdout).error.code).toBe('usage');
    const list = JSON.parse((await hh(['fabric', 'list', '--json'])).stdout) as { name: string }[];
    expect(list.map((f) => f.name)).not.toContain('fmt-refused');
  });
});

describe('drafts', () => {
  const vpcYaml = (name: string, namespace: string, vlan: number) =>
    `apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\nspec:\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n    default:\n      subnet: 10.77.${vlan % 200}.0/24\n      vlan: ${vlan}\n`;

  test('apply -o name, drafts -o name|wide|yaml and -n, discard -o name', async () => {
    const input = `${vpcYaml('vpc-fmt-1', 'default', 1701)}---\n${vpcYaml('vpc-fmt-2', 'tenant-b', 1702)}`;
    const applied = await hh(['draft', 'apply', FABRIC, '-f', '-', '-o', 'name'], { stdin: input });
    expect(applied).toMatchObject({ code: 0, stdout: 'VPC/vpc-fmt-1\nVPC/tenant-b/vpc-fmt-2\n' });
    const names = await hh(['drafts', FABRIC, '-o', 'name']);
    expect(names.stdout).toBe('VPC/vpc-fmt-1\nVPC/tenant-b/vpc-fmt-2\n');
    const tenant = await hh(['drafts', FABRIC, '-n', 'tenant-b', '-o', 'name']);
    expect(tenant.stdout).toBe('VPC/tenant-b/vpc-fmt-2\n');
    const doc = (await sameDocument(['drafts', FABRIC, '-n', 'tenant-b'])) as { drafts: { name: string }[] };
    expect(doc.drafts.map((d) => d.name)).toEqual(['vpc-fmt-2']);
    const wide = await hh(['drafts', FABRIC, '-o', 'wide']);
    for (const h of ['FILE', 'BASE', 'DIRECTION']) expect(wide.stdout).toContain(h);
    expect(wide.stdout).toContain('bidirectional');
    const table = await hh(['drafts', FABRIC], { columns: 50 });
    expect(widest(table.stdout)).toBeLessThanOrEqual(50);
    expect(table.stdout).not.toContain('DIRECTION');
    const none = await hh(['drafts', FABRIC, '-n', 'nowhere']);
    expect(none.stdout).toBe(`No drafts in fabric ${FABRIC}.\n`);
    const diffWide = await hh(['draft', 'diff', FABRIC, '-o', 'wide']);
    expectRefused(diffWide, 'wide', 'hh-sync draft diff');
    const discarded = await hh(['draft', 'discard', FABRIC, '--all', '-o', 'name']);
    expect(discarded).toMatchObject({ code: 0, stdout: 'VPC/vpc-fmt-1\nVPC/tenant-b/vpc-fmt-2\n' });
  });
});

describe('the other commands: their formats, the others refused in one line', () => {
  test('sync -o yaml is the JSON document; sync -o wide prints the runs', async () => {
    // Two runs: the same shape (ids and timings differ).
    const json = await hh(['sync', FABRIC, '--desired', '-o', 'json']);
    const yaml = await hh(['sync', FABRIC, '--desired', '-o', 'yaml']);
    expect({ json: json.code, yaml: yaml.code }).toEqual({ json: 0, yaml: 0 });
    const fromJson = JSON.parse(json.stdout) as { id: number };
    const fromYaml = parseYaml(yaml.stdout) as { id: number };
    expect(fromYaml).toMatchObject({ type: 'desired', status: 'completed', fabric: FABRIC });
    expect(Object.keys(fromYaml)).toEqual(Object.keys(fromJson));
    expect(fromYaml.id).toBe(fromJson.id + 1);
    const wide = await hh(['sync', FABRIC, '--actual', '-o', 'wide']);
    expect(wide.code).toBe(0);
    expect(wide.stdout).toMatch(/actual\s+completed/);
  });

  test('migrate and doctor print yaml; doctor --json is the one global flag, its document unchanged', async () => {
    const migrate = (await sameDocument(['migrate'])) as { applied: string[] };
    expect(migrate.applied).toEqual([]);
    const doctor = (await sameDocument(['doctor'])) as { healthy: boolean };
    expect(doctor.healthy).toBe(true);
    const flag = await hh(['doctor', '--json']);
    expect(JSON.parse(flag.stdout)).toEqual(doctor);
    const help = await hh(['doctor', '--help']);
    // Each global flag once (the doctor declares none of them again), the doctor's own flags with them.
    for (const flag of ['--json', '--database-url', '--data-dir'])
      expect(help.stdout.match(new RegExp(`^\\s+${flag}\\b`, 'gm'))).toHaveLength(1);
    for (const flag of ['--schema', '--table', '--fix', '--dry-run', '--out']) expect(help.stdout).toContain(flag);
    expect(help.stdout).toContain('-o, --output <format>');
  });

  test.each([
    [['sync', FABRIC], 'name', 'hh-sync sync'],
    [['migrate'], 'wide', 'hh-sync migrate'],
    [['doctor'], 'name', 'hh-sync doctor'],
    [['doctor'], 'wide', 'hh-sync doctor'],
    [['demo'], 'name', 'hh-sync demo'],
    [['publish', FABRIC, '-m', 'x'], 'wide', 'hh-sync publish'],
    [['draft', 'delete', FABRIC, 'vpc/vpc-01'], 'wide', 'hh-sync draft delete'],
    [['watch', FABRIC], 'name', 'hh-sync watch'],
    [['watch', FABRIC], 'wide', 'hh-sync watch'],
    [['watch', FABRIC], 'yaml', 'hh-sync watch'],
    [['fabric', 'remove', FABRIC, '--yes'], 'name', 'hh-sync fabric remove'],
    [['fabric', 'remove', FABRIC, '--yes'], 'wide', 'hh-sync fabric remove'],
  ])('%j -o %s is refused', async (args, format, command) => {
    expectRefused(await hh([...args, '-o', format]), format, command);
  });

  test('watch -o json: refused with one JSON error document, pointing at --log-format json', async () => {
    const r = await hh(['watch', FABRIC, '-o', 'json']);
    expectRefused(r, 'json', 'hh-sync watch');
    expect(r.stderr).toContain('--log-format json');
    expect(JSON.parse(r.stdout)).toEqual({ error: expect.objectContaining({ code: 'usage', exitCode: 2 }) });
    const yaml = await hh(['drafts', FABRIC, '-o', 'yaml', '-A', '-n', 'x']);
    expect(yaml.code).toBe(2);
    expect(parseYaml(yaml.stdout)).toEqual({ error: expect.objectContaining({ code: 'usage' }) });
  });
});
