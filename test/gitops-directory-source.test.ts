import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DesiredSourceError,
  readDesiredDirectory,
  readDesiredState,
  type DesiredReadResult,
} from '../src/gitops/desired-state-reader.js';
import { createGitRepo, writeFiles } from '../src/testing/git-repo.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureRoot = path.join(here, 'fixtures', 'manifests', 'repo');

const serverDoc = (name: string) =>
  `apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: ${name}\n`;

let tmp: string;
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'hh-gitops-dir-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('plain directory source', () => {
  test('a directory without .git: no commit, every manifest read recursively with its hash', async () => {
    const r = await readDesiredState({ repository: fixtureRoot });
    expect(r.commit).toBeNull();
    expect(r.ref).toBeNull();
    expect(r.errors).toEqual([]);
    expect(r.filesRead).toBe(3);
    expect(r.otherKinds).toEqual({ 'v1/ConfigMap': 1 });
    expect(r.observations.map((o) => `${o.filePath}:${o.line} ${o.kind}/${o.namespace}/${o.name}`)).toEqual([
      'vpc/vpcs.yaml:1 VPC/tenant-a/vpc-1',
      'vpc/vpcs.yaml:14 VPCAttachment/tenant-a/vpc-1--server-01',
      'wiring/connections.yml:1 Server/default/server-01',
      'wiring/connections.yml:8 Connection/default/server-01--unbundled--leaf-01',
      'wiring/switches.yaml:2 Switch/default/leaf-01',
      'wiring/switches.yaml:14 Switch/default/leaf-02',
    ]);
    expect(r.observations.every((o) => /^[0-9a-f]{64}$/.test(o.fileHash))).toBe(true);
  });

  test("a work tree's .git directory is not read (Git never declares anything from it); its manifests are", async () => {
    const root = path.join(tmp, 'checkout');
    await createGitRepo(root, { 'sw.yaml': serverDoc('declared') });
    await writeFiles(root, {
      '.git/stray/copy.yaml': serverDoc('inside-git'),
      'nested/.git/x.yaml': serverDoc('in-submodule-git'),
      'uncommitted.yaml': serverDoc('work-in-progress'),
    });
    const r = await readDesiredDirectory(root); // `hh-sync diff --local` at a checkout's root
    expect(r.observations.map((o) => `${o.filePath} ${o.name}`)).toEqual([
      'sw.yaml declared',
      'uncommitted.yaml work-in-progress',
    ]);
    expect(r.errors).toEqual([]);
  });

  test('symlinks to files and directories are refused with their path and never read', async () => {
    const root = path.join(tmp, 'links');
    const outside = path.join(tmp, 'outside');
    await writeFiles(outside, { 'secret.yaml': serverDoc('stolen') });
    await writeFiles(root, {
      'ok.yaml': serverDoc('server-01'),
      'nested/escape.yaml': { symlink: path.join(outside, 'secret.yaml') },
      'nested/dir': { symlink: outside },
      'relative.yml': { symlink: '../outside/secret.yaml' },
    });
    const r = await readDesiredState({ repository: root });
    expect(r.observations.map((o) => o.name)).toEqual(['server-01']);
    expect(r.errors).toEqual([
      { file: 'nested/dir', reason: 'refused: symbolic link (symlinks are never followed)' },
      { file: 'nested/escape.yaml', reason: 'refused: symbolic link (symlinks are never followed)' },
      { file: 'relative.yml', reason: 'refused: symbolic link (symlinks are never followed)' },
    ]);
    // A sub-path through a symlink, or leaving the root, makes the source unusable.
    await expect(readDesiredState({ repository: root, path: 'nested/dir' })).rejects.toThrow(
      /goes through a symbolic link/,
    );
    await expect(readDesiredState({ repository: root, path: '../outside' })).rejects.toThrow(DesiredSourceError);
    await expect(readDesiredState({ repository: root, path: '/etc' })).rejects.toThrow(/must be relative/);
    await expect(readDesiredState({ repository: root, path: 'missing' })).rejects.toThrow(/does not exist/);
  });

  test('a 20 MB file is refused from its size without being read', async () => {
    const root = path.join(tmp, 'big');
    await writeFiles(root, { 'ok.yaml': serverDoc('server-01') });
    // A sparse file: its size says 20 MB, and reading it would produce 20 MB of NUL bytes (not UTF-8 text
    // a parser would accept) — the refusal names the size, proving it was judged unread.
    const fh = await fs.open(path.join(root, 'big.yaml'), 'w');
    await fh.truncate(20 * 1024 * 1024);
    await fh.close();
    const r = await readDesiredState({ repository: root });
    expect(r.errors).toEqual([
      {
        file: 'big.yaml',
        reason: `refused: file is ${20 * 1024 * 1024} bytes, over the limit of ${5 * 1024 * 1024} bytes`,
      },
    ]);
    expect(r.observations.map((o) => o.name)).toEqual(['server-01']);
    expect(r.filesRead).toBe(1);
  });

  test('non-UTF-8 files and FIFOs named *.yaml are reported; a single-file sub-path works', async () => {
    const root = path.join(tmp, 'odd');
    await writeFiles(root, {
      'utf16.yaml': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(serverDoc('s'), 'utf16le')]),
      'ok.yaml': serverDoc('server-01'),
    });
    execFileSync('mkfifo', [path.join(root, 'pipe.yaml')]);
    const r = await readDesiredState({ repository: root });
    expect(r.errors).toEqual([
      { file: 'pipe.yaml', reason: 'refused: not a regular file' },
      expect.objectContaining({
        file: 'utf16.yaml',
        line: 1,
        reason: expect.stringMatching(/^file is not valid UTF-8/),
      }),
    ]);
    expect(r.observations.map((o) => o.name)).toEqual(['server-01']);
    const single = await readDesiredState({ repository: root, path: 'ok.yaml' });
    expect(single.observations.map((o) => o.filePath)).toEqual(['ok.yaml']);
  });
});

// The real manifests of the Hedgehog documentation, when ../shared is there: every valid fabric
// object is ingested, each broken one reported at its file and line. Elsewhere these cases are not defined.
const projectRoot = path.resolve(here, '..');
const corpus = path.resolve(projectRoot, '../shared/hedgehog-docs-manifests');
if (existsSync(corpus))
  describe('docs manifests corpus (../shared/hedgehog-docs-manifests)', () => {
    let r: DesiredReadResult;
    beforeAll(async () => {
      r = await readDesiredState({ repository: corpus });
    });

    test('every file and document is read; non-fabric kinds are counted', () => {
      const yamlFiles = readdirSync(corpus).filter((f) => f.endsWith('.yaml'));
      expect(r.filesRead).toBe(yamlFiles.length);
      expect(r.documentsRead).toBe(75);
      expect(r.otherKinds).toEqual({
        'gateway.githedgehog.com/v1alpha1/Gateway': 1,
        'fabricator.githedgehog.com/v1beta1/Fabricator': 1,
        'fabricator.githedgehog.com/v1beta1/ControlNode': 1,
        'fabricator.githedgehog.com/v1beta1/FabNode': 2,
      });
    });

    test('the broken documents: one invalid YAML block and five placeholders without a name', () => {
      expect(r.errors).toEqual([
        {
          kind: 'Switch',
          namespace: 'default',
          name: 's5248-03',
          file: 'user-guide__devices__02.yaml',
          line: 14,
          reason: 'invalid YAML: Implicit keys need to be on a single line (line 14, column 3)',
        },
        { kind: 'Connection', file: 'user-guide__external__00.yaml', line: 4, reason: 'metadata.name is missing' },
        {
          kind: 'ExternalAttachment',
          file: 'user-guide__external__02.yaml',
          line: 4,
          reason: 'metadata.name is missing',
        },
        { kind: 'External', file: 'user-guide__external__03.yaml', line: 4, reason: 'metadata.name is missing' },
        {
          kind: 'ExternalAttachment',
          file: 'user-guide__external__04.yaml',
          line: 4,
          reason: 'metadata.name is missing',
        },
        { kind: 'ExternalPeering', file: 'user-guide__external__05.yaml', line: 4, reason: 'metadata.name is missing' },
      ]);
    });

    test('every valid fabric object is ingested: 64 declarations of 54 distinct objects', () => {
      const declarations = r.observations.length + r.conflicts.reduce((n, c) => n + c.locations.length - 1, 0);
      expect(declarations).toBe(64);
      expect(r.observations).toHaveLength(54);
      const perKind: Record<string, number> = {};
      for (const o of r.observations) perKind[o.kind] = (perKind[o.kind] ?? 0) + 1;
      expect(perKind).toEqual({
        Switch: 9,
        VLANNamespace: 1,
        IPv4Namespace: 1,
        SwitchGroup: 3,
        Connection: 21,
        Server: 1,
        VPC: 3,
        External: 4,
        ExternalAttachment: 3,
        ExternalPeering: 2,
        VPCAttachment: 4,
        VPCPeering: 2,
      });
      expect(r.observations.every((o) => o.namespace === 'default')).toBe(true);
      // The first document of a file that fails further down still lands.
      expect(r.observations.find((o) => o.kind === 'SwitchGroup' && o.name === 'eslag-1')).toMatchObject({
        filePath: 'user-guide__devices__02.yaml',
        line: 1,
        spec: {},
      });
      // Comments before the first document: the object's line is its first key.
      expect(r.observations.find((o) => o.kind === 'VLANNamespace')).toMatchObject({
        filePath: 'install-upgrade__build-wiring__01.yaml',
        line: 4,
        spec: { ranges: [{ from: 1000, to: 2999 }] },
      });
      // Server-set metadata in a copied object is not part of the declaration.
      const leaf5 = r.observations.find((o) => o.name === 'leaf-05')!;
      expect(leaf5.filePath).toBe('user-guide__shrink-expand__00.yaml');
      expect(leaf5.labels).toEqual({
        'fabric.githedgehog.com/profile': 'vs',
        'vlanns.fabric.githedgehog.com/default': 'true',
      });
      expect(leaf5.spec).toMatchObject({ asn: 65104, vtepIP: '172.30.12.3/32' });
    });

    test('objects the docs declare on several pages are conflicts with every location', () => {
      const shown = r.conflicts.map(
        (c) => `${c.kind}/${c.name} ${c.locations.map((l) => `${l.file}:${l.line}`).join(' ')}`,
      );
      expect(shown.sort()).toEqual(
        [
          'Connection/spine-01--gateway--gateway-1 install-upgrade__build-wiring__01.yaml:259 user-guide__connections__08.yaml:1',
          'IPv4Namespace/default install-upgrade__build-wiring__01.yaml:16 user-guide__vpcs__05.yaml:1',
          'Switch/leaf-05 user-guide__shrink-expand__00.yaml:1 user-guide__shrink-expand__01.yaml:1',
          'VLANNamespace/default install-upgrade__build-wiring__01.yaml:4 user-guide__vpcs__06.yaml:1',
          'VPC/vpc-01 user-guide__gateway-peering__07.yaml:1 user-guide__vpcs__01.yaml:1',
          'VPC/vpc-1 user-guide__dhcp__00.yaml:1 user-guide__dhcp__02.yaml:1 user-guide__dhcp__03.yaml:1 user-guide__dhcp__04.yaml:1 user-guide__vpcs__00.yaml:1',
          'VPCPeering/vpc-1--vpc-2 user-guide__vpcs__03.yaml:1 user-guide__vpcs__04.yaml:1',
        ].sort(),
      );
    });

    test('read from a Git commit of the same files, the result is the same', async () => {
      const repoDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hh-corpus-'));
      try {
        const files: Record<string, Buffer> = {};
        for (const f of readdirSync(corpus)) files[`docs/${f}`] = readFileSync(path.join(corpus, f));
        const commit = await createGitRepo(repoDir, files);
        const viaGit = await readDesiredState({ repository: repoDir, path: 'docs' });
        expect(viaGit.commit).toBe(commit);
        const strip = (x: DesiredReadResult) =>
          JSON.parse(JSON.stringify({ ...x, commit: null, ref: null }).replaceAll('docs/', '')) as DesiredReadResult;
        expect(strip(viaGit)).toEqual(strip(r));
      } finally {
        await fs.rm(repoDir, { recursive: true, force: true });
      }
    });
  });
