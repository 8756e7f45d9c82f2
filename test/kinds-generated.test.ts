/**
 * The fabric kind types (src/kinds): generated from the CRDs by scripts/generate-fabric-kinds.mjs, never hand-edited,
 * and strict where the API server is (a misspelled field, a map given as a number, a wrong kind are type errors).
 * The type-level cases typecheck in-memory sources with the TypeScript compiler API.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load as loadYaml } from 'js-yaml';
import ts from 'typescript';
import { FABRIC_KIND_NAMES } from '../src/kinds/index.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GENERATOR = path.join(root, 'scripts', 'generate-fabric-kinds.mjs');
const COMMITTED = path.join(root, 'src', 'kinds', 'fabric-kinds.generated.ts');
const SHARED_CRDS = path.resolve(root, '..', 'shared', 'hedgehog-crds');

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'hh-kinds-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs the generator as `npm run generate:kinds` does; the output goes to a file of the temporary directory. */
function generate(crdDir: string): { status: number | null; stderr: string; text: string | undefined } {
  const out = path.join(tmp, 'out.generated.ts');
  const r = spawnSync(process.execPath, [GENERATOR, crdDir, '--out', out], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, text: existsSync(out) ? readFileSync(out, 'utf8') : undefined };
}

/** Writes CRD files into a fresh directory of the temporary one and returns it. */
function crdDir(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(tmp, 'crds-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return dir;
}

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  noUncheckedIndexedAccess: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  types: [],
  skipLibCheck: true,
  noEmit: true,
};

/**
 * Typechecks in-memory sources (file name → text, relative to the project root, so they import the real modules)
 * and returns the error messages of each. Source files of the project that are not given are read from disk.
 */
function typeErrors(sources: Record<string, string>): Record<string, string[]> {
  const files = new Map(Object.entries(sources).map(([name, text]) => [path.join(root, name), text]));
  const host = ts.createCompilerHost(OPTIONS);
  const readSource = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) => {
    const text = files.get(name);
    return text === undefined ? readSource(name, language, ...rest) : ts.createSourceFile(name, text, language);
  };
  host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
  host.readFile = (name) => files.get(name) ?? ts.sys.readFile(name);
  const fixtures = [...files.keys()].filter((f) => f.includes('__fixture'));
  const program = ts.createProgram(fixtures, OPTIONS, host);
  return Object.fromEntries(
    fixtures.map((f) => [
      path.relative(root, f),
      ts
        .getPreEmitDiagnostics(program, program.getSourceFile(f))
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    ]),
  );
}

const KINDS_IMPORT = `import type { FabricKindMap, FabricKindName, SwitchGroup, Switch, VPC } from '../src/kinds/index.js';\n`;

const VALID_VPC = `const vpc: VPC = {
  apiVersion: 'vpc.githedgehog.com/v1beta1',
  kind: 'VPC',
  metadata: { name: 'vpc-01', namespace: 'default', labels: { team: 'net' } },
  spec: {
    ipv4Namespace: 'default',
    subnets: {
      default: { subnet: '10.0.1.0/24', vlan: 1001, dhcp: { enable: true, options: { interfaceMTU: 9036, leaseTimeSeconds: 3600 } } },
      'subnet-ü': { subnet: '10.0.2.0/24', vlan: 1002 },
    },
    permit: [['default', 'subnet-ü']],
  },
};
`;

describe('the committed kind types (src/kinds)', () => {
  test('typed objects of several kinds compile, and FabricKindMap types an apply(kind, object)', () => {
    const errors = typeErrors({
      'test/__fixture_valid.ts': `${KINDS_IMPORT}${VALID_VPC}
const sw: Switch = {
  apiVersion: 'wiring.githedgehog.com/v1beta1', kind: 'Switch', metadata: { name: 'leaf-01' },
  spec: { role: 'server-leaf', portFECs: { 'E1/1': 'rs' }, linkFlapErrDisable: { flapThreshold: 3 } },
};
const group: SwitchGroup = { apiVersion: 'wiring.githedgehog.com/v1beta1', kind: 'SwitchGroup', metadata: { name: 'g' }, spec: {} };
declare function apply<K extends FabricKindName>(fabric: string, object: FabricKindMap[K] & { kind: K }): void;
apply('dc1', vpc); apply('dc1', sw); apply('dc1', group);
`,
    });
    expect(errors).toEqual({ 'test/__fixture_valid.ts': [] });
  });

  test.each([
    ['a map given as a number', `spec: { subnets: 5 }`, /Type 'number' is not assignable/],
    ['a misspelled spec field', `spec: { ipv4Namspace: 'default' }`, /'ipv4Namspace' does not exist in type 'VPCSpec'/],
    ['a misspelled nested field', `spec: { subnets: { a: { vlann: 1 } } }`, /'vlann' does not exist/],
    [
      'a required nested field left out',
      `spec: { subnets: { a: { dhcp: { options: { interfaceMTU: 1 } } } } }`,
      /leaseTimeSeconds/,
    ],
    [
      'an integer given as a string',
      `spec: { subnets: { a: { vlan: '1001' } } }`,
      /'string' is not assignable to type 'number'/,
    ],
    ['a misspelled metadata field', `metadata: { name: 'x', lables: {} }, spec: {}`, /'lables' does not exist/],
  ])('%s in a VPC is a type error', (_, fields, message) => {
    const source = `${KINDS_IMPORT}export const vpc: VPC = { apiVersion: 'vpc.githedgehog.com/v1beta1', kind: 'VPC', ${fields.includes('metadata') ? '' : "metadata: { name: 'x' }, "}${fields} };\n`;
    const errors = typeErrors({ 'test/__fixture_invalid.ts': source })['test/__fixture_invalid.ts']!;
    expect(errors.join('\n')).toMatch(message);
  });

  test.each([
    [
      'a wrong kind literal',
      `kind: 'Vpc', apiVersion: 'vpc.githedgehog.com/v1beta1'`,
      /'"Vpc"' is not assignable to type '"VPC"'/,
    ],
    [
      'a wrong apiVersion',
      `kind: 'VPC', apiVersion: 'vpc.githedgehog.com/v1'`,
      /is not assignable to type '"vpc.githedgehog.com\/v1beta1"'/,
    ],
  ])('%s is a type error', (_, head, message) => {
    const source = `${KINDS_IMPORT}export const vpc: VPC = { ${head}, metadata: { name: 'x' }, spec: {} };\n`;
    const errors = typeErrors({ 'test/__fixture_literal.ts': source })['test/__fixture_literal.ts']!;
    expect(errors.join('\n')).toMatch(message);
  });

  test('an enum field takes only its values; a spec of a kind without spec fields takes none', () => {
    const errors = typeErrors({
      'test/__fixture_enum.ts': `${KINDS_IMPORT}export const sw: Switch['spec'] = { role: 'leaf' };\n`,
      'test/__fixture_empty.ts': `${KINDS_IMPORT}export const g: SwitchGroup['spec'] = { anything: 1 };\n`,
    });
    expect(errors['test/__fixture_enum.ts']!.join('\n')).toMatch(/'"leaf"' is not assignable/);
    expect(errors['test/__fixture_empty.ts']!.join('\n')).toMatch(/'number' is not assignable to type 'never'/);
  });

  test('the kinds are those of the catalog (src/kube/catalog.ts), each with its apiVersion and kind literals', () => {
    expect([...FABRIC_KIND_NAMES].sort()).toEqual(FABRIC_KINDS.map((k) => k.kind).sort());
    const equal =
      'type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;\n';
    const checks = (catalog: readonly { kind: string; apiVersion: string }[]) =>
      catalog
        .map(
          (k, i) =>
            `export const a${i}: Equal<FabricKindMap['${k.kind}']['apiVersion'], '${k.apiVersion}'> = true;\n` +
            `export const k${i}: Equal<FabricKindMap['${k.kind}']['kind'], '${k.kind}'> = true;\n`,
        )
        .join('');
    const skewed = FABRIC_KINDS.map((k) => ({ ...k, apiVersion: k.apiVersion.replace('v1beta1', 'v1') }));
    const errors = typeErrors({
      'test/__fixture_catalog.ts': `${KINDS_IMPORT}${equal}${checks(FABRIC_KINDS)}`,
      'test/__fixture_skewed.ts': `${KINDS_IMPORT}${equal}${checks(skewed)}`,
    });
    expect(errors['test/__fixture_catalog.ts']).toEqual([]);
    // The same check fails for every kind when the catalog disagrees: the check above can fail.
    expect(errors['test/__fixture_skewed.ts']).toHaveLength(FABRIC_KINDS.length);
  });
});

/** A CRD of the fabric group vpc.githedgehog.com with the given kind and spec schema (YAML flow style, LF). */
function crdYaml(kind: string, spec: object, extra = ''): string {
  return [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    `metadata: { name: ${kind.toLowerCase()}s.vpc.githedgehog.com }`,
    'spec:',
    '  group: vpc.githedgehog.com',
    `  names: { kind: ${JSON.stringify(kind)}, plural: ${kind.toLowerCase()}s }`,
    '  scope: Namespaced',
    '  versions:',
    '  - { name: v1alpha1, served: true, storage: false, schema: { openAPIV3Schema: { type: object } } }',
    `  - name: v1beta1${extra}`,
    '    served: true',
    '    storage: true',
    `    schema: { openAPIV3Schema: { type: object, description: "A ${kind}.", properties: { spec: ${JSON.stringify(spec)}, status: { type: object } } } }`,
    '',
  ].join('\n');
}

const WIDGET_SPEC = {
  type: 'object',
  description: 'Spec of a widget; a description may say */ without ending the comment',
  required: ['mode'],
  properties: {
    port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
    free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    open: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { a: { type: 'string' } } },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    mode: { type: 'string', enum: ['a', 'b'] },
    rules: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', required: ['seq'], properties: { seq: { type: 'integer', format: 'int32' } } },
    },
    note: { type: 'string', nullable: true },
    nothing: { type: 'object' },
  },
};

/** Typechecks Widget objects with the given spec fields against a generated module given as text, in one program. */
function widgetErrors(generated: string, specFields: readonly string[]): string[][] {
  const fixture = (fields: string) => `import type { Widget } from '../src/kinds/__fixture_widget.generated.js';
export const w: Widget = { apiVersion: 'vpc.githedgehog.com/v1beta1', kind: 'Widget', metadata: { name: 'w' }, spec: { ${fields} } };\n`;
  const sources = Object.fromEntries(specFields.map((fields, i) => [`test/__fixture_widget${i}.ts`, fixture(fields)]));
  const errors = typeErrors({ 'src/kinds/__fixture_widget.generated.ts': generated, ...sources });
  return specFields.map((_, i) => errors[`test/__fixture_widget${i}.ts`]!);
}

describe('the generator, on small CRDs', () => {
  test('Kubernetes schema extensions map to TypeScript: int-or-string, preserve-unknown-fields, maps, enums, nullable', () => {
    const r = generate(crdDir({ 'widgets.yaml': crdYaml('Widget', WIDGET_SPEC) }));
    expect(r.stderr).toMatch(/^generate-fabric-kinds: wrote .*out\.generated\.ts\n$/);
    const text = r.text!;
    const valid = [
      `mode: 'a', port: 8080, free: { any: [1] }, open: { a: 'x', more: true }, labels: { k: 'v' }, rules: [{ seq: 1 }], note: null, nothing: {}`,
      `mode: 'b', port: 'http'`,
    ];
    const invalid: [fields: string, message: RegExp][] = [
      [`port: 8080`, /'mode' is missing/],
      [`mode: 'c'`, /'"c"' is not assignable/],
      [`mode: 'a', port: true`, /'true' is not assignable to type 'string \| number/],
      [`mode: 'a', labels: { k: 1 }`, /'number' is not assignable to type 'string'/],
      [`mode: 'a', rules: [{}]`, /'seq' is missing/],
      [`mode: 'a', open: { a: 1 }`, /'number' is not assignable to type 'string'/],
      [`mode: 'a', nothing: { x: 1 }`, /not assignable to type 'never'/],
      [`mode: 'a', note: 1`, /'number' is not assignable to type 'string'/],
      [`mode: 'a', extra: 1`, /'extra' does not exist/],
    ];
    const errors = widgetErrors(text, [...valid, ...invalid.map(([fields]) => fields)]);
    expect(errors.slice(0, valid.length)).toEqual([[], []]);
    errors.slice(valid.length).forEach((e, i) => expect(e.join('\n')).toMatch(invalid[i]![1]));
    // The description's `*/` is escaped, the storage version (not the first) was taken, status has no fields.
    expect(text).toContain('without ending the comment');
    expect(text).toContain("apiVersion: 'vpc.githedgehog.com/v1beta1';");
    expect(text).toContain('status?: Record<string, never>;');
  });

  test('the header names each file that gave a kind with the sha256 of its bytes; other groups are skipped, noted', () => {
    const widget = crdYaml('Widget', WIDGET_SPEC);
    const other = crdYaml('Gadget', { type: 'object' }).replaceAll('vpc.githedgehog.com', 'example.com');
    const r = generate(crdDir({ 'widgets.yaml': widget, 'gadgets.yml': other, NOTICE: 'not yaml: [' }));
    expect(r.status).toBe(0);
    expect(r.text).toContain(`widgets.yaml  sha256:${createHash('sha256').update(widget).digest('hex')}`);
    expect(r.text).not.toMatch(/gadgets|Gadget/);
    expect(r.stderr).toContain('skipped Gadget in gadgets.yml (group example.com is not a fabric group)');
  });

  test('CRLF, a BOM, anchors with merge keys, several documents and a kind: List read as the plain files do', () => {
    const plain = generate(
      crdDir({ 'a.yaml': crdYaml('Widget', WIDGET_SPEC), 'b.yaml': crdYaml('Gizmo', WIDGET_SPEC) }),
    );
    const spec = JSON.stringify(WIDGET_SPEC);
    const anchored = crdYaml('Widget', { type: 'object' })
      .replace('spec: {"type":"object"}', 'spec: *widgetSpec')
      .replace('spec:\n  group', `x-spec: &widgetSpec ${spec}\nspec:\n  <<: { scope: Cluster }\n  group`);
    const list = `apiVersion: v1\nkind: List\nitems:\n- ${JSON.stringify(parseCrd(crdYaml('Gizmo', WIDGET_SPEC)))}\n`;
    const hostile = generate(
      crdDir({ 'a.yaml': Buffer.from('\uFEFF' + anchored.replaceAll('\n', '\r\n')), 'b.yaml': `---\n${list}---\n` }),
    );
    expect(hostile.stderr).not.toMatch(/error/i);
    const body = (text: string | undefined) => text!.slice(text!.indexOf(' */'));
    expect(body(hostile.text)).toEqual(body(plain.text));
    expect(hostile.text).toMatch(/export interface Gizmo \{[\s\S]*export interface Widget \{/);
  });

  test.each([
    [
      'a kind that is not an identifier',
      crdYaml('Widget', WIDGET_SPEC).replace('"Widget"', '"W = 1; declare"'),
      /a\.yaml: spec\.names\.kind "W = 1; declare" is not a CamelCase identifier/,
    ],
    [
      'a $ref (could reach the network)',
      crdYaml('Widget', { $ref: 'https://example.com/s.json' }),
      /a\.yaml: Widget\.spec: \$ref is not allowed/,
    ],
    [
      'no stored version',
      crdYaml('Widget', WIDGET_SPEC).replace('storage: true', 'storage: false'),
      /a\.yaml: Widget has no version that is both served and stored/,
    ],
    [
      'a document that is no CRD',
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: x }\n',
      /a\.yaml: document 1 is not an apiextensions\.k8s\.io\/v1 CustomResourceDefinition/,
    ],
    ['broken YAML', 'a: [\n', /a\.yaml: not valid YAML: /],
    ['a kind declared twice', null, /b\.yaml: kind Widget is declared again \(first in a\.yaml\)/],
  ])('%s fails with one line naming the file, writing nothing', (_, content, message) => {
    const widget = crdYaml('Widget', WIDGET_SPEC);
    const r = generate(crdDir(content === null ? { 'a.yaml': widget, 'b.yaml': widget } : { 'a.yaml': content }));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^generate-fabric-kinds: ${message.source}[^\\n]*\\n$`));
    expect(r.text).toBeUndefined();
  });

  test('a file name with a line break (it would break the header comment) fails, naming it', () => {
    const r = generate(crdDir({ 'x\n*.yaml': crdYaml('Widget', WIDGET_SPEC) }));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'generate-fabric-kinds: "x\\n*.yaml": a CRD file name may only have letters, digits and ._@+-\n',
    );
  });

  test('a missing CRD directory fails with one line saying how to give one', () => {
    const r = generate(path.join(tmp, 'nowhere'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^generate-fabric-kinds: CRD directory .*nowhere not found \(give it as the first argument\)\n$/,
    );
  });
});

function parseCrd(yamlText: string): unknown {
  // The fixtures are YAML flow style over JSON; js-yaml reads them as the generator does.
  return loadYaml(yamlText);
}

// The real CRDs live beside the project when ../shared is there (CI, developer machines); elsewhere this case is
// simply not defined, as in the other tests that read ../shared.
if (existsSync(SHARED_CRDS))
  describe('the real Hedgehog CRDs (../shared/hedgehog-crds)', () => {
    test('regenerating gives the committed file byte for byte (it is generated, not edited by hand)', () => {
      const r = generate(SHARED_CRDS);
      expect(r.status).toBe(0);
      expect(r.text).toEqual(readFileSync(COMMITTED, 'utf8'));
    });
  });
