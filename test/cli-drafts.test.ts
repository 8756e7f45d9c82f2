/**
 * `hh-sync draft apply|delete|discard|diff`, `hh-sync drafts`, `hh-sync publish` and the fabric write-back settings,
 * driven in-process against one database for the file, a fake cluster and real Git repositories (a bare one as the
 * remote for publish). Each test adds the fabrics it uses under names of its own.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi, createGitRepo, demoClusterFabric, demoGitFabric, toManifestFiles } from '../src/testing/index.js';
import { commitFiles, git } from '../src/testing/git-repo.js';
import { createSharedCliLedger, hh as hhAlone, type Captured, type SharedCliLedger } from './helpers/cli-in-process.js';
import { hasAnsi, messageLines } from './helpers/cli.js';
import { ifSetUp } from './helpers/if-set-up.js';

const API = 'vpc.githedgehog.com/v1beta1';
const vpcYaml = (name: string, vlan: number, subnet = '10.9.0.0/24') =>
  `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: ${name}\nspec:\n  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n    default:\n      subnet: ${subnet}\n      vlan: ${vlan}\n`;

let shared: SharedCliLedger;
let api: FakeKubeApi;
let work: string;
let kubeconfig: string;
let repo: string;
const demo = demoGitFabric();

const hh = (args: string[], stdin?: string) => shared.hh(args, { cwd: work, stdin });

/** A fabric on the fake cluster and the demo repository, synced both ways (or only from Git). */
async function syncedFabric(name: string, extra: string[] = []): Promise<void> {
  expect(
    await hh(['fabric', 'add', name, '--kubeconfig', kubeconfig, '--git', repo, '--quiet', ...extra]),
  ).toMatchObject({ code: 0 });
  expect((await hh(['sync', name, '--quiet'])).code).toBe(0);
}

function json(r: Captured): Record<string, unknown> & { [k: string]: any } {
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  shared = await createSharedCliLedger();
  work = mkdtempSync(join(tmpdir(), 'hh-cli-drafts-'));
  api = new FakeKubeApi();
  api.load(demoClusterFabric());
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

describe('help and usage errors', () => {
  test('help lists the commands; apply says who the actor is by default and what the exit codes mean', async () => {
    const [top, draft, apply, publish] = await Promise.all([
      hhAlone(['--help']),
      hhAlone(['draft', '--help']),
      hhAlone(['draft', 'apply', '--help']),
      hhAlone(['publish', '--help']),
    ]);
    for (const cmd of ['draft', 'drafts', 'publish']) expect(top.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    for (const sub of ['apply', 'delete', 'discard', 'diff'])
      expect(draft.stdout).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(apply.stdout).toMatch(/-f, --filename <file>/);
    expect(apply.stdout).toMatch(/default: the OS user name/);
    expect(apply.stdout).toMatch(/1 some objects left out.*git_to_ledger/);
    for (const flag of ['-m, --message', '--branch', '--no-push', '--strategy', '--json'])
      expect(publish.stdout).toContain(flag);
  });

  test('--json stdout is one JSON document for usage errors too: missing -f, missing -m, bad refs, bad strategy', async () => {
    const cases: [string[], RegExp][] = [
      [['draft', 'apply', 'x', '--json'], /required option '-f, --filename <file>'/],
      [['publish', 'x', '--json'], /required option '-m, --message <msg>'/],
      [
        ['publish', 'x', '-m', 'msg', '--strategy', 'mine', '--json'],
        /--strategy mine: expected one of fail, ours, theirs/,
      ],
      [['publish', 'x', '-m', '  ', '--json'], /-m\/--message must not be empty/],
      [['draft', 'delete', 'x', 'vpc', '--json'], /"vpc": expected <Kind>\/<name> or <Kind>\/<namespace>\/<name>/],
      [['draft', 'delete', 'x', 'gizmo/a', '--json'], /not a fabric kind/],
      [['draft', 'delete', 'x', 'vpc/a/b/c', '--json'], /expected <Kind>\/<name>/],
      [
        ['draft', 'delete', 'x', 'vpc/Bad_Name', '--json'],
        /the name "Bad_Name" must be a lowercase RFC 1123 subdomain/,
      ],
      [['draft', 'discard', 'x', '--json'], /name the objects to discard, or give --all/],
      [['draft', 'discard', 'x', 'vpc/a', '--all', '--json'], /--all and named objects exclude each other/],
      [['draft', 'apply', 'x', '-f', 'no-such.yaml', '--json'], /-f no-such.yaml: .*no-such.yaml does not exist/],
    ];
    for (const [args, pattern] of cases) {
      const r = await hh(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      const doc = json(r);
      expect(doc).toEqual({ error: { message: expect.stringMatching(pattern), code: 'usage', exitCode: 2 } });
    }
  });

  test('an unknown fabric is a usage error with a JSON error document on every draft command', async () => {
    writeFileSync(join(work, 'one.yaml'), vpcYaml('vpc-x', 1500));
    for (const args of [
      ['drafts', 'ghost'],
      ['draft', 'apply', 'ghost', '-f', 'one.yaml'],
      ['draft', 'delete', 'ghost', 'vpc/vpc-01'],
      ['draft', 'discard', 'ghost', '--all'],
      ['draft', 'diff', 'ghost'],
      ['publish', 'ghost', '-m', 'm'],
    ]) {
      const r = await hh([...args, '--json']);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(json(r).error).toMatchObject({ code: 'usage', message: expect.stringMatching(/no fabric named "ghost"/) });
    }
  });
});

describe('draft apply', () => {
  test('from a file: the good documents are drafted, the bad one reported with file:line, exit 1', async () => {
    await syncedFabric('apply-file');
    const text =
      '\uFEFF' +
      [vpcYaml('vpc-01', 1999, '10.0.0.0/24'), vpcYaml('BAD_NAME', 1), vpcYaml('vpc-new', 1500)].join('---\n');
    writeFileSync(join(work, 'multi.yaml'), text.replace(/\n/g, '\r\n')); // BOM and CRLF, as an editor may save it
    const r = await hh(['draft', 'apply', 'apply-file', '-f', 'multi.yaml', '--actor', 'alice']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'vpc.vpc.githedgehog.com/vpc-01 drafted (created)',
      'vpc.vpc.githedgehog.com/vpc-new drafted (created)',
    ]);
    const errors = messageLines(r.stderr).filter((l) => l.startsWith('hh-sync:'));
    expect(errors).toEqual([
      expect.stringMatching(/^hh-sync: multi\.yaml:1[0-9] VPC: refused: metadata\.name 'BAD_NAME'/),
    ]);
    // The line is within the bad (second) document: after the first one's 11 lines and the separator.
    expect(errors[0]).toMatch(/multi\.yaml:1[3-9] /);

    // Again, unchanged: the same input is a no-op for the drafted ones.
    const again = await hh(['draft', 'apply', 'apply-file', '-f', 'multi.yaml', '--json']);
    expect(again.code).toBe(1);
    const doc = json(again);
    expect(Object.keys(doc).sort()).toEqual(['fabric', 'refused', 'results']);
    expect(doc.results).toEqual([
      { kind: 'VPC', namespace: 'default', name: 'vpc-01', outcome: 'unchanged', operation: 'apply' },
      { kind: 'VPC', namespace: 'default', name: 'vpc-new', outcome: 'unchanged', operation: 'apply' },
    ]);
    expect(doc.refused).toEqual([
      {
        kind: 'VPC',
        namespace: null,
        name: null,
        file: 'multi.yaml',
        line: expect.any(Number),
        reason: expect.stringMatching(/BAD_NAME/),
      },
    ]);
  });

  test('from stdin (-f -): a kind: List, reported as <stdin>; the actor defaults to the OS user name', async () => {
    await syncedFabric('apply-stdin');
    const list = `apiVersion: v1\nkind: List\nitems:\n- apiVersion: ${API}\n  kind: VPC\n  metadata:\n    name: vpc-s1\n  spec:\n    subnets: {}\n- apiVersion: ${API}\n  kind: VPC\n  metadata:\n    name: vpc-s2\n    labels: {team: "ünïcødé-is-not-a-label"}\n  spec: {}\n`;
    const r = await hh(['draft', 'apply', 'apply-stdin', '-f', '-', '--json'], list);
    expect(r.code).toBe(1);
    const doc = json(r);
    expect(doc.results.map((x: { name: string }) => x.name)).toEqual(['vpc-s1']);
    expect(doc.refused).toEqual([
      expect.objectContaining({ name: 'vpc-s2', file: '<stdin>', reason: expect.any(String) }),
    ]);
    expect(r.stderr).toMatch(/^hh-sync: <stdin>:\d+ VPC\/vpc-s2: refused: /m);

    // Anchors and merge keys resolve; a name carrying a terminal escape is refused and printed inert.
    const hostile =
      `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: vpc-anchor\nspec:\n  subnets:\n    a: &sub {subnet: 10.7.0.0/24, vlan: 1700}\n    b:\n      <<: *sub\n      vlan: 1701\n` +
      `---\napiVersion: ${API}\nkind: VPC\nmetadata:\n  name: "vpc-\\e[31mred"\nspec: {}\n`;
    const h = await hh(['draft', 'apply', 'apply-stdin', '-f', '-', '--actor', 'carol'], hostile);
    expect(h.code).toBe(1);
    expect(h.stdout).toBe('vpc.vpc.githedgehog.com/vpc-anchor drafted (created)\n');
    expect(h.stderr).toMatch(/<stdin>:1[1-9] VPC.*refused/);
    expect(hasAnsi(h.stderr) || h.stderr.includes('\u001b')).toBe(false);
    const anchored = json(await hh(['draft', 'diff', 'apply-stdin', 'vpc/vpc-anchor', '--json']));
    expect(anchored.objects[0].draftVsGit[0].draft.subnets.b).toEqual({ subnet: '10.7.0.0/24', vlan: 1701 });
    await hh(['draft', 'discard', 'apply-stdin', 'vpc/vpc-anchor']);

    const drafts = json(await hh(['drafts', 'apply-stdin', '--json']));
    expect(drafts.drafts.map((d: { name: string; updatedBy: string }) => [d.name, d.updatedBy])).toEqual([
      ['vpc-s1', os.userInfo().username],
    ]);

    const empty = await hh(['draft', 'apply', 'apply-stdin', '-f', '-', '--json'], '');
    expect(empty.code).toBe(1);
    expect(json(empty)).toEqual({
      fabric: 'apply-stdin',
      results: [],
      refused: [expect.objectContaining({ file: '<stdin>', reason: 'the input holds no object' })],
    });
  });

  test('a git_to_ledger fabric refuses every draft (exit 1, "left out"), saying how to change it', async () => {
    await syncedFabric('readonly', ['--sync-direction', 'git-to-ledger']);
    writeFileSync(join(work, 'ro.yaml'), vpcYaml('vpc-01', 1234, '10.0.0.0/24'));
    const r = await hh(['draft', 'apply', 'readonly', '-f', 'ro.yaml']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /hh-sync: ro\.yaml:\d+ VPC\/vpc-01: refused: fabric "readonly" is git_to_ledger .*hh-sync fabric set readonly --sync-direction bidirectional/,
    );
    const del = await hh(['draft', 'delete', 'readonly', 'vpc/vpc-01', '--json']);
    expect(del.code).toBe(1);
    expect(json(del).refused[0].reason).toMatch(/git_to_ledger/);
    expect(json(await hh(['drafts', 'readonly', '--json'])).drafts).toEqual([]);
  });
});

describe('draft delete, discard, drafts, diff', () => {
  test('delete and discard by kind in any case or plural; discard one, then --all', async () => {
    await syncedFabric('dd');
    writeFileSync(join(work, 'dd.yaml'), vpcYaml('vpc-dd', 1700));
    expect((await hh(['draft', 'apply', 'dd', '-f', 'dd.yaml'])).code).toBe(0);
    const del = await hh(['draft', 'delete', 'dd', 'VPCs/vpc-02', 'vpc/default/vpc-01', 'Vpc/vpc-02', 'vpc/nope']);
    expect(del.code).toBe(1);
    expect(del.stdout.trim().split('\n')).toEqual([
      'vpc.vpc.githedgehog.com/vpc-02 deletion drafted (created)',
      'vpc.vpc.githedgehog.com/vpc-01 deletion drafted (created)',
    ]);
    expect(del.stderr).toMatch(/hh-sync: VPC\/nope: refused: Git does not declare this object/);

    const list = await hh(['drafts', 'dd']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^OBJECT\s+OP\s+CONFLICT\s+UPDATED \(UTC\)\s+BY$/m);
    expect(list.stdout).toMatch(/^VPC\/vpc-01\s+delete\s+-\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\S+$/m);
    expect(list.stdout).toMatch(/^3 draft\(s\): 1 to apply, 2 to delete$/m);
    expect(Math.max(...list.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(80);
    expect(hasAnsi(list.stdout)).toBe(false);

    const one = await hh(['draft', 'discard', 'dd', 'vpc/vpc-02', '--json']);
    expect(one.code).toBe(0);
    expect(json(one).results).toEqual([
      { kind: 'VPC', namespace: 'default', name: 'vpc-02', outcome: 'discarded', operation: 'delete' },
    ]);
    const none = await hh(['draft', 'discard', 'dd', 'vpc/vpc-02']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/VPC\/vpc-02: refused: holds no draft/);

    const all = await hh(['draft', 'discard', 'dd', '--all']);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n').sort()).toEqual([
      'vpc.vpc.githedgehog.com/vpc-01 draft discarded',
      'vpc.vpc.githedgehog.com/vpc-dd draft discarded',
    ]);
    expect((await hh(['drafts', 'dd'])).stdout.trim()).toBe('No drafts in fabric dd.');
    expect((await hh(['draft', 'discard', 'dd', '--all'])).stdout.trim()).toBe('No drafts to discard.');
  });

  test('drafts --json: every key of every draft, the conflicts counted', async () => {
    await syncedFabric('listjson');
    writeFileSync(join(work, 'lj.yaml'), vpcYaml('vpc-01', 1888, '10.0.0.0/24'));
    await hh(['draft', 'apply', 'listjson', '-f', 'lj.yaml', '--actor', 'bob']);
    const doc = json(await hh(['drafts', 'listjson', '--json']));
    expect(Object.keys(doc).sort()).toEqual(['conflicts', 'drafts', 'fabric']);
    expect(doc.conflicts).toBe(0);
    const [d] = doc.drafts;
    expect(Object.keys(d).sort()).toEqual(
      [
        'kind',
        'namespace',
        'name',
        'apiVersion',
        'operation',
        'spec',
        'labels',
        'annotations',
        'updated',
        'updatedBy',
        'base',
        'desiredSpec',
        'actualSpec',
        'desiredFilePath',
        'state',
        'syncDirection',
        'effectiveSyncDirection',
        'conflictStatus',
        'conflict',
        'externalModifications',
      ].sort(),
    );
    const gitVpc = demo.objects.find((o) => o.kind === 'VPC' && o.metadata.name === 'vpc-01')!;
    expect(d).toMatchObject({
      name: 'vpc-01',
      operation: 'apply',
      updatedBy: 'bob',
      state: 'draft',
      effectiveSyncDirection: 'bidirectional',
      conflict: null,
      base: { spec: gitVpc.spec, commit: expect.stringMatching(/^[0-9a-f]{40}$/) },
      desiredSpec: gitVpc.spec,
    });
    expect(new Date(d.updated).toISOString()).toBe(d.updated);
    expect(d.spec.subnets.default.vlan).toBe(1888);
  });

  test('draft diff: draft vs Git and Git vs cluster as paths with values; --json structured; no draft → exit 1', async () => {
    await syncedFabric('diff');
    const { changedVlan } = demo.differences;
    const gitVpc = structuredClone(demo.objects.find((o) => o.kind === 'VPC' && o.metadata.name === 'vpc-01')!);
    (gitVpc.spec.subnets as Record<string, { vlan: number }>).default!.vlan = 1999;
    writeFileSync(join(work, 'diff.json'), JSON.stringify(gitVpc)); // JSON is YAML too
    expect((await hh(['draft', 'apply', 'diff', '-f', 'diff.json'])).code).toBe(0);
    writeFileSync(join(work, 'new.yaml'), vpcYaml('vpc-brand-new', 1600));
    expect((await hh(['draft', 'apply', 'diff', '-f', 'new.yaml'])).code).toBe(0);

    const text = await hh(['draft', 'diff', 'diff']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      `VPC/vpc-01  apply\n  draft vs Git:\n    replace /spec/subnets/default/vlan: ${changedVlan.gitValue} → 1999\n  Git vs cluster:\n    replace /spec/subnets/default/vlan: ${changedVlan.clusterValue} → ${changedVlan.gitValue}`,
    );
    expect(text.stdout).toContain(
      'VPC/vpc-brand-new  apply\n  draft vs Git:\n    new object: Git does not declare it yet\n  Git vs cluster: no difference',
    );

    const one = await hh(['draft', 'diff', 'diff', 'vpcs/vpc-01', 'vpc/vpc-02', '--json']);
    expect(one.code).toBe(1);
    const doc = json(one);
    expect(doc.missing).toEqual([{ kind: 'VPC', namespace: 'default', name: 'vpc-02' }]);
    expect(doc.objects).toEqual([
      {
        kind: 'VPC',
        namespace: 'default',
        name: 'vpc-01',
        operation: 'apply',
        conflictStatus: 'none',
        draftVsGit: [{ op: 'replace', path: '/spec/subnets/default/vlan', git: changedVlan.gitValue, draft: 1999 }],
        gitVsCluster: [
          {
            op: 'replace',
            path: '/spec/subnets/default/vlan',
            cluster: changedVlan.clusterValue,
            git: changedVlan.gitValue,
          },
        ],
        conflict: null,
      },
    ]);
    expect(one.stderr).toMatch(/hh-sync: VPC\/vpc-02: holds no draft in fabric diff/);

    // A deletion draft: publish removes the whole object from Git.
    await hh(['draft', 'delete', 'diff', 'vpc/vpc-02']);
    const del = json(await hh(['draft', 'diff', 'diff', 'vpc/vpc-02', '--json']));
    expect(del.objects[0].draftVsGit).toEqual([{ op: 'remove', path: '', git: expect.any(Object), draft: null }]);
  });
});

describe('fabric write-back settings', () => {
  test('--sync-direction and --managed-file-template are validated, stored and shown in fabric list --json', async () => {
    const add = await hh([
      'fabric',
      'add',
      'wb',
      '--git',
      repo,
      '--json',
      '--managed-file-template',
      'm/{kind}/{namespace}-{name}.yml',
    ]);
    expect(add.code).toBe(0);
    expect(json(add)).toMatchObject({
      syncDirection: 'bidirectional',
      managedFileTemplate: 'm/{kind}/{namespace}-{name}.yml',
    });
    const set = await hh(['fabric', 'set', 'wb', '--sync-direction', 'LEDGER_TO_GIT', '--json']);
    expect(set.code).toBe(0);
    expect(json(set)).toMatchObject({ syncDirection: 'ledger_to_git' });
    const list = json(await hh(['fabric', 'list', '--json'])) as unknown as Record<string, unknown>[];
    expect(list.find((f) => f.name === 'wb')).toMatchObject({
      syncDirection: 'ledger_to_git',
      managedFileTemplate: 'm/{kind}/{namespace}-{name}.yml',
    });
    expect((await hh(['fabric', 'set', 'wb', '--description', 'x'])).stdout).toMatch(/direction\s+ledger_to_git/);

    const bad: [string[], RegExp][] = [
      [
        ['--sync-direction', 'sideways'],
        /--sync-direction sideways: expected one of git_to_ledger, ledger_to_git, bidirectional/,
      ],
      [['--managed-file-template', 'managed/{plural}.yaml'], /must contain \{name\}/],
      [['--managed-file-template', 'managed/{name}.json'], /must end in \.yaml or \.yml/],
      [['--managed-file-template', '../out/{name}.yaml'], /must not contain '\.\.'/],
      [['--managed-file-template', '/etc/{name}.yaml'], /not absolute/],
      [['--managed-file-template', 'a\\{name}.yaml'], /must use '\/'/],
      [['--managed-file-template', 'x/{constructor}/{name}.yaml'], /unknown placeholder \{constructor\}/],
      [['--managed-file-template', ''], /must not be empty/],
    ];
    for (const [flags, pattern] of bad) {
      const r = await hh(['fabric', 'set', 'wb', ...flags, '--json']);
      expect({ flags, code: r.code }).toEqual({ flags, code: 2 });
      expect(json(r).error.message).toMatch(pattern);
    }
    const after = json(await hh(['fabric', 'list', '--json'])) as unknown as Record<string, unknown>[];
    expect(after.find((f) => f.name === 'wb')).toMatchObject({ syncDirection: 'ledger_to_git' });
  });
});

describe('publish', () => {
  let remote: string;
  const AUTHOR = 'Ledger Bot <ledger@example.invalid>';
  const remoteFile = (file: string, ref = 'main') => git(remote, 'show', `${ref}:${file}`).catch(() => null);

  beforeAll(async () => {
    const seed = join(work, 'pub-seed');
    await createGitRepo(seed, { 'fabric/vpcs.yaml': vpcYaml('vpc-1', 1001, '10.0.1.0/24') });
    remote = join(work, 'pub-remote.git');
    await git(work, 'clone', '-q', '--bare', seed, remote);
    const add = ['fabric', 'add', 'pub', '--git', remote, '--ref', 'main', '--path', 'fabric', '--quiet'];
    expect((await hh(add)).code).toBe(0);
    expect((await hh(['sync', 'pub', '--desired', '--quiet'])).code).toBe(0);
  }, 60_000);

  test('publishes the drafts (exit 0, JSON report), then has nothing to publish (exit 0)', async () => {
    await hh(
      ['draft', 'apply', 'pub', '-f', '-'],
      vpcYaml('vpc-1', 1111, '10.0.1.0/24') + '---\n' + vpcYaml('vpc-2', 1002),
    );
    const r = await hh(['publish', 'pub', '-m', 'Tenant changes', '--author', AUTHOR, '--json']);
    expect(r.code).toBe(0);
    const doc = json(r);
    expect(Object.keys(doc).sort()).toEqual(
      [
        'attempts',
        'branch',
        'commit',
        'durationMs',
        'error',
        'fabric',
        'files',
        'leftOut',
        'published',
        'pushed',
        'runId',
        'status',
      ].sort(),
    );
    expect(doc).toMatchObject({ status: 'completed', branch: 'main', pushed: true, leftOut: [], error: null });
    expect(doc.commit).toBe(await git(remote, 'rev-parse', 'main'));
    expect(doc.published.map((p: { name: string; outcome: string }) => [p.name, p.outcome]).sort()).toEqual([
      ['vpc-1', 'updated'],
      ['vpc-2', 'created'],
    ]);
    expect(await remoteFile('fabric/vpcs.yaml')).toMatch(/vlan: 1111/);
    expect(await git(remote, 'log', '-1', '--format=%an <%ae>%n%s', 'main')).toMatch(/^Ledger Bot .*\nTenant changes/);

    const nothing = await hh(['publish', 'pub', '-m', 'again', '--author', AUTHOR]);
    expect(nothing.code).toBe(0);
    expect(nothing.stdout.trim()).toBe('Nothing to publish in fabric pub.');
  }, 60_000);

  test('a conflict with Git is left out: exit 1, listed by drafts; --strategy theirs settles it', async () => {
    await hh(['draft', 'apply', 'pub', '-f', '-'], vpcYaml('vpc-1', 2222, '10.0.1.0/24'));
    const clone = join(work, 'pub-other');
    await git(work, 'clone', '-q', remote, clone);
    const file = (await remoteFile('fabric/vpcs.yaml'))!;
    await commitFiles(
      clone,
      { 'fabric/vpcs.yaml': `${file.replace(/vlan: 1111/, 'vlan: 3333')}\n` },
      { message: 'by hand' },
    );
    await git(clone, 'push', '-q', 'origin', 'HEAD:main');

    const r = await hh(['publish', 'pub', '-m', 'clash', '--author', AUTHOR]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/hh-sync: VPC\/vpc-1 left out: .*\(conflicting: \/subnets\/default\/vlan\)/);
    const list = await hh(['drafts', 'pub']);
    expect(list.stdout).toMatch(/^VPC\/vpc-1\s+apply\s+CONFLICT/m);
    expect(list.stdout).toMatch(/1 in conflict with Git: see `hh-sync draft diff pub`/);
    expect(json(await hh(['drafts', 'pub', '--json'])).conflicts).toBe(1);
    expect((await hh(['draft', 'diff', 'pub'])).stdout).toMatch(
      /conflict \/spec\/subnets\/default\/vlan: base 1111, draft 2222, Git 3333/,
    );

    const theirs = await hh([
      'publish',
      'pub',
      '-m',
      'take theirs',
      '--author',
      AUTHOR,
      '--strategy',
      'theirs',
      '--json',
    ]);
    expect(theirs.code).toBe(0);
    expect(json(theirs).leftOut).toEqual([]);
    expect(await remoteFile('fabric/vpcs.yaml')).toMatch(/vlan: 3333/);
  }, 60_000);

  test('a push the remote refuses is exit 3 with its one line; --no-push to another branch commits only', async () => {
    const hook = join(remote, 'hooks', 'pre-receive');
    await mkdir(join(remote, 'hooks'), { recursive: true });
    await writeFile(hook, '#!/bin/sh\necho "main is protected: open a pull request" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    try {
      await hh(['draft', 'apply', 'pub', '-f', '-'], vpcYaml('vpc-3', 1003));
      const r = await hh(['publish', 'pub', '-m', 'refused', '--author', AUTHOR, '--json']);
      expect(r.code).toBe(3);
      expect(json(r)).toEqual({
        error: {
          message: expect.stringMatching(/main is protected.*the drafts stay drafts/),
          code: 'git',
          exitCode: 3,
        },
      });
      expect(messageLines(r.stderr)).toHaveLength(1);
      const local = await hh([
        'publish',
        'pub',
        '-m',
        'local',
        '--author',
        AUTHOR,
        '--branch',
        'change/vpc-3',
        '--no-push',
        '--json',
      ]);
      expect(local.code).toBe(0);
      expect(json(local)).toMatchObject({ status: 'completed', pushed: false, branch: 'change/vpc-3' });
      expect(await remoteFile('fabric/vpcs.yaml', 'change/vpc-3')).toBeNull();
    } finally {
      await rm(hook, { force: true });
    }
  }, 60_000);
});
