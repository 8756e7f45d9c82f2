import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  CrdLoadError,
  crdSchemasFromObjects,
  loadCrdSchemasFromDir,
  schemaDefaultsFor,
  SchemaDefaults,
  type CrdProblem,
} from '../src/crds/index.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/crds', import.meta.url));
const SHARED_CRDS = fileURLToPath(new URL('../../shared/hedgehog-crds', import.meta.url));

describe('loadCrdSchemasFromDir (fixture CRDs)', () => {
  test('maps group/version/Kind to the openAPIV3Schema and skips documents that are not CRDs', async () => {
    const schemas = await loadCrdSchemasFromDir(FIXTURES);
    expect([...schemas.keys()].sort()).toEqual([
      'vpc.githedgehog.com/v1beta1/VPC',
      'wiring.githedgehog.com/v1beta1/Connection',
      'wiring.githedgehog.com/v1beta1/Switch',
    ]);
    const sw = schemas.get('wiring.githedgehog.com/v1beta1/Switch') as { properties: { spec: { required: string[] } } };
    expect(sw.properties.spec.required).toEqual(['role']);
  });

  describe('bad input', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'hh-crds-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const goodCrd = (kind: string, plural: string) => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.example.com
spec:
  group: example.com
  names: {kind: ${kind}, plural: ${plural}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
`;

    test('throws one CrdLoadError naming every broken document with its file and line', async () => {
      await writeFile(path.join(dir, 'a-good.yaml'), goodCrd('Good', 'goods'));
      await writeFile(
        path.join(dir, 'b-broken.yaml'),
        `${goodCrd('Other', 'others')}---\nkey: [unclosed\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: noschema.example.com}\nspec:\n  group: example.com\n  names: {kind: NoSchema}\n  versions:\n  - name: v1\n`,
      );
      await writeFile(
        path.join(dir, 'c-old.yml'),
        `apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata: {name: old.example.com}\nspec: {group: example.com}\n`,
      );
      const err = await loadCrdSchemasFromDir(dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(CrdLoadError);
      const problems = (err as CrdLoadError).problems;
      expect(problems).toHaveLength(3);
      const broken = path.join(dir, 'b-broken.yaml');
      expect(problems[0]).toMatchObject({ source: broken, line: 17 });
      expect(problems[0]!.reason).toMatch(/invalid YAML/);
      expect(problems[1]).toMatchObject({ source: broken, line: 18 });
      expect(problems[1]!.reason).toMatch(/noschema\.example\.com: version v1 has no schema\.openAPIV3Schema/);
      expect(problems[2]).toMatchObject({ source: path.join(dir, 'c-old.yml'), line: 1 });
      expect(problems[2]!.reason).toMatch(/apiextensions\.k8s\.io\/v1beta1.*not supported/);
      expect((err as Error).message).toContain(`${broken}:17`);
    });

    test('with onProblem, keeps every good schema and reports the rest', async () => {
      await mkdir(path.join(dir, 'nested'));
      await writeFile(
        path.join(dir, 'nested', 'good.json'),
        JSON.stringify(parseAllDocuments(goodCrd('Good', 'goods'))[0]!.toJS()),
      );
      await writeFile(path.join(dir, 'dup.yaml'), goodCrd('Good', 'goods2'));
      await writeFile(path.join(dir, 'notes.txt'), 'not a manifest');
      const problems: CrdProblem[] = [];
      const schemas = await loadCrdSchemasFromDir(dir, { onProblem: (p) => problems.push(p) });
      expect([...schemas.keys()]).toEqual(['example.com/v1/Good']);
      expect(problems).toHaveLength(1);
      expect(problems[0]!.reason).toMatch(/example\.com\/v1\/Good is defined more than once/);
    });

    test('a missing directory is a clear error', async () => {
      await expect(loadCrdSchemasFromDir(path.join(dir, 'nope'))).rejects.toThrow(
        /CRD directory .*nope cannot be read: ENOENT/,
      );
    });
  });
});

describe('crdSchemasFromObjects', () => {
  test('reads CRD objects as the apiextensions API returns them, every version', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { kind: 'Widget', plural: 'widgets' },
        versions: [
          {
            name: 'v1alpha1',
            served: true,
            storage: false,
            schema: { openAPIV3Schema: { type: 'object', description: 'old' } },
          },
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object', description: 'new' } },
          },
        ],
      },
    };
    const schemas = crdSchemasFromObjects([crd, { apiVersion: 'v1', kind: 'ConfigMap' }]);
    expect(schemas.get('example.com/v1/Widget')).toEqual({ type: 'object', description: 'new' });
    expect(schemas.get('example.com/v1alpha1/Widget')).toEqual({ type: 'object', description: 'old' });
    expect(schemas.size).toBe(2);
  });

  test('malformed CRD objects are named', () => {
    expect(() =>
      crdSchemasFromObjects([
        {
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'x.example.com' },
          spec: { names: { kind: 'X' } },
        },
      ]),
    ).toThrow(/x\.example\.com: CRD x\.example\.com: spec\.group is missing/);
  });
});

describe('schemaDefaultsFor (fixture CRDs)', () => {
  let schemas: Awaited<ReturnType<typeof loadCrdSchemasFromDir>>;
  beforeAll(async () => {
    schemas = await loadCrdSchemasFromDir(FIXTURES);
  });

  test.each([
    // [apiVersion, kind, pointer, value, expected]
    ['wiring.githedgehog.com/v1beta1', 'Switch', '/spec/linkFlapErrDisable/flapThreshold', 3, true],
    ['wiring.githedgehog.com/v1beta1', 'Switch', '/spec/linkFlapErrDisable/flapThreshold', 4, false],
    ['wiring.githedgehog.com/v1beta1', 'Switch', '/spec/linkFlapErrDisable/flapThreshold', '3', false],
    ['wiring.githedgehog.com/v1beta1', 'Switch', '/spec/linkFlapErrDisable/recoveryInterval', 300.0, true],
    ['wiring.githedgehog.com/v1beta1', 'Switch', '/spec/asn', 65101, false],
    ['wiring.githedgehog.com/v1beta1', 'Switch', '/spec/nonexistent/deep', 1, false],
    // additionalProperties (map values)
    ['vpc.githedgehog.com/v1beta1', 'VPC', '/spec/subnets/default/dhcp/leaseTimeSeconds', 3600, true],
    ['vpc.githedgehog.com/v1beta1', 'VPC', '/spec/subnets/any~1name/dhcp/leaseTimeSeconds', 3600, true],
    ['vpc.githedgehog.com/v1beta1', 'VPC', '/spec/subnets/default/dhcp/enable', false, false],
    // items (array elements)
    ['wiring.githedgehog.com/v1beta1', 'Connection', '/spec/fabric/links/0/speed', 'auto', true],
    ['wiring.githedgehog.com/v1beta1', 'Connection', '/spec/fabric/links/7/speed', 'auto', true],
    ['wiring.githedgehog.com/v1beta1', 'Connection', '/spec/fabric/links/0/speed', '100G', false],
  ])('%s %s: %s = %j is default: %s', (apiVersion, kind, pointer, value, expected) => {
    const defaults = schemaDefaultsFor(schemas, apiVersion, kind);
    expect(defaults).not.toBeNull();
    expect(defaults!.isDefault(pointer, value)).toBe(expected);
  });

  test('no schema, or a schema without defaults: null', () => {
    expect(schemaDefaultsFor(schemas, 'wiring.githedgehog.com/v1beta1', 'Server')).toBeNull();
    expect(schemaDefaultsFor(null, 'wiring.githedgehog.com/v1beta1', 'Switch')).toBeNull();
    const noDefaults = crdSchemasFromObjects([
      {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'a.b' },
        spec: {
          group: 'b',
          names: { kind: 'A' },
          versions: [
            {
              name: 'v1',
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { x: { type: 'string' } } } },
                },
              },
            },
          ],
        },
      },
    ]);
    expect(schemaDefaultsFor(noDefaults, 'b/v1', 'A')).toBeNull();
  });

  test('object defaults compare structurally and defaultAt returns the value', () => {
    const d = SchemaDefaults.fromSchema({
      type: 'object',
      properties: { spec: { type: 'object', properties: { opts: { type: 'object', default: { a: 1, b: [1, 2] } } } } },
    })!;
    expect(d.isDefault('/spec/opts', { b: [1, 2], a: 1 })).toBe(true);
    expect(d.isDefault('/spec/opts', { b: [2, 1], a: 1 })).toBe(false);
    expect(d.defaultAt('/spec/opts')).toEqual({ value: { a: 1, b: [1, 2] } });
    expect(d.defaultAt('/spec/other')).toBeUndefined();
    expect(() => d.at('spec')).toThrow(/must start with "\/"/);
  });
});

// The real CRDs live beside the project when ../shared is there; the fixture tests above stand alone.
if (existsSync(SHARED_CRDS))
  describe('the real Hedgehog CRDs (../shared/hedgehog-crds)', () => {
    test('every fabric kind of the catalog has a schema, and the Switch defaults are found', async () => {
      const schemas = await loadCrdSchemasFromDir(SHARED_CRDS);
      for (const info of FABRIC_KINDS) expect(schemas.has(`${info.apiVersion}/${info.kind}`)).toBe(true);
      const sw = schemaDefaultsFor(schemas, 'wiring.githedgehog.com/v1beta1', 'Switch')!;
      expect(sw.defaultAt('/spec/linkFlapErrDisable/flapThreshold')).toEqual({ value: 3 });
      expect(sw.defaultAt('/spec/linkFlapErrDisable/recoveryInterval')).toEqual({ value: 300 });
      expect(sw.defaultAt('/spec/linkFlapErrDisable/samplingInterval')).toEqual({ value: 30 });
      // `default` is also a property name in SwitchProfile (breakout.default): not a schema default.
      expect(schemaDefaultsFor(schemas, 'wiring.githedgehog.com/v1beta1', 'SwitchProfile')).toBeNull();
    });

    test('objects read as from the cluster give the same schemas as the files', async () => {
      const fromDir = await loadCrdSchemasFromDir(SHARED_CRDS);
      const file = path.join(SHARED_CRDS, 'wiring.githedgehog.com_switches.yaml');
      const objs = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as object);
      const fromObjects = crdSchemasFromObjects(objs);
      expect(fromObjects.get('wiring.githedgehog.com/v1beta1/Switch')).toEqual(
        fromDir.get('wiring.githedgehog.com/v1beta1/Switch'),
      );
    });
  });
