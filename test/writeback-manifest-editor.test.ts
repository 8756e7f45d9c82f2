import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import jsyaml from 'js-yaml';
import { splitYamlDocuments } from '../src/gitops/yaml-documents.js';
import { carryOver } from '../src/writeback/line-patch.js';
import {
  DEFAULT_MANAGED_FILE_TEMPLATE,
  editManifestFile,
  managedFilePath,
  renderNewManifest,
  type FabricObjectDoc,
  type ManifestEdit,
} from '../src/writeback/manifest-editor.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = path.resolve(here, '..', '../shared/hedgehog-docs-manifests');

const segments = (text: string) => splitYamlDocuments(text).map((s) => s.text);
const loadAll = (text: string) => jsyaml.loadAll(text).filter((v) => v !== null && v !== undefined);

/** The file's documents other than `index` are byte-identical in `after`; returns the changed document. */
function onlyDocumentChanged(before: string, after: string, index: number): string {
  const b = segments(before);
  const a = segments(after);
  expect(a).toHaveLength(b.length);
  expect(a.filter((_, i) => i !== index)).toEqual(b.filter((_, i) => i !== index));
  expect(a[index]).not.toEqual(b[index]);
  return a[index]!;
}

/** The lines of `after` that differ from `before` (same line count assumed). */
function changedLines(before: string, after: string): string[] {
  const b = before.split('\n');
  return after.split('\n').filter((l, i) => l !== b[i]);
}

function isSubsequence(small: readonly string[], big: readonly string[]): boolean {
  let i = 0;
  for (const line of big) if (line === small[i]) i++;
  return i === small.length;
}

function vpc(name: string, spec: Record<string, unknown>, metadata: Partial<FabricObjectDoc['metadata']> = {}) {
  return { apiVersion: 'vpc.githedgehog.com/v1beta1', kind: 'VPC', metadata: { name, ...metadata }, spec };
}
const put = (object: FabricObjectDoc): ManifestEdit => ({ op: 'put', object });
const del = (kind: string, name: string, namespace = 'default'): ManifestEdit => ({
  op: 'delete',
  ref: { kind, namespace, name },
});

const THREE_DOCS = `# Fabric VPCs (file header)

# the first VPC
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-1
spec:
  vlanNamespace: default # the default namespace
---
# the second VPC, quoted values on purpose
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-2
  namespace: default
  labels: {team: 'blue'}
spec:
  zKey: first
  ipv4Namespace: "default"
  subnets:
    default:
      subnet: '10.0.2.0/24'
      vlan: 1002   # spaced comment
      gateway: 10.0.2.1
  aKey: last
---
apiVersion: wiring.githedgehog.com/v1beta1
kind: VLANNamespace
metadata:
  name: default
spec:
  ranges:
  - from: 1000
    to: 2999
`;
const vpc2 = loadAll(THREE_DOCS)[1] as FabricObjectDoc;
const withSpec = (o: FabricObjectDoc, spec: Record<string, unknown>): FabricObjectDoc => ({ ...o, spec });
const vpc2Subnet = (change: Record<string, unknown>) =>
  withSpec(vpc2, {
    ...vpc2.spec,
    subnets: { default: { ...(vpc2.spec.subnets as { default: object }).default, ...change } },
  });

describe('editManifestFile: put on a declared object', () => {
  test('a spec scalar of the 2nd document changes on its line only; other documents are byte-identical', () => {
    const out = editManifestFile(THREE_DOCS, [put(vpc2Subnet({ vlan: 1003 }))], { file: 'vpcs.yaml' });
    expect(out.results).toEqual([{ ref: { kind: 'VPC', namespace: 'default', name: 'vpc-2' }, outcome: 'updated' }]);
    onlyDocumentChanged(THREE_DOCS, out.text!, 1);
    expect(changedLines(THREE_DOCS, out.text!)).toEqual(['      vlan: 1003   # spaced comment']);
  });

  test('a quoted string keeps its quote style when its value changes', () => {
    const out = editManifestFile(THREE_DOCS, [put(vpc2Subnet({ subnet: '10.0.3.0/24' }))]);
    expect(changedLines(THREE_DOCS, out.text!)).toEqual(["      subnet: '10.0.3.0/24'"]);
  });

  test('a structural edit keeps comments, key order and quoting of the untouched parts', () => {
    const changed = vpc2Subnet({ dhcp: { enable: true, range: { start: '10.0.2.10' } } }).spec;
    const spec = { ...Object.fromEntries(Object.entries(changed).filter(([k]) => k !== 'aKey')), newKey: 'yes' };
    const out = editManifestFile(THREE_DOCS, [put({ ...withSpec(vpc2, spec), metadata: { ...vpc2.metadata } })]);
    const doc = onlyDocumentChanged(THREE_DOCS, out.text!, 1);
    expect(doc).toContain('# the second VPC, quoted values on purpose');
    expect(doc).toContain('ipv4Namespace: "default"');
    expect(doc).toContain("subnet: '10.0.2.0/24'");
    expect(doc).toContain("labels: {team: 'blue'}");
    expect(doc).toContain('# spaced comment');
    expect(doc).not.toContain('aKey');
    // A new string YAML 1.1 would read as a boolean is quoted.
    expect(doc).toContain('newKey: "yes"');
    const keys = [...doc.matchAll(/^ {2}(\w+):/gm)].map((m) => m[1]);
    expect(keys).toEqual(['name', 'namespace', 'labels', 'zKey', 'ipv4Namespace', 'subnets', 'newKey']);
    expect(loadAll(out.text!)[1]).toEqual({ ...vpc2, spec });
  });

  test('a structural edit keeps the source lines the YAML writer would re-space', () => {
    const spaced = [
      'apiVersion: wiring.githedgehog.com/v1beta1',
      'kind: Switch',
      'metadata:',
      '  name: leaf-01',
      'spec:',
      '  boot: # Serial or MAC can be used',
      '    mac: 0c:20:12:ff:00:00   # CHANGE ME',
      '  profile:  celestica-ds3000',
      '  portBreakouts:',
      '    E1/1: 4x10G',
      '  role: server-leaf',
      '',
    ].join('\n');
    const current = loadAll(spaced)[0] as FabricObjectDoc;
    const spec = {
      boot: current.spec.boot,
      profile: 'celestica-ds3000',
      portBreakouts: { 'E1/1': '4x10G', 'E1/2': '4x25G' },
      redundancy: { type: 'eslag', group: 'eslag-1' },
    };
    const out = editManifestFile(spaced, [put(withSpec(current, spec))]).text!;
    expect(loadAll(out)[0]).toEqual(withSpec(current, spec));
    const kept = spaced.split('\n').filter((l) => !l.includes('role:'));
    expect(isSubsequence(kept, out.split('\n'))).toBe(true);
    expect(out.split('\n').filter((l) => !kept.includes(l))).toEqual([
      '    E1/2: 4x25G',
      '  redundancy:',
      '    group: eslag-1',
      '    type: eslag',
    ]);
  });

  test('labels and annotations are set, changed and removed; apiVersion follows the object', () => {
    const object = {
      ...vpc2,
      apiVersion: 'vpc.githedgehog.com/v1beta2',
      metadata: { name: 'vpc-2', labels: { team: 'red', tier: '1' }, annotations: { note: 'on' } },
    };
    const out = editManifestFile(THREE_DOCS, [put(object)]);
    onlyDocumentChanged(THREE_DOCS, out.text!, 1);
    expect(loadAll(out.text!)[1]).toEqual({ ...object, metadata: { ...object.metadata, namespace: 'default' } });
    const cleared = editManifestFile(out.text, [put({ ...object, metadata: { name: 'vpc-2' } })]);
    expect(loadAll(cleared.text!)[1]).toEqual({ ...object, metadata: { name: 'vpc-2', namespace: 'default' } });
  });

  test('hostile keys (__proto__, unicode, look-alike booleans) round-trip as keys', () => {
    const spec = JSON.parse('{"__proto__": {"polluted": true}, "ключ": "значение 🦔", "on": "off", "1": 2}') as Record<
      string,
      unknown
    >;
    const out = editManifestFile(THREE_DOCS, [put(withSpec(vpc2, spec))]).text!;
    onlyDocumentChanged(THREE_DOCS, out, 1);
    const after = loadAll(out)[1] as FabricObjectDoc;
    expect(after.spec).toEqual(spec);
    expect(Object.keys(after.spec).sort()).toEqual(['1', '__proto__', 'on', 'ключ']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(out).toContain('"on": "off"');
  });

  test('an unchanged put returns the identical text', () => {
    const objects = loadAll(THREE_DOCS) as FabricObjectDoc[];
    const out = editManifestFile(THREE_DOCS, objects.map(put));
    expect(out.text).toBe(THREE_DOCS);
    expect(out.results.map((r) => r.outcome)).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  test('CRLF: the edited document keeps CRLF line endings, the others stay byte-identical', () => {
    const crlf = THREE_DOCS.replace(/\n/g, '\r\n');
    for (const object of [vpc2Subnet({ vlan: 7 }), vpc2Subnet({ dhcp: { enable: true } })]) {
      const out = editManifestFile(crlf, [put(object)]).text!;
      onlyDocumentChanged(crlf, out, 1);
      expect(out.replace(/\r\n/g, '')).not.toContain('\n');
      expect(loadAll(out)[1]).toEqual(object);
    }
    const appended = editManifestFile(crlf, [put(vpc('vpc-9', { a: 1 }))]).text!;
    expect(appended.startsWith(crlf)).toBe(true);
    expect(appended.replace(/\r\n/g, '')).not.toContain('\n');
  });

  test('a UTF-8 BOM stays at the start of the file when the first document is edited or deleted', () => {
    const bom = `\uFEFF${THREE_DOCS}`;
    const vpc1 = loadAll(THREE_DOCS)[0] as FabricObjectDoc;
    const edited = editManifestFile(bom, [put(withSpec(vpc1, { vlanNamespace: 'other', ünïcode: 'ñ' }))]).text!;
    expect(edited.startsWith('\uFEFF# Fabric VPCs (file header)\n')).toBe(true);
    expect(edited.slice(1).startsWith('\uFEFF')).toBe(false);
    expect(loadAll(edited)[0]).toEqual(withSpec(vpc1, { vlanNamespace: 'other', ünïcode: 'ñ' }));
    const deleted = editManifestFile(bom, [del('VPC', 'vpc-1')]).text!;
    expect(deleted.startsWith('\uFEFF# Fabric VPCs (file header)\n\n---\n')).toBe(true);
  });

  test('the trailing-newline state of an edited last document is kept', () => {
    const noEol = THREE_DOCS.slice(0, -1);
    const vlans = loadAll(THREE_DOCS)[2] as FabricObjectDoc;
    const object = withSpec(vlans, { ranges: [{ from: 1000, to: 1999 }], extra: true });
    const out = editManifestFile(noEol, [put(object)]).text!;
    expect(out.endsWith('\n')).toBe(false);
    expect(loadAll(out)[2]).toEqual(object);
  });
});

describe('editManifestFile: anchors, aliases and merge keys', () => {
  const ANCHORS = `apiVersion: v1
kind: VPC
metadata: {name: other}
spec: {}
---
apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: vpc-a
spec:
  defaults: &dflt
    vlan: 1001
    dhcp: {enable: false, mode: 'on'}
  subnetA:
    <<: *dflt
    subnet: 10.0.1.0/24
  subnetB: *dflt
`;
  const current = loadAll(ANCHORS)[1] as FabricObjectDoc;
  const spec = current.spec as Record<string, Record<string, unknown>>;

  test('a value that comes through a merge key is materialized in its map only', () => {
    const object = withSpec(current, { ...spec, subnetA: { ...spec.subnetA, vlan: 2002 } });
    const out = editManifestFile(ANCHORS, [put(object)]).text!;
    const doc = onlyDocumentChanged(ANCHORS, out, 1);
    expect(doc).toContain('<<: *dflt');
    expect(doc).toContain('subnetB: *dflt');
    expect(loadAll(out)[1]).toEqual(object);
  });

  test('removing a merged key expands that merge only', () => {
    const rest = Object.fromEntries(Object.entries(spec.subnetA!).filter(([k]) => k !== 'vlan'));
    const object = withSpec(current, { ...spec, subnetA: rest });
    const out = editManifestFile(ANCHORS, [put(object)]).text!;
    onlyDocumentChanged(ANCHORS, out, 1);
    expect(loadAll(out)[1]).toEqual(object);
  });

  test('a value reached through an alias is copied into place; the anchor and its other users keep their values', () => {
    const object = withSpec(current, { ...spec, subnetB: { ...spec.subnetB, vlan: 3003 } });
    const out = editManifestFile(ANCHORS, [put(object)]).text!;
    const doc = onlyDocumentChanged(ANCHORS, out, 1);
    expect(doc).toContain('defaults: &dflt');
    expect(doc).toContain('<<: *dflt');
    expect(loadAll(out)[1]).toEqual(object);
  });

  test('changing the anchored value itself does not silently change the nodes that alias it', () => {
    const object = withSpec(current, { ...spec, defaults: { vlan: 4004, dhcp: { enable: true } } });
    const out = editManifestFile(ANCHORS, [put(object)]).text!;
    onlyDocumentChanged(ANCHORS, out, 1);
    const after = loadAll(out)[1] as FabricObjectDoc;
    expect(after).toEqual(object);
    expect(after.spec.subnetB).toEqual({ vlan: 1001, dhcp: { enable: false, mode: 'on' } });
    // Copies of aliased values quote what a YAML 1.1 reader would take for a boolean.
    expect(out).not.toMatch(/mode: on\b/);
    expect((after.spec.subnetA as { vlan: number }).vlan).toBe(1001);
  });

  test('an alias bomb is refused before any value is copied', () => {
    // Nine levels of ten aliases each: 10^9 values once expanded; refused in well under a second.
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const lines = levels.map((k, i) =>
      i === 0
        ? `  a: &a [x, x, x, x, x, x, x, x, x, x]`
        : `  ${k}: &${k} [${Array(10)
            .fill(`*${levels[i - 1]!}`)
            .join(', ')}]`,
    );
    const bomb = `apiVersion: v1\nkind: VPC\nmetadata: {name: bomb}\nspec:\n${lines.join('\n')}\n`;
    for (const edit of [
      put(vpc('bomb', { a: 1 })),
      put(vpc('bomb', { ...(loadAll(bomb)[0] as FabricObjectDoc).spec })),
    ])
      expect(() => editManifestFile(bomb, [edit], { file: 'b.yaml' })).toThrow(
        /^b\.yaml: VPC default\/bomb \(line 1\): YAML alias expansion exceeds the limit/,
      );
  });
});

describe('editManifestFile: List documents', () => {
  const LIST = `apiVersion: v1
kind: VPC
metadata: {name: standalone}
spec: {}
---
apiVersion: v1
kind: List
items:
- apiVersion: wiring.githedgehog.com/v1beta1
  kind: Switch
  metadata:
    name: leaf-01
  spec:
    role: server-leaf # keep me
- apiVersion: wiring.githedgehog.com/v1beta1
  kind: Switch
  metadata:
    name: leaf-02
  spec:
    role: server-leaf
metadata:
  resourceVersion: ""
`;
  const items = (loadAll(LIST)[1] as { items: FabricObjectDoc[] }).items;

  test('an item is edited in place; only the List document changes', () => {
    const object = withSpec(items[1]!, { role: 'spine', ports: [1, 2] });
    const out = editManifestFile(LIST, [put(object)]);
    const doc = onlyDocumentChanged(LIST, out.text!, 1);
    expect(doc).toContain('role: server-leaf # keep me');
    expect(loadAll(out.text!)[1]).toEqual({ ...(loadAll(LIST)[1] as object), items: [items[0], object] });
  });

  test('a `kind: <X>List` document (kubectl get -o yaml) works the same; a CRLF List stays CRLF', () => {
    const switchList = LIST.replace('kind: List', 'kind: SwitchList').replace(/\n/g, '\r\n');
    const object = withSpec(items[0]!, { role: 'spine' });
    const out = editManifestFile(switchList, [put(object), del('Switch', 'leaf-02')]);
    expect(out.results.map((r) => r.outcome)).toEqual(['updated', 'deleted']);
    onlyDocumentChanged(switchList, out.text!, 1);
    expect(out.text!.replace(/\r\n/g, '')).not.toContain('\n');
    expect((loadAll(out.text!)[1] as { items: unknown[] }).items).toEqual([object]);
  });

  test('an item is deleted; the last item deleted removes the List document', () => {
    const one = editManifestFile(LIST, [del('Switch', 'leaf-01')]);
    expect(one.results[0]!.outcome).toBe('deleted');
    onlyDocumentChanged(LIST, one.text!, 1);
    expect((loadAll(one.text!)[1] as { items: unknown[] }).items).toEqual([items[1]]);
    const both = editManifestFile(LIST, [del('Switch', 'leaf-01'), del('Switch', 'leaf-02')]);
    expect(segments(both.text!)).toEqual([segments(LIST)[0]]);
  });
});

describe('editManifestFile: delete and append', () => {
  test('deleting the middle document leaves the others byte-identical', () => {
    const out = editManifestFile(THREE_DOCS, [del('VPC', 'vpc-2')]);
    const b = segments(THREE_DOCS);
    expect(segments(out.text!)).toEqual([b[0], b[2]]);
  });

  test('deleting the first document keeps the file header comment', () => {
    const out = editManifestFile(THREE_DOCS, [del('VPC', 'vpc-1')]).text!;
    expect(out).toBe(`# Fabric VPCs (file header)\n\n${segments(THREE_DOCS).slice(1).join('')}`);
  });

  test('a trailing heading comment of a deleted document stays for the next one', () => {
    const text = THREE_DOCS.replace('\n---\n# the second', '\n#\n# VPC two\n#\n---\n# the second');
    const out = editManifestFile(text, [del('VPC', 'vpc-1')]).text!;
    expect(out.startsWith('# Fabric VPCs (file header)\n\n#\n# VPC two\n#\n---\n')).toBe(true);
  });

  test('deleting the last object returns null (delete the file)', () => {
    const out = editManifestFile(THREE_DOCS, [
      del('VPC', 'vpc-1'),
      del('VPC', 'vpc-2'),
      del('VLANNamespace', 'default'),
    ]);
    expect(out.text).toBeNull();
    expect(out.results.map((r) => r.outcome)).toEqual(['deleted', 'deleted', 'deleted']);
  });

  test('deleting an object the file does not declare is not-found and changes nothing', () => {
    const out = editManifestFile(THREE_DOCS, [del('VPC', 'vpc-2', 'other-ns'), del('Switch', 'vpc-2')]);
    expect(out).toEqual({
      text: THREE_DOCS,
      results: [
        { ref: { kind: 'VPC', namespace: 'other-ns', name: 'vpc-2' }, outcome: 'not-found' },
        { ref: { kind: 'Switch', namespace: 'default', name: 'vpc-2' }, outcome: 'not-found' },
      ],
    });
  });

  test('a new object is appended after a separator, the existing text untouched', () => {
    const object = vpc(
      'vpc-3',
      { subnets: { default: { vlan: '1003', subnet: '10.0.3.0/24' } } },
      { namespace: 'ns1' },
    );
    for (const before of [THREE_DOCS, THREE_DOCS.slice(0, -1)]) {
      const out = editManifestFile(before, [put(object)]);
      expect(out.results[0]!.outcome).toBe('appended');
      expect(out.text).toBe(`${THREE_DOCS}---\n${renderNewManifest(object)}`);
      expect(loadAll(out.text!)[3]).toEqual(object);
    }
  });

  test('a null text is a new file; deleting from it is not-found and stays null', () => {
    const object = vpc('vpc-3', { a: 1 });
    expect(editManifestFile(null, [put(object)]).text).toBe(renderNewManifest(object));
    expect(editManifestFile(null, [del('VPC', 'vpc-3')])).toEqual({
      text: null,
      results: [{ ref: { kind: 'VPC', namespace: 'default', name: 'vpc-3' }, outcome: 'not-found' }],
    });
    expect(editManifestFile('# only a comment\n', [put(object)]).text).toBe(
      `# only a comment\n${renderNewManifest(object)}`,
    );
  });
});

describe('editManifestFile: documents closed by `...` markers', () => {
  const ENDED = `apiVersion: v1\nkind: VPC\nmetadata: {name: one}\nspec: {a: 1}\n...\napiVersion: v1\nkind: VPC\nmetadata: {name: two}\nspec:\n  b: 2\n# heading of three\n...\napiVersion: v1\nkind: VPC\nmetadata: {name: three}\nspec: {}\n`;
  const [one, two, three] = loadAll(ENDED) as FabricObjectDoc[];

  test('an edited document keeps its `...` and the next document stays separate', () => {
    for (const object of [withSpec(one!, { a: { deep: [1] } }), withSpec(two!, { b: 3, c: { d: 'e' } })]) {
      const out = editManifestFile(ENDED, [put(object)]).text!;
      expect(loadAll(out)).toEqual(
        [one, two, three].map((o) => (o!.metadata.name === object.metadata.name ? object : o)),
      );
      expect(out).toContain('# heading of three\n...\n');
    }
  });

  test('deleting a document between `...` markers does not join its neighbours', () => {
    const out = editManifestFile(ENDED, [del('VPC', 'two')]).text!;
    expect(loadAll(out)).toEqual([one, three]);
    expect(segments(out)).toEqual([segments(ENDED)[0], '# heading of three\n...\n', segments(ENDED)[2]]);
  });
});

describe('editManifestFile: refusals', () => {
  test('an object declared twice is refused, naming the file, object and lines', () => {
    const twice = `${THREE_DOCS}---\n${segments(THREE_DOCS)[2]!}`;
    expect(() => editManifestFile(twice, [put(vpc('x', {}))], { file: 'dup.yaml' })).toThrow(
      'dup.yaml: VLANNamespace default/default is declared twice (lines 28 and 38); refusing to edit',
    );
  });

  test('a document that does not parse is refused', () => {
    const broken = `${THREE_DOCS}---\nkind: VPC\nmetadata: {name: [unclosed\n`;
    expect(() => editManifestFile(broken, [del('VPC', 'vpc-1')], { file: 'broken.yaml' })).toThrow(
      /^broken\.yaml: cannot edit, the document at line \d+ does not parse: invalid YAML/,
    );
  });
});

describe('editManifestFile on the docs manifests (inline fixture when /work/shared is absent)', () => {
  const files = existsSync(corpus)
    ? readdirSync(corpus)
        .filter((f) => f.endsWith('.yaml') && f !== 'user-guide__devices__02.yaml')
        .map((f) => [f, readFileSync(path.join(corpus, f), 'utf8')] as const)
    : [['inline.yaml', THREE_DOCS] as const];

  test.each(files)('%s: each object edited round-trips; the other documents stay byte-identical', (_f, text) => {
    const before = loadAll(text);
    before.forEach((value, i) => {
      const object = value as Omit<FabricObjectDoc, 'metadata'> & { metadata?: { name?: unknown } };
      // Skip what is not an object (the docs have templates without a name) and List documents.
      if (typeof object.metadata?.name !== 'string' || object.kind.endsWith('List')) return;
      const spec = { ...object.spec, writeback: { marker: 'on', list: [1, '2'] } };
      const metadata = { ...object.metadata, name: object.metadata.name, labels: { 'fabric.io/x': 'true' } };
      const edited = { ...object, spec, metadata };
      const out = editManifestFile(text, [put(edited)], { file: _f }).text!;
      const after = loadAll(out);
      expect(after).toEqual(before.map((v, j) => (j === i ? edited : v)));
      const changed = segments(out).filter((s, j) => s !== segments(text)[j]);
      expect(changed).toHaveLength(1);
      // Every comment of the edited document survives.
      const comments = (t: string) => [...t.matchAll(/(?:^|\s)(#.*)$/gm)].map((m) => m[1]);
      const original = segments(text).find((s) => !segments(out).includes(s))!;
      expect(comments(changed[0]!)).toEqual(expect.arrayContaining(comments(original)));
      // Where the edit only adds lines (no labels replaced, no `{}` filled), every source line survives, in order.
      if (!/^ +labels:/m.test(original) && !/: \{\}/.test(original))
        expect(isSubsequence(original.split('\n'), changed[0]!.split('\n'))).toBe(true);
    });
  });
});

describe('carryOver', () => {
  test('applies the rendered change to the source lines, keeping CRLF and the lines the writer re-spaced', () => {
    expect(carryOver('a: 1\r\nb:  2\r\n', 'a: 1\nb: 2\n', 'a: 1\nc: 3\nb: 2\n')).toBe('a: 1\r\nc: 3\r\nb:  2\r\n');
    expect(carryOver('a:  1\nb: 2\nz: 0', 'a: 1\nb: 2\nz: 0\n', 'a: 1\nz: 0\n')).toBe('a:  1\nz: 0');
  });

  test('gives up when the change falls on a line the writer re-spaced', () => {
    expect(carryOver('a:  1\nb: 2\n', 'a: 1\nb: 2\n', 'a: 3\nb: 2\n')).toBeNull();
    expect(carryOver('x:  1\n', 'x: 1\n', 'y: 2\n')).toBeNull();
  });
});

describe('renderNewManifest', () => {
  test('writes apiVersion, kind, metadata, spec with sorted keys and quoted look-alike strings', () => {
    const text = renderNewManifest({
      apiVersion: 'v1',
      kind: 'VPC',
      metadata: { name: 'v', namespace: 'default', labels: {}, annotations: { b: '2', a: 'true' } },
      spec: { z: 'on', a: '1', m: { y: [1, 'no'], b: null } },
    });
    expect(text).toBe(
      [
        'apiVersion: v1',
        'kind: VPC',
        'metadata:',
        '  name: v',
        '  annotations:',
        '    a: "true"',
        '    b: "2"',
        'spec:',
        '  a: "1"',
        '  m:',
        '    b: null',
        '    "y":',
        '      - 1',
        '      - "no"',
        '  z: "on"',
        '',
      ].join('\n'),
    );
    expect(renderNewManifest(vpc('v', {}, { namespace: 'ns' }))).toContain('  namespace: ns\n');
  });
});

describe('managedFilePath', () => {
  const o = { kind: 'VPC', plural: 'vpcs', namespace: 'default', name: 'vpc-1' };

  test('fills the template under the base path', () => {
    expect(managedFilePath(DEFAULT_MANAGED_FILE_TEMPLATE, '', o)).toBe('managed/vpcs/vpc-1.yaml');
    expect(managedFilePath(DEFAULT_MANAGED_FILE_TEMPLATE, 'fabric/', o)).toBe('fabric/managed/vpcs/vpc-1.yaml');
    expect(managedFilePath('{namespace}/{kind}/./{name}.yml', './a/b', o)).toBe('a/b/default/VPC/vpc-1.yml');
  });

  test.each([
    ['a template escaping the base path', '../{name}.yaml', 'fabric', o],
    ['an absolute template', '/etc/{name}.yaml', 'fabric', o],
    ['a crafted name', DEFAULT_MANAGED_FILE_TEMPLATE, 'fabric', { ...o, name: '../../etc/x' }],
    ['a name with a backslash', DEFAULT_MANAGED_FILE_TEMPLATE, '', { ...o, name: 'a\\b' }],
    ['a NUL in the template', 'managed/{name}\0.yaml', '', o],
    ['a result that is not YAML', 'managed/{name}.json', '', o],
    ['an unknown placeholder', 'managed/{plurals}/{name}.yaml', '', o],
    ['a placeholder naming an Object.prototype member', 'managed/{constructor}/{name}.yaml', '', o],
    ['a dot name', 'managed/{name}/x.yaml', '', { ...o, name: '..' }],
    ['a base path with ..', DEFAULT_MANAGED_FILE_TEMPLATE, 'a/../..', o],
    ['an absolute base path', DEFAULT_MANAGED_FILE_TEMPLATE, '/srv/fabric', o],
  ])('refuses %s', (_what, template, base, object) => {
    expect(() => managedFilePath(template, base, object)).toThrow(/managed file|base path/);
  });
});

test('the manifest editor is pure: no file system, Git, database or other source layer', () => {
  const files = ['manifest-editor.ts', 'yaml-value-edit.ts', 'line-patch.ts'];
  // `yaml` and the document splitter are what this slice is built on; nothing node:, nothing with state.
  const allowed = ['yaml', '../common/values.js', '../crds/schema-defaults.js', '../gitops/yaml-documents.js'];
  const imported = files.flatMap((f) =>
    [...readFileSync(path.join(here, '..', 'src', 'writeback', f), 'utf8').matchAll(/from '([^']+)'/g)].map(
      (m) => m[1]!,
    ),
  );
  expect(imported.filter((i) => !allowed.includes(i) && !i.startsWith('./'))).toEqual([]);
  expect(imported).toContain('yaml');
});
