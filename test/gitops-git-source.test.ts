import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DesiredSourceError, readDesiredState, type DesiredReadResult } from '../src/gitops/desired-state-reader.js';
import { commitFiles, createGitRepo, git, writeFiles } from '../src/testing/git-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureRoot = path.join(here, 'fixtures', 'manifests', 'repo');

/** The fixture repository's files, path → text. */
function fixtureFiles(dir = fixtureRoot, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${ent.name}` : ent.name;
    if (ent.isDirectory()) Object.assign(out, fixtureFiles(path.join(dir, ent.name), rel));
    else out[rel] = readFileSync(path.join(dir, ent.name), 'utf8');
  }
  return out;
}

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const keys = (r: DesiredReadResult) => r.observations.map((o) => `${o.kind}/${o.namespace}/${o.name}`);
const byName = (r: DesiredReadResult, name: string) => r.observations.find((o) => o.name === name)!;

const serverDoc = (name: string, description: string) =>
  `apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'hh-gitops-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});
let n = 0;
const newDir = () => path.join(tmp, `repo-${++n}`);

describe('Git source: reading the resolved commit', () => {
  let repo: string;
  let first: string;
  let firstRead: DesiredReadResult;

  beforeAll(async () => {
    repo = newDir();
    first = await createGitRepo(repo, fixtureFiles(), { tag: 'v1' });
    firstRead = await readDesiredState({ repository: repo });
  });

  test('first read: every fabric object of the commit, with file, line and file hash', () => {
    expect(firstRead.commit).toBe(first);
    expect(firstRead.ref).toBe('main');
    expect(firstRead.errors).toEqual([]);
    expect(firstRead.conflicts).toEqual([]);
    expect(firstRead.otherKinds).toEqual({ 'v1/ConfigMap': 1 });
    expect(firstRead.filesRead).toBe(3); // README.md is not a manifest
    expect(firstRead.documentsRead).toBe(7);
    expect(keys(firstRead)).toEqual([
      'VPC/tenant-a/vpc-1',
      'VPCAttachment/tenant-a/vpc-1--server-01',
      'Server/default/server-01',
      'Connection/default/server-01--unbundled--leaf-01',
      'Switch/default/leaf-01',
      'Switch/default/leaf-02',
    ]);
    const conn = byName(firstRead, 'server-01--unbundled--leaf-01');
    expect(conn).toMatchObject({
      filePath: 'wiring/connections.yml',
      line: 8,
      fileHash: sha256(fixtureFiles()['wiring/connections.yml']!),
    });
    expect(conn.spec).toEqual({
      unbundled: { link: { server: { port: 'server-01/enp2s1' }, switch: { port: 'leaf-01/E1/1' } } },
    });
  });

  test('a commit changing one spec: only that object changes, and only its file gets a new hash', async () => {
    const files = fixtureFiles();
    const edited = files['wiring/switches.yaml']!.replace(
      'description: leaf-02',
      'description: leaf-02 (moved to rack 2)',
    );
    const second = await commitFiles(repo, { 'wiring/switches.yaml': edited }, { message: 'describe leaf-02' });
    const r = await readDesiredState({ repository: repo });
    expect(r.commit).toBe(second);
    expect(keys(r)).toEqual(keys(firstRead));
    for (const before of firstRead.observations) {
      const after = r.observations.find((o) => o.kind === before.kind && o.name === before.name)!;
      if (before.name === 'leaf-02') {
        expect(after.spec).toEqual({ ...before.spec, description: 'leaf-02 (moved to rack 2)' });
        expect(after.fileHash).toBe(sha256(edited));
      } else if (before.filePath === 'wiring/switches.yaml') {
        // Same file, untouched object: same content, the file's new hash.
        expect({ ...after, fileHash: before.fileHash }).toEqual(before);
        expect(after.fileHash).not.toBe(before.fileHash);
      } else {
        expect(after).toEqual(before);
      }
    }
  });

  test('a commit deleting a file: its objects are gone, the others unchanged', async () => {
    const before = await readDesiredState({ repository: repo });
    await commitFiles(repo, { 'vpc/vpcs.yaml': null }, { message: 'drop the VPC' });
    const r = await readDesiredState({ repository: repo });
    expect(keys(r)).toEqual(keys(before).filter((k) => !k.startsWith('VPC')));
    expect(r.observations).toEqual(before.observations.filter((o) => o.filePath !== 'vpc/vpcs.yaml'));
  });

  test('a ref other than the default: tag, branch, full and short commit', async () => {
    const atTag = await readDesiredState({ repository: repo, ref: 'v1' });
    expect(atTag.commit).toBe(first);
    expect(atTag.ref).toBe('v1');
    expect(atTag.observations).toEqual(firstRead.observations);

    const mainHead = await git(repo, 'rev-parse', 'HEAD');
    const featureCommit = await commitFiles(
      repo,
      { 'servers/extra.yaml': serverDoc('server-99', 'feature branch only') },
      { branch: 'feature' },
    );
    await git(repo, 'checkout', '-q', 'main');
    const feature = await readDesiredState({ repository: repo, ref: 'feature' });
    expect(feature.commit).toBe(featureCommit);
    expect(feature.ref).toBe('feature');
    expect(byName(feature, 'server-99')).toMatchObject({
      filePath: 'servers/extra.yaml',
      spec: { description: 'feature branch only' },
    });

    const onMain = await readDesiredState({ repository: repo });
    expect(onMain.commit).toBe(mainHead);
    expect(keys(onMain)).not.toContain('Server/default/server-99');

    expect((await readDesiredState({ repository: repo, ref: first })).commit).toBe(first);
    expect((await readDesiredState({ repository: repo, ref: first.slice(0, 10) })).commit).toBe(first);
  });

  test('uncommitted edits, staged changes and untracked files are ignored', async () => {
    const head = await git(repo, 'rev-parse', 'HEAD');
    const committed = await readDesiredState({ repository: repo });
    await writeFiles(repo, {
      'wiring/switches.yaml': serverDoc('server-uncommitted', 'edited in the work tree'),
      'wiring/staged.yaml': serverDoc('server-staged', 'staged only'),
      'untracked.yaml': serverDoc('server-untracked', 'never added'),
    });
    await git(repo, 'add', 'wiring/staged.yaml');
    const r = await readDesiredState({ repository: repo });
    expect(r.commit).toBe(head);
    expect(r.observations).toEqual(committed.observations);
    await git(repo, 'reset', '-q', '--hard');
    await fs.rm(path.join(repo, 'untracked.yaml'));
  });

  test('a sub-path limits the files read; paths stay relative to the repository root', async () => {
    const r = await readDesiredState({ repository: repo, ref: 'v1', path: 'wiring/' });
    expect(r.observations.map((o) => o.filePath)).toEqual([
      'wiring/connections.yml',
      'wiring/connections.yml',
      'wiring/switches.yaml',
      'wiring/switches.yaml',
    ]);
    const single = await readDesiredState({ repository: repo, ref: 'v1', path: 'vpc/vpcs.yaml' });
    expect(keys(single)).toEqual(['VPC/tenant-a/vpc-1', 'VPCAttachment/tenant-a/vpc-1--server-01']);
    await expect(readDesiredState({ repository: repo, path: 'no/such/dir' })).rejects.toThrow(
      /path 'no\/such\/dir' does not exist at commit/,
    );
    await expect(readDesiredState({ repository: repo, path: '../elsewhere' })).rejects.toThrow(DesiredSourceError);
  });
});

describe('Git source: conflicts and refusals', () => {
  test('the same object declared in two files is a conflict listing both locations; the first is kept', async () => {
    const repo = newDir();
    await createGitRepo(repo, {
      'b/servers.yaml': `# second copy\n${serverDoc('server-01', 'from b')}`,
      'a/servers.yaml': `${serverDoc('server-00', 'only once')}---\n${serverDoc('server-01', 'from a')}`,
    });
    const r = await readDesiredState({ repository: repo });
    expect(r.conflicts).toEqual([
      {
        kind: 'Server',
        namespace: 'default',
        name: 'server-01',
        locations: [
          { file: 'a/servers.yaml', line: 8 },
          { file: 'b/servers.yaml', line: 2 },
        ],
      },
    ]);
    expect(keys(r)).toEqual(['Server/default/server-00', 'Server/default/server-01']);
    expect(byName(r, 'server-01').spec).toEqual({ description: 'from a' });
  });

  test('symlinks (to a file outside the repository, to a directory) are refused with their path; the rest lands', async () => {
    const repo = newDir();
    const outside = path.join(tmp, 'outside-secret.yaml');
    await fs.writeFile(outside, serverDoc('stolen', 'must never be read'));
    await createGitRepo(repo, {
      'ok.yaml': serverDoc('server-01', 'fine'),
      'evil.yaml': { symlink: outside },
      'escape.yaml': { symlink: '../../../../../../etc/hostname' },
      'linked-dir': { symlink: tmp },
    });
    const r = await readDesiredState({ repository: repo });
    expect(keys(r)).toEqual(['Server/default/server-01']);
    const refusal = 'refused: symbolic link (symlinks are never followed; commit the file itself)';
    expect(r.errors).toEqual([
      { file: 'escape.yaml', reason: refusal },
      { file: 'evil.yaml', reason: refusal },
      { file: 'linked-dir', reason: refusal },
    ]);
    expect(r.filesRead).toBe(1);
  });

  test('a 20 MB file is refused by its tree size, unread; a smaller limit applies to smaller files', async () => {
    const repo = newDir();
    const big = Buffer.alloc(20 * 1024 * 1024, '# padding line of a very large file\n');
    await createGitRepo(repo, { 'big.yaml': big, 'small.yaml': serverDoc('server-01', 'fine') });
    const r = await readDesiredState({ repository: repo });
    expect(r.errors).toEqual([
      { file: 'big.yaml', reason: `refused: file is ${big.length} bytes, over the limit of ${5 * 1024 * 1024} bytes` },
    ]);
    expect(keys(r)).toEqual(['Server/default/server-01']);
    expect(r.filesRead).toBe(1);

    const tight = await readDesiredState({ repository: repo }, { maxFileBytes: 50 });
    expect(tight.errors.map((e) => e.file)).toEqual(['big.yaml', 'small.yaml']);
    expect(tight.observations).toEqual([]);
  });

  test('a non-UTF-8 file is reported; other files still land', async () => {
    const repo = newDir();
    await createGitRepo(repo, {
      'latin1.yaml': Buffer.concat([
        Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf'),
        Buffer.from([0xe9, 0x0a]),
      ]),
      'ok.yaml': serverDoc('server-01', 'fine'),
    });
    const r = await readDesiredState({ repository: repo });
    expect(r.errors).toEqual([
      expect.objectContaining({
        file: 'latin1.yaml',
        line: 4,
        reason: expect.stringMatching(/^file is not valid UTF-8/),
      }),
    ]);
    expect(keys(r)).toEqual(['Server/default/server-01']);
  });

  test('an alias bomb in a committed file is refused with its file and line', async () => {
    const repo = newDir();
    const levels = ['a: &a [x,x,x,x,x,x,x,x,x]'];
    for (const [prev, cur] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
      ['f', 'g'],
    ]) {
      levels.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: bomb\nspec:\n${levels.map((l) => `  ${l}\n`).join('')}`;
    await createGitRepo(repo, { 'bomb.yaml': `${serverDoc('before', 'x')}---\n${bomb}` });
    const r = await readDesiredState({ repository: repo });
    expect(r.errors).toEqual([
      {
        kind: 'Server',
        namespace: 'default',
        name: 'bomb',
        file: 'bomb.yaml',
        line: 8,
        reason: 'YAML alias expansion exceeds the limit of 100 (a resource exhaustion guard); document refused',
      },
    ]);
    expect(keys(r)).toEqual(['Server/default/before']);
  });
});

describe('Git source: nothing from the repository is executed', () => {
  test('hooks and an fsmonitor configured in the repository never run, reading locally or through a clone', async () => {
    const repo = newDir();
    await createGitRepo(repo, { 'a.yaml': serverDoc('server-01', 'x') });
    const marker = path.join(tmp, 'executed-marker');
    const script = path.join(tmp, 'evil.sh');
    await fs.writeFile(script, `#!/bin/sh\necho "$0 $*" >> '${marker}'\n`, { mode: 0o755 });
    const hooks = path.join(repo, '.git', 'evil-hooks');
    await fs.mkdir(hooks);
    for (const h of ['post-checkout', 'post-merge', 'pre-auto-gc', 'reference-transaction', 'post-index-change']) {
      await fs.copyFile(script, path.join(hooks, h));
      await fs.chmod(path.join(hooks, h), 0o755);
    }
    await git(repo, 'config', 'core.hooksPath', hooks);
    await git(repo, 'config', 'core.fsmonitor', script);

    const local = await readDesiredState({ repository: repo });
    const cloned = await readDesiredState({ repository: `file://${repo}`, cacheDir: path.join(tmp, 'cache', 'evil') });
    const refetched = await readDesiredState({
      repository: `file://${repo}`,
      cacheDir: path.join(tmp, 'cache', 'evil'),
    });
    for (const r of [local, cloned, refetched]) expect(keys(r)).toEqual(['Server/default/server-01']);
    expect(existsSync(marker)).toBe(false);
    // The trap is live: a plain git command that runs hooks does trigger it.
    execFileSync('git', ['-C', repo, 'checkout', '-q', '-b', 'trap-check'], { env: { PATH: process.env.PATH ?? '' } });
    expect(existsSync(marker)).toBe(true);
  });
});

describe('Git source: repositories that cannot be read', () => {
  test('a missing repository, an unknown ref, an empty repository, a ref on a plain directory', async () => {
    await expect(readDesiredState({ repository: path.join(tmp, 'nope') })).rejects.toThrow(
      /repository .*nope does not exist/,
    );

    const repo = newDir();
    await createGitRepo(repo, { 'a.yaml': serverDoc('server-01', 'x') });
    const unknown = readDesiredState({ repository: repo, ref: 'no-such-branch' });
    await expect(unknown).rejects.toThrow(DesiredSourceError);
    await expect(unknown).rejects.toThrow("ref 'no-such-branch' is not a branch, tag or commit of the repository");
    await expect(readDesiredState({ repository: repo, ref: '--output=/tmp/x' })).rejects.toThrow(
      /is not a branch, tag or commit/,
    );

    const empty = newDir();
    await fs.mkdir(empty);
    await git(empty, 'init', '-q', '-b', 'main');
    await expect(readDesiredState({ repository: empty })).rejects.toThrow(
      'repository has no commit at HEAD (empty repository?)',
    );

    const plain = newDir();
    await writeFiles(plain, { 'a.yaml': serverDoc('server-01', 'x') });
    await expect(readDesiredState({ repository: plain, ref: 'main' })).rejects.toThrow(
      /plain directory, not a Git repository/,
    );
  });
});

describe('Git source: remote repositories through a mirror cache', () => {
  test('clone into the cache, then fetch: a new commit and a changed default branch are seen', async () => {
    const origin = newDir();
    const c1 = await createGitRepo(origin, { 'servers.yaml': serverDoc('server-01', 'one') });
    const cacheDir = path.join(tmp, 'cache', 'origin');
    const url = `file://${origin}`;

    const r1 = await readDesiredState({ repository: url, cacheDir });
    expect(r1.commit).toBe(c1);
    expect(r1.ref).toBe('main');
    expect(keys(r1)).toEqual(['Server/default/server-01']);
    // A bare mirror: no work tree holding the files.
    await expect(fs.stat(path.join(cacheDir, 'servers.yaml'))).rejects.toThrow();
    expect(await git(cacheDir, 'rev-parse', '--is-bare-repository')).toBe('true');

    const c2 = await commitFiles(origin, { 'servers.yaml': serverDoc('server-02', 'two') });
    const r2 = await readDesiredState({ repository: url, cacheDir });
    expect(r2.commit).toBe(c2);
    expect(keys(r2)).toEqual(['Server/default/server-02']);

    const c3 = await commitFiles(origin, { 'servers.yaml': serverDoc('server-03', 'three') }, { branch: 'release' });
    const atBranch = await readDesiredState({ repository: url, cacheDir, ref: 'release' });
    expect(atBranch.commit).toBe(c3);
    // The origin's HEAD now points at 'release' (checked out there): the mirror follows.
    const r3 = await readDesiredState({ repository: url, cacheDir });
    expect(r3).toMatchObject({ commit: c3, ref: 'release' });
  });

  test('an unreachable URL is a DesiredSourceError that does not leak credentials', async () => {
    const err = await readDesiredState({
      repository: `file://user:s3cret-token@${path.join(tmp, 'missing-origin')}`,
      cacheDir: path.join(tmp, 'cache', 'missing'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DesiredSourceError);
    expect((err as Error).message).toMatch(/^cannot clone or fetch repository file:\/\/\*\*\*@/);
    expect((err as Error).message).not.toContain('s3cret-token');
  });

  test('a local bare repository is read directly', async () => {
    const origin = newDir();
    const c1 = await createGitRepo(origin, { 'servers.yaml': serverDoc('server-01', 'one') });
    const bare = newDir();
    await git(tmp, 'clone', '-q', '--bare', origin, bare);
    const r = await readDesiredState({ repository: bare });
    expect(r.commit).toBe(c1);
    expect(keys(r)).toEqual(['Server/default/server-01']);
  });
});
