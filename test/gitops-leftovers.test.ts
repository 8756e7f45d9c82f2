/**
 * Git-side leftovers of issue 9 (round 3), each never silently wrong:
 * - `sync --ref HEAD` is the fabric's own ref when it has none (or has HEAD): accepted, not refused;
 * - a `- null` (or any non-mapping) item of a `kind: List` is an error entry with file and line;
 * - a file name that is not valid UTF-8 is refused under its name with the bytes escaped, never stored lossily;
 * - an unknown kind of a fabric group (vpc/wiring.githedgehog.com) is an error in every version.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { parseManifestFile } from '../src/gitops/manifest-parser.js';
import { readDesiredState } from '../src/gitops/desired-state-reader.js';
import { FabricSyncService, otherRefProblem } from '../src/sync/fabric-sync-service.js';
import { createGitRepo } from '../src/testing/index.js';
import { HedgehogFabric } from '../src/entities/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hh-leftovers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sw = (name: string) => `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: ${name}
spec:
  role: server-leaf
`;
const parse = (text: string) => parseManifestFile('m.yaml', Buffer.from(text));

describe('sync --ref HEAD', () => {
  const fabric = (gitRef: string | null) => Object.assign(new HedgehogFabric(), { name: 'f', gitRef });

  test.each([null, 'HEAD'])('is the ref of a fabric whose ref is %s', (gitRef) => {
    expect(otherRefProblem(fabric(gitRef), 'HEAD')).toBeNull();
  });

  test('another ref is still refused, and HEAD is not "main"', () => {
    expect(otherRefProblem(fabric(null), 'feature')).toContain("--ref 'feature'");
    expect(otherRefProblem(fabric('main'), 'HEAD')).toContain("--ref 'HEAD'");
  });

  describe('through the sync service', () => {
    let db: TestDatabase;
    let orm: MikroORM;
    beforeAll(async () => {
      db = await createTestDatabase();
      orm = db.orm;
    });
    afterAll(async () => db.close());

    test('a fabric without a ref syncs with ref HEAD: the repository HEAD lands', async () => {
      const dir = path.join(tmp, 'head-repo');
      await createGitRepo(dir, { 'a.yaml': sw('leaf-1') });
      const f = await new FabricRegistry(orm.em).create('head', { gitRepository: dir });
      const run = await new FabricSyncService(orm.em).syncDesiredState(f, { ref: 'HEAD' });
      expect(run.status).toBe('completed');
      expect(run.counts).toMatchObject({ listed: 1, created: 1 });
    });
  });
});

describe('kind: List with items that are not objects', () => {
  test.each([
    ['null', '- null', 'null'],
    ['a bare dash', '-', 'null'],
    ['a number', '- 5', 'number'],
    ['a sequence', '- [a, b]', 'a list'],
  ])('%s item is an error entry with file and line; the other items land', (_what, item, found) => {
    const listItem = (name: string) =>
      `- apiVersion: wiring.githedgehog.com/v1beta1\n  kind: Switch\n  metadata:\n    name: ${name}\n  spec:\n    role: server-leaf\n`;
    const text = `apiVersion: v1\nkind: List\nitems:\n${listItem('leaf-1')}${item}\n${listItem('leaf-2')}`;
    const p = parse(text);
    expect(p.observations.map((o) => o.name)).toEqual(['leaf-1', 'leaf-2']);
    expect(p.errors).toEqual([
      {
        file: 'm.yaml',
        line: 10,
        reason: expect.stringContaining(`List item 2 (items[1]) is not an object, found ${found}`),
      },
    ]);
    expect(p).toMatchObject({ documents: 3, refused: 1 });
  });
});

describe('unknown kinds of a fabric group', () => {
  test.each(['v1beta1', 'v1alpha2'])(
    'wiring.githedgehog.com/%s Frobnicator is an error at a line, never "not tracked"',
    (version) => {
      const p = parse(`apiVersion: wiring.githedgehog.com/${version}\nkind: Frobnicator\nmetadata:\n  name: x\n`);
      expect(p.otherKinds).toEqual({});
      expect(p.errors).toEqual([
        expect.objectContaining({
          kind: 'Frobnicator',
          name: 'x',
          file: 'm.yaml',
          line: expect.any(Number),
          reason: expect.stringContaining('wiring.githedgehog.com'),
        }),
      ]);
      expect(p.refused).toBe(1);
    },
  );

  test('the known version names the known kinds', () => {
    const p = parse('apiVersion: wiring.githedgehog.com/v1beta1\nkind: Frobnicator\nmetadata:\n  name: x\n');
    expect(p.errors[0]).toMatchObject({
      line: 2,
      reason: expect.stringMatching(
        /not a kind of wiring\.githedgehog\.com known to this release \(known: Connection, Server, Switch/,
      ),
    });
  });

  test.each([
    ['vpc.githedgehog.com', 'VPCPeerng', "did you mean 'VPCPeering'?"],
    ['wiring.githedgehog.com', 'Swich', "did you mean 'Switch'?"],
    ['vpc.githedgehog.com', 'Switch', 'Switch is a kind of wiring.githedgehog.com, not vpc.githedgehog.com'],
    ['vpc.githedgehog.com', 'Sever', "did you mean 'Server' (apiVersion wiring.githedgehog.com/v1beta1)?"],
  ])('%s %s: %s', (group, kind, hint) => {
    const p = parse(`apiVersion: ${group}/v1beta1\nkind: ${kind}\nmetadata:\n  name: x\n`);
    expect(p.errors).toEqual([expect.objectContaining({ line: 2, reason: expect.stringContaining(hint) })]);
  });

  test('kinds of other Hedgehog groups and of other APIs are still counted, not errors', () => {
    const p = parse(
      'apiVersion: fabricator.githedgehog.com/v1beta1\nkind: Fabricator\nmetadata:\n  name: f\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n',
    );
    expect(p.errors).toEqual([]);
    expect(p.otherKinds).toEqual({ 'fabricator.githedgehog.com/v1beta1/Fabricator': 1, 'v1/ConfigMap': 1 });
  });
});

describe('a file name that is not valid UTF-8', () => {
  test('is refused under its name with the invalid bytes escaped; the other files land', async () => {
    const dir = path.join(tmp, 'latin1-names');
    await createGitRepo(dir, { 'good.yaml': sw('leaf-1') });
    const badName = Buffer.concat([Buffer.from(`${dir}/bad`), Buffer.from([0xff]), Buffer.from('name.yaml')]);
    writeFileSync(badName, sw('leaf-2'));
    execFileSync('git', ['-C', dir, 'add', '-A']);
    execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'latin-1 name']);

    const r = await readDesiredState({ repository: dir });
    expect(r.observations.map((o) => [o.name, o.filePath])).toEqual([['leaf-1', 'good.yaml']]);
    expect(r.errors).toEqual([
      expect.objectContaining({ file: 'bad\\xffname.yaml', reason: expect.stringContaining('not valid UTF-8') }),
    ]);
    expect(JSON.stringify(r)).not.toContain('\uFFFD');
    expect(r.refused).toBe(1);
  });

  test('in a plain directory too: a file and a directory with such names are refused, by their escaped names', async () => {
    const dir = path.join(tmp, 'latin1-dir');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'good.yaml'), sw('leaf-1'));
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('.yaml')]), sw('leaf-2'));
    const subdir = Buffer.concat([Buffer.from(`${dir}/d`), Buffer.from([0xfe])]);
    mkdirSync(subdir);
    writeFileSync(Buffer.concat([subdir, Buffer.from('/x.yaml')]), sw('leaf-3'));

    const r = await readDesiredState({ repository: dir });
    expect(r.observations.map((o) => [o.name, o.filePath])).toEqual([['leaf-1', 'good.yaml']]);
    expect(r.errors.map((e) => [e.file, e.reason])).toEqual([
      ['caf\\xe9.yaml', expect.stringContaining('file name is not valid UTF-8')],
      ['d\\xfe', expect.stringContaining('directory name is not valid UTF-8')],
    ]);
    expect(JSON.stringify(r)).not.toContain('\uFFFD');
  });
});
