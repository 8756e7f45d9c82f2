import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifestFile } from '../src/gitops/manifest-parser.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(here, 'fixtures', 'manifests');
const parse = (text: string, opts?: Parameters<typeof parseManifestFile>[2]) =>
  parseManifestFile('m.yaml', Buffer.from(text), opts);

describe('parseManifestFile: valid manifests', () => {
  const bytes = readFileSync(path.join(fixtures, 'repo', 'wiring', 'switches.yaml'));
  const r = parseManifestFile('wiring/switches.yaml', bytes);

  test('multi-document file with comments: fabric objects become observations with their line', () => {
    expect(r.errors).toEqual([]);
    expect(r.documents).toBe(3);
    expect(r.observations.map((o) => [o.kind, o.namespace, o.name, o.line])).toEqual([
      ['Switch', 'default', 'leaf-01', 2],
      ['Switch', 'default', 'leaf-02', 14],
    ]);
    const [leaf1, leaf2] = r.observations;
    expect(leaf1).toEqual({
      kind: 'Switch',
      namespace: 'default',
      name: 'leaf-01',
      apiVersion: 'wiring.githedgehog.com/v1beta1',
      spec: { role: 'server-leaf', description: 'leaf-01', boot: { mac: '0c:20:12:ff:00:00' } },
      labels: { 'fabric.githedgehog.com/rack': 'rack-1' },
      annotations: {},
      filePath: 'wiring/switches.yaml',
      line: 2,
      fileHash: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(leaf2!.annotations).toEqual({ 'example.com/owner': 'network-team' });
    expect(leaf2!.fileHash).toBe(leaf1!.fileHash);
  });

  test('non-fabric kinds are counted, not errors', () => {
    expect(r.otherKinds).toEqual({ 'v1/ConfigMap': 1 });
  });

  test('absent or null spec is an empty spec; empty documents are skipped', () => {
    const p = parse(
      '---\n# nothing here\n---\napiVersion: wiring.githedgehog.com/v1beta1\nkind: SwitchGroup\nmetadata: {name: empty}\n---\n' +
        'apiVersion: wiring.githedgehog.com/v1beta1\nkind: SwitchGroup\nmetadata:\n  name: nulled\nspec:\n...\n',
    );
    expect(p.errors).toEqual([]);
    expect(p.documents).toBe(2);
    expect(p.observations.map((o) => [o.name, o.spec, o.line])).toEqual([
      ['empty', {}, 4],
      ['nulled', {}, 8],
    ]);
  });

  test('a UTF-8 byte order mark is accepted', () => {
    const p = parseManifestFile(
      'bom.yaml',
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n  name: s1\n'),
      ]),
    );
    expect(p.errors).toEqual([]);
    expect(p.observations.map((o) => o.name)).toEqual(['s1']);
  });

  test('merge keys and a few aliases within the limit are expanded', () => {
    const p = parse(
      'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-9\nspec:\n' +
        '  boot: &b {mac: "aa:bb"}\n  copy: *b\n  merged:\n    <<: *b\n    serial: X\n',
    );
    expect(p.errors).toEqual([]);
    expect(p.observations[0]!.spec).toEqual({
      boot: { mac: 'aa:bb' },
      copy: { mac: 'aa:bb' },
      merged: { mac: 'aa:bb', serial: 'X' },
    });
  });
});

describe('parseManifestFile: every broken document kind, with file and line', () => {
  const r = parseManifestFile(
    'broken/every-problem.yaml',
    readFileSync(path.join(fixtures, 'broken', 'every-problem.yaml')),
  );

  test('the good documents before and after the broken ones still land', () => {
    expect(r.observations.map((o) => `${o.kind}/${o.name}@${o.line}`)).toEqual([
      'Switch/good-before@2',
      'Server/good-after@61',
    ]);
    expect(r.documents).toBe(11);
  });

  test('each broken document is one error at the offending line', () => {
    const got = r.errors.map((e) => [e.line, e.kind ?? null, e.name ?? null, e.reason]);
    expect(got).toEqual([
      [15, 'Switch', 'bad-yaml', expect.stringMatching(/^invalid YAML: Flow sequence .* \(line 15, column 1\)$/)],
      [16, 'Switch', 'no-api-version', 'apiVersion is missing'],
      [20, null, 'no-kind', 'kind is missing'],
      [26, 'Server', null, 'metadata.name is missing'],
      [34, 'Server', null, expect.stringMatching(/^metadata.name 'Server_01' must be a lowercase RFC 1123 subdomain/)],
      [
        40,
        'Server',
        'server-02',
        expect.stringMatching(/^metadata.namespace 'Tenant.A' must be a lowercase RFC 1123 label/),
      ],
      [46, 'Server', 'server-03', 'spec must be a mapping, found a list'],
      [
        49,
        'Server',
        'server-04',
        'Server must have apiVersion wiring.githedgehog.com/v1beta1, found wiring.githedgehog.com/v1alpha2',
      ],
      [59, 'Server', 'server-05', "metadata.labels['enabled'] must be a string, found boolean true (quote it)"],
    ]);
    expect(r.errors.every((e) => e.file === 'broken/every-problem.yaml')).toBe(true);
  });

  test('errors that know the object carry its namespace', () => {
    expect(r.errors.find((e) => e.name === 'server-03')!.namespace).toBe('default');
  });
});

describe('parseManifestFile: more refusals', () => {
  const head = 'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata:\n';

  test('a name longer than 253 characters', () => {
    const p = parse(`${head}  name: ${'a'.repeat(254)}\n`);
    expect(p.errors).toEqual([
      expect.objectContaining({ line: 4, reason: expect.stringContaining('no more than 253 characters (has 254)') }),
    ]);
  });

  test('a name that is not a string', () => {
    const p = parse(`${head}  name: 1234\n`);
    expect(p.errors[0]).toMatchObject({ line: 4, reason: 'metadata.name must be a string, found number 1234' });
  });

  test('a document that is not a mapping', () => {
    const p = parse('- just\n- a list\n');
    expect(p.errors).toEqual([
      { file: 'm.yaml', line: 1, reason: 'document must be a mapping (a Kubernetes object), found a list' },
    ]);
  });

  test('a misspelt fabric kind in a fabric group is an error, an unknown kind of another group is not', () => {
    const p = parse(
      'apiVersion: vpc.githedgehog.com/v1beta1\nkind: Vpc\nmetadata: {name: a}\n---\n' +
        'apiVersion: gateway.githedgehog.com/v1alpha1\nkind: Gateway\nmetadata: {name: g}\n---\n' +
        'apiVersion: example.com/v1\nkind: Switch\nmetadata: {name: s}\n',
    );
    expect(p.errors).toEqual([
      expect.objectContaining({
        line: 2,
        reason: "kind 'Vpc' is not a kind of vpc.githedgehog.com; did you mean 'VPC'?",
      }),
    ]);
    expect(p.otherKinds).toEqual({ 'gateway.githedgehog.com/v1alpha1/Gateway': 1, 'example.com/v1/Switch': 1 });
  });

  test('duplicate keys are invalid YAML', () => {
    const p = parse(`${head}  name: a\nspec:\n  role: spine\n  role: leaf\n`);
    expect(p.errors[0]).toMatchObject({
      line: 7,
      reason: expect.stringMatching(/^invalid YAML: Map keys must be unique/),
    });
  });

  test('.inf / .nan cannot be sent as JSON', () => {
    const p = parse(`${head}  name: a\nspec:\n  x:\n    y: .inf\n`);
    expect(p.errors[0]).toMatchObject({
      line: 7,
      reason: '/spec/x/y is not a finite number (.inf/.nan cannot be sent as JSON)',
    });
  });

  test('invalid label keys and oversized annotations', () => {
    expect(parse(`${head}  name: a\n  labels:\n    "bad key": x\n`).errors[0]).toMatchObject({
      line: 6,
      reason: expect.stringMatching(/^metadata.labels key 'bad key': name part must consist of/),
    });
    const big = 'x'.repeat(256 * 1024);
    expect(parse(`${head}  name: a\n  annotations:\n    note: ${big}\n`).errors[0]).toMatchObject({
      line: 5,
      reason: expect.stringMatching(/^metadata.annotations total \d+ bytes exceed the limit of 262144$/),
    });
  });

  test('an alias bomb is refused with a clear error; the next document still lands', () => {
    const bomb =
      'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata: {name: bomb}\nspec:\n' +
      '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' +
      '  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n' +
      '  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n' +
      '  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n' +
      '  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n' +
      '  f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n' +
      '---\napiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata: {name: fine}\n';
    const p = parse(bomb);
    expect(p.errors).toEqual([
      {
        kind: 'Server',
        namespace: 'default',
        name: 'bomb',
        file: 'm.yaml',
        line: 1,
        reason: 'YAML alias expansion exceeds the limit of 100 (a resource exhaustion guard); document refused',
      },
    ]);
    expect(p.observations.map((o) => o.name)).toEqual(['fine']);
    // The limit is configurable: 0 refuses any alias.
    const one = parse(`${head}  name: a\nspec:\n  x: &x 1\n  y: *x\n`, { maxAliasCount: 0 });
    expect(one.errors[0]!.reason).toMatch(/exceeds the limit of 0/);
  });

  test('a non-UTF-8 file is reported with the line of the first bad byte', () => {
    const bytes = Buffer.concat([Buffer.from(`${head}  name: caf`), Buffer.from([0xe9]), Buffer.from('\n')]);
    const p = parseManifestFile('latin1.yaml', bytes);
    expect(p.observations).toEqual([]);
    expect(p.documents).toBe(0);
    expect(p.errors).toEqual([
      {
        file: 'latin1.yaml',
        line: 4,
        reason: `file is not valid UTF-8 (first invalid byte at offset ${bytes.length - 2}); manifests must be UTF-8 encoded`,
      },
    ]);
  });
});

describe('parseManifestFile: the schema validator hook', () => {
  const text =
    'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-1\nspec:\n  role: leafy\n  boot:\n    mac: x\n';

  test('its problems become errors at the line the JSON pointer names, or the document line', () => {
    const seen: unknown[] = [];
    const p = parse(text, {
      validate: (obj) => {
        seen.push(obj);
        return [
          '/spec/role: must be one of spine, server-leaf',
          '/spec/boot/mac: must match pattern',
          'something general',
        ];
      },
    });
    expect(seen).toEqual([
      {
        apiVersion: 'wiring.githedgehog.com/v1beta1',
        kind: 'Switch',
        metadata: { name: 'leaf-1' },
        spec: { role: 'leafy', boot: { mac: 'x' } },
      },
    ]);
    expect(p.observations).toEqual([]);
    expect(p.errors.map((e) => [e.line, e.name, e.reason])).toEqual([
      [6, 'leaf-1', 'schema: /spec/role: must be one of spine, server-leaf'],
      [8, 'leaf-1', 'schema: /spec/boot/mac: must match pattern'],
      [1, 'leaf-1', 'schema: something general'],
    ]);
  });

  test('no problems: the object lands; a throwing validator is an error of that document only', () => {
    expect(parse(text, { validate: () => [] }).observations).toHaveLength(1);
    const p = parse(text, {
      validate: () => {
        throw new Error('boom');
      },
    });
    expect(p.errors[0]!.reason).toBe('schema: schema validation failed: boom');
  });
});
