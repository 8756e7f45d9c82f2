/**
 * The list keys of write-back's merge: CRD-declared list-map-keys first, then the table of fabric kinds; and the
 * table checked against the real Hedgehog CRDs (../shared/hedgehog-crds) when they are there.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadCrdSchemasFromDir } from '../src/crds/index.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { fabricListKeyTable, listKeysFor } from '../src/writeback/list-keys.js';
import { keyField, resolveWith, threeWayMerge } from '../src/writeback/three-way-merge.js';

const SHARED_CRDS = fileURLToPath(new URL('../../shared/hedgehog-crds', import.meta.url));

/** An openAPIV3Schema whose spec has the given properties. */
function objectSchema(specProperties: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', properties: { spec: { type: 'object', properties: specProperties } } };
}

const linkItems = {
  type: 'object',
  properties: { name: { type: 'string' }, server: { type: 'object', properties: { port: { type: 'string' } } } },
};

describe('listKeysFor: the table of fabric kinds', () => {
  test('connection links are keyed by their two ports (dotted fields)', () => {
    const keys = listKeysFor('Connection');
    expect(keys(['bundled', 'links'])).toEqual(['server.port', 'switch.port']);
    expect(keys(['fabric', 'links'])).toEqual(['spine.port', 'leaf.port']);
    expect(keys(['mclagDomain', 'peerLinks'])).toEqual(['switch1.port', 'switch2.port']);
  });

  test("'*' in a table path matches a list element and a map member (VPC subnets is a map)", () => {
    expect(listKeysFor('VPC')(['subnets', 'subnet-01', 'dhcp', 'options', 'advertisedRoutes'])).toEqual([
      'destination',
    ]);
    expect(listKeysFor('ServerProfile')(['nics', '*', 'ports'])).toEqual(['name']);
  });

  test('no generic rule: unknown kinds, unknown paths and kinds spelled otherwise compare lists as a whole', () => {
    expect(listKeysFor('Switch')(['roles'])).toBeNull();
    expect(listKeysFor('Connection')(['bundled'])).toBeNull();
    expect(listKeysFor('Connection')(['bundled', 'links', '*'])).toBeNull();
    expect(listKeysFor('connection')(['bundled', 'links'])).toBeNull();
    expect(listKeysFor('NotAKind')(['nics'])).toBeNull();
  });
});

describe('listKeysFor: the CRD schema', () => {
  test('schema list-map-keys win over the table', () => {
    const schema = objectSchema({
      bundled: {
        type: 'object',
        properties: {
          links: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: linkItems,
          },
        },
      },
    });
    expect(listKeysFor('Connection', schema)(['bundled', 'links'])).toEqual(['name']);
    // Lists the schema says nothing about still use the table.
    expect(listKeysFor('Connection', schema)(['fabric', 'links'])).toEqual(['spine.port', 'leaf.port']);
  });

  test('a list the schema declares atomic or set is compared as a whole, even when the table keys it', () => {
    for (const listType of ['atomic', 'set']) {
      const schema = objectSchema({ nics: { type: 'array', 'x-kubernetes-list-type': listType, items: linkItems } });
      expect(listKeysFor('ServerProfile', schema)(['nics'])).toBeNull();
    }
  });

  test('schema keys are found through items and additionalProperties, for kinds the table does not know', () => {
    const schema = objectSchema({
      groups: {
        type: 'object',
        additionalProperties: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              members: {
                type: 'array',
                'x-kubernetes-list-type': 'map',
                'x-kubernetes-list-map-keys': ['host', 'port'],
                items: { type: 'object' },
              },
            },
          },
        },
      },
    });
    const keys = listKeysFor('Example', schema);
    expect(keys(['groups', 'any-name', '*', 'members'])).toEqual(['host', 'port']);
    expect(keys(['groups', 'any-name'])).toBeNull();
  });

  test('unusable declarations and malformed schemas fall back without throwing', () => {
    const badKeys = (mapKeys: unknown) =>
      objectSchema({
        nics: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': mapKeys,
          items: linkItems,
        },
      });
    // A map list without usable keys is the schema's word that the list is not keyable: whole list.
    expect(listKeysFor('ServerProfile', badKeys([]))(['nics'])).toBeNull();
    expect(listKeysFor('ServerProfile', badKeys([1]))(['nics'])).toBeNull();
    expect(listKeysFor('ServerProfile', badKeys('name'))(['nics'])).toBeNull();
    // Schemas that are not schemas: the table decides.
    for (const schema of [null, undefined, {}, { properties: [] }, { properties: { spec: 'x' } }]) {
      expect(listKeysFor('ServerProfile', schema)(['nics'])).toEqual(['name']);
    }
  });
});

describe('keyField', () => {
  test('reads a member named with a dot first, else the dotted path; absent or non-object steps are undefined', () => {
    expect(keyField({ 'server.port': 'lit', server: { port: 'nested' } }, 'server.port')).toBe('lit');
    expect(keyField({ server: { port: 'nested' } }, 'server.port')).toBe('nested');
    expect(keyField({ server: 'x' }, 'server.port')).toBeUndefined();
    expect(keyField({ server: {} }, 'server.port')).toBeUndefined();
    expect(keyField({}, 'toString')).toBeUndefined();
  });
});

describe('merging fabric manifests with the table', () => {
  // From the Hedgehog user guide (connections), written with an anchor and a merge key as people do.
  const manifest = `
fabric:
  links:
  - leaf: &leaf1 {ip: 172.30.30.1/31, port: s5248-01/E1/18}
    spine: {ip: 172.30.30.0/31, port: s5232-01/E1/1}
  - leaf: {<<: *leaf1, port: s5248-01/E1/16}
    spine: {ip: 172.30.30.2/31, port: s5232-01/E1/2}
`;
  const spec = () => parse(manifest, { merge: true }) as Record<string, unknown>;
  type Link = { leaf: { ip: string; port: string }; spine: { ip: string; port: string } };
  const linksOf = (s: Record<string, unknown>) => (s.fabric as { links: Link[] }).links;

  test('one side re-addresses a link, the other adds a link and re-addresses another: clean', () => {
    const base = spec();
    const ours = spec();
    linksOf(ours)[1]!.leaf.ip = '172.30.30.5/31';
    const theirs = spec();
    linksOf(theirs)[0]!.spine.ip = '172.30.30.8/31';
    linksOf(theirs).push({
      leaf: { ip: '172.30.30.7/31', port: 's5248-01/E1/20' },
      spine: { ip: '172.30.30.6/31', port: 's5232-01/E1/3' },
    });
    const r = threeWayMerge(base, ours, theirs, { listKeys: listKeysFor('Connection') });
    expect(r.conflicts).toEqual([]);
    expect(linksOf(r.merged).map((l) => [l.leaf.ip, l.spine.ip])).toEqual([
      ['172.30.30.1/31', '172.30.30.8/31'],
      ['172.30.30.5/31', '172.30.30.2/31'],
      ['172.30.30.7/31', '172.30.30.6/31'],
    ]);
  });

  test('both sides re-address the same leaf differently: one conflict naming the link by its ports', () => {
    const ours = spec();
    linksOf(ours)[0]!.leaf.ip = '10.0.0.1/31';
    const theirs = spec();
    linksOf(theirs)[0]!.leaf.ip = '10.0.0.3/31';
    const r = threeWayMerge(spec(), ours, theirs, { listKeys: listKeysFor('Connection') });
    expect(r.conflicts).toEqual([
      {
        path: '/fabric/links/0/leaf/ip',
        base: '172.30.30.1/31',
        ours: '10.0.0.1/31',
        theirs: '10.0.0.3/31',
        key: { 'spine.port': 's5232-01/E1/1', 'leaf.port': 's5248-01/E1/18' },
      },
    ]);
    expect(linksOf(resolveWith(r, 'ours'))[0]!.leaf.ip).toBe('10.0.0.1/31');
  });

  test('without list keys the same edits are one conflict at the list', () => {
    const ours = spec();
    linksOf(ours)[1]!.leaf.ip = '172.30.30.5/31';
    const theirs = spec();
    linksOf(theirs)[0]!.spine.ip = '172.30.30.8/31';
    expect(threeWayMerge(spec(), ours, theirs).conflicts.map((c) => c.path)).toEqual(['/fabric/links']);
  });
});

/** The schema node of a table path ('*' = items or additionalProperties), walked with plain properties. */
function schemaNode(spec: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let node = spec as Record<string, unknown> | undefined;
  for (const step of path) {
    if (!node) return undefined;
    const props = node.properties as Record<string, unknown> | undefined;
    node = (step === '*' ? (node.items ?? node.additionalProperties) : props?.[step]) as typeof node;
  }
  return node;
}

if (existsSync(SHARED_CRDS))
  describe('the table against the real Hedgehog CRDs (../shared/hedgehog-crds)', () => {
    test('every table path is a list of objects that declares its key fields, in a kind of the catalog', async () => {
      const schemas = await loadCrdSchemasFromDir(SHARED_CRDS);
      const problems: string[] = [];
      for (const [kind, lists] of fabricListKeyTable()) {
        const info = FABRIC_KINDS.find((k) => k.kind === kind);
        const schema = info && schemas.get(`${info.apiVersion}/${kind}`);
        if (!schema) {
          problems.push(`${kind}: no CRD`);
          continue;
        }
        const spec = (schema.properties as Record<string, unknown>).spec;
        for (const { path, keys } of lists) {
          const list = schemaNode(spec, path.split('.'));
          if (list?.type !== 'array') problems.push(`${kind} ${path}: not a list`);
          for (const key of keys) {
            const field = schemaNode(list?.items, key.split('.'));
            if (!field || !['string', 'integer'].includes(field.type as string)) {
              problems.push(`${kind} ${path}: key ${key} is not a string or integer field`);
            }
          }
          // The real CRDs declare no list types, so the table is what decides.
          expect(listKeysFor(kind, schema)(path.split('.'))).toEqual(keys);
        }
      }
      expect(problems).toEqual([]);
    });
  });

test('the planning half of src/writeback is pure: no database, no file system, no Git process', () => {
  const dir = fileURLToPath(new URL('../src/writeback', import.meta.url));
  // publish.ts, publish-record.ts and git-publisher.ts are the impure shell around these.
  const pure = readdirSync(dir).filter(
    (f) => f.endsWith('.ts') && !/^(publish|publish-record|git-publisher)\.ts$/.test(f),
  );
  expect(pure).toEqual(
    expect.arrayContaining(['three-way-merge.ts', 'list-keys.ts', 'rebase-draft.ts', 'publish-plan.ts']),
  );
  const imports = pure
    .flatMap((f) => [
      ...readFileSync(`${dir}/${f}`, 'utf8').matchAll(/^(?:import|export)\s(?!type\s)[^;]*?from\s+'([^']+)'/gm),
    ])
    .map((m) => m[1]!);
  expect(imports.length).toBeGreaterThan(0);
  expect(
    imports.filter((s) => /^node:|@mikro-orm|^pg$|\/store\/|\/db\/|git-publisher|git-cli|git-source/.test(s)),
  ).toEqual([]);
});
