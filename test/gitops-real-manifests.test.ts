/**
 * The Git side's parser on manifests as people really write them (issue 9): strings PostgreSQL
 * refuses, `kind: List` documents (`kubectl get -o yaml`), fabric groups in unknown versions,
 * schema problems at the offending field's line, and what counts as refused.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCrdSchemasFromDir } from '../src/crds/crd-schemas.js';
import { createCrdValidator } from '../src/crds/crd-validator.js';
import { parseManifestFile } from '../src/gitops/manifest-parser.js';
import { findUnstorableString } from '../src/json-safety.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const parse = (text: string, opts?: Parameters<typeof parseManifestFile>[2]) =>
  parseManifestFile('m.yaml', Buffer.from(text), opts);

const sw = (name: string, extra = '') => `apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: ${name}
spec:
  role: server-leaf
${extra}`;

describe('strings PostgreSQL cannot store', () => {
  test.each([
    ['a NUL in a spec value', `  description: "bad\\0value"\n`, '/spec/description', 7],
    ['a \\x00 escape in a spec key', `  "key\\x00": v\n`, '/spec/key\\u0000', 7],
    ['a lone surrogate in a spec value', `  description: "\\ud800"\n`, '/spec/description', 7],
  ])(
    '%s: one error with kind, name, file, line and field path; the other documents land',
    (_what, extra, ptr, line) => {
      const p = parse(`${sw('leaf-1', extra)}---\n${sw('leaf-2')}`);
      expect(p.observations.map((o) => o.name)).toEqual(['leaf-2']);
      expect(p.errors).toHaveLength(1);
      const e = p.errors[0]!;
      expect(e).toMatchObject({ kind: 'Switch', namespace: 'default', name: 'leaf-1', file: 'm.yaml', line });
      expect(e.reason.startsWith(`${ptr}: `)).toBe(true);
      expect(findUnstorableString(e)).toBeNull(); // the error entry itself can be stored
      expect(p.refused).toBe(1);
    },
  );

  test('in labels and annotations, keys and values', () => {
    const labels = parse(sw('leaf-1').replace('  name: leaf-1\n', '  name: leaf-1\n  labels:\n    rack: "r\\0"\n'));
    expect(labels.errors.map((e) => [e.line, e.reason.split(':')[0]])).toEqual([[6, '/metadata/labels/rack']]);
    const annotations = parse(
      sw('leaf-1').replace('  name: leaf-1\n', '  name: leaf-1\n  annotations:\n    "a\\ud800": x\n'),
    );
    expect(annotations.errors[0]!.reason).toMatch(/^\/metadata\/annotations\/a\\ud800: key .*surrogate/);
    expect(annotations.errors[0]!.line).toBe(6);
  });

  test('a NUL in the name is refused with an escaped, storable message', () => {
    const p = parse(sw('"leaf\\0"'));
    expect(p.errors).toHaveLength(1);
    expect(p.errors[0]!.reason).toContain('leaf\\u0000');
    expect(findUnstorableString(p.errors[0])).toBeNull();
  });
});

describe('List documents', () => {
  const list = (kind: string) => `apiVersion: v1
kind: ${kind}
metadata:
  resourceVersion: ""
items:
- apiVersion: wiring.githedgehog.com/v1beta1
  kind: Switch
  metadata:
    name: leaf-1
  spec: &spec
    role: server-leaf
- apiVersion: wiring.githedgehog.com/v1beta1
  kind: Switch
  metadata:
    name: leaf-2
  spec:
    <<: *spec
    description: two
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm
- apiVersion: wiring.githedgehog.com/v1beta1
  kind: Switch
  metadata:
    name: Bad_Name
`;

  test.each(['List', 'SwitchList'])('kind: %s is read as its items, each at its own line', (kind) => {
    const p = parse(`${sw('before')}---\n${list(kind)}`);
    expect(p.observations.map((o) => [o.name, o.line])).toEqual([
      ['before', 1],
      ['leaf-1', 13],
      ['leaf-2', 19],
    ]);
    expect(p.observations[2]!.spec).toEqual({ role: 'server-leaf', description: 'two' });
    expect(p.otherKinds).toEqual({ 'v1/ConfigMap': 1 });
    expect(p.errors.map((e) => [e.line, e.reason.split(' ')[0]])).toEqual([[33, 'metadata.name']]);
    expect(p.documents).toBe(5);
    expect(p.refused).toBe(1);
  });

  test('with a BOM and CRLF line endings, lines are still the file lines', () => {
    const text = `\ufeff${list('List')}`.replace(/\n/g, '\r\n');
    const p = parseManifestFile('l.yaml', Buffer.from(text));
    expect(p.observations.map((o) => [o.name, o.line])).toEqual([
      ['leaf-1', 6],
      ['leaf-2', 12],
    ]);
    expect(p.observations[1]!.spec).toEqual({ role: 'server-leaf', description: 'two' });
    expect(p.errors.map((e) => e.line)).toEqual([26]);
  });

  test('an empty List is no object and no error', () => {
    const p = parse('apiVersion: v1\nkind: List\nitems: []\n');
    expect(p).toMatchObject({ observations: [], errors: [], otherKinds: {}, documents: 0 });
  });
});

describe('fabric groups in unknown versions', () => {
  test.each([
    ['vpc.githedgehog.com/v1alpha2', 'VPC'],
    ['vpc.githedgehog.com/v1alpha2', 'FutureKind'],
    ['wiring.githedgehog.com/v2', 'Switch'],
    ['wiring.githedgehog.com/v2', 'SomethingNew'],
  ])('%s %s is an error at the apiVersion line, never a silent "other kind"', (apiVersion, kind) => {
    const p = parse(`# comment\nkind: ${kind}\napiVersion: ${apiVersion}\nmetadata:\n  name: x\n`);
    expect(p.otherKinds).toEqual({});
    expect(p.errors).toEqual([
      expect.objectContaining({
        kind,
        name: 'x',
        file: 'm.yaml',
        line: 3,
        reason: expect.stringContaining(apiVersion),
      }),
    ]);
  });

  test('a kind the catalog does not track, in a known version of a fabric group, is an error too (see gitops-leftovers)', () => {
    const p = parse('apiVersion: vpc.githedgehog.com/v1beta1\nkind: FutureKind\nmetadata:\n  name: x\n');
    expect(p.errors).toEqual([expect.objectContaining({ kind: 'FutureKind', line: 2 })]);
    expect(p.otherKinds).toEqual({});
  });
});

describe('schema problems point at the offending field', () => {
  test('the real CRD validator: the line of the field, not of the document', async () => {
    const validate = createCrdValidator(await loadCrdSchemasFromDir(path.join(here, 'fixtures', 'crds')));
    const text = `${sw('leaf-0')}---
# a comment
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-1
spec:
  description: fine
  role: leafy
  bogus: 1
`;
    const p = parse(text, { validate });
    expect(p.observations.map((o) => o.name)).toEqual(['leaf-0']);
    const byField = Object.fromEntries(p.errors.map((e) => [e.reason.split(':')[1]!.trim(), e.line]));
    expect(byField).toEqual({ 'spec.role': 15, 'spec.bogus': 16 });
    expect(p.refused).toBe(1); // one document, however many problems
  });
});
