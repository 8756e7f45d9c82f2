/**
 * scanMetadataListPage against JSON.parse: on every page it reads, it must give what JSON.parse gives for the fields
 * a re-sync uses; on every page JSON.parse refuses, it must refuse too (undefined: the caller then parses the page and
 * reports the error as before). Checked on typical pages, on generated ones, and on every kind of damage.
 */
import fc from 'fast-check';
import { scanMetadataListPage, type ScannedMetadataPage } from '../src/kube/metadata-page-scan.js';

/** What the caller reads of a page, taken from JSON.parse: the reference the scanner must match. */
function expectedFromParse(text: string): ScannedMetadataPage | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const b = body as { kind?: unknown; apiVersion?: unknown; metadata?: Record<string, unknown>; items?: unknown };
  if (b.kind !== 'PartialObjectMetadataList' || b.apiVersion !== 'meta.k8s.io/v1' || !Array.isArray(b.items))
    return undefined;
  const keep = (m: Record<string, unknown> | undefined, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => m?.[k] !== undefined).map((k) => [k, m![k]]));
  return {
    kind: b.kind,
    apiVersion: b.apiVersion,
    metadata: keep(b.metadata, ['resourceVersion', 'continue']),
    itemMetadata: (b.items as { metadata?: Record<string, unknown> }[]).map((item) =>
      keep(item.metadata, ['name', 'namespace', 'uid', 'resourceVersion']),
    ),
  };
}

/** The scanner either matches JSON.parse exactly or declines; it never accepts what JSON.parse refuses. */
function expectScanAgreesWithParse(text: string | Buffer): ScannedMetadataPage | undefined {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const scanned = scanMetadataListPage(bytes);
  if (scanned !== undefined) expect(scanned).toEqual(expectedFromParse(bytes.toString('utf8')));
  return scanned;
}

const item = (i: number, extra: Record<string, unknown> = {}) => ({
  kind: 'PartialObjectMetadata',
  apiVersion: 'meta.k8s.io/v1',
  metadata: {
    name: `conn-${i}`,
    namespace: 'default',
    uid: `0000-${i}`,
    resourceVersion: String(1000 + i),
    generation: 1,
    creationTimestamp: '2026-12-01T10:00:00Z',
    labels: { 'fabric.githedgehog.com/vpc': 'vpc-1', 'server.fabric.githedgehog.com/name': `server-${i}` },
    managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': { 'f:labels': {} } } }],
    ...extra,
  },
});
const page = (items: unknown[], metadata: Record<string, unknown> = { resourceVersion: '77', continue: 'tok' }) => ({
  kind: 'PartialObjectMetadataList',
  apiVersion: 'meta.k8s.io/v1',
  metadata,
  items,
});

describe('scanMetadataListPage reads what JSON.parse reads', () => {
  test('a typical page: every kept field, in order, and nothing else', () => {
    const text = JSON.stringify(page([item(1), item(2), item(3)]));
    const scanned = expectScanAgreesWithParse(text);
    expect(scanned).toEqual({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: '77', continue: 'tok' },
      itemMetadata: [1, 2, 3].map((i) => ({
        name: `conn-${i}`,
        namespace: 'default',
        uid: `0000-${i}`,
        resourceVersion: String(1000 + i),
      })),
    });
  });

  test('an empty page, a last page without continue, and pretty-printed JSON (every kind of whitespace)', () => {
    expect(expectScanAgreesWithParse(JSON.stringify(page([], {})))).toMatchObject({ itemMetadata: [], metadata: {} });
    const pretty = JSON.stringify(page([item(1), item(2)], { resourceVersion: '9' }), null, 2).replace(/\n/g, '\r\n\t');
    expect(expectScanAgreesWithParse(pretty)?.itemMetadata).toHaveLength(2);
    expect(expectScanAgreesWithParse(` \n${JSON.stringify(page([item(1)]))}\r\n `)?.itemMetadata).toHaveLength(1);
  });

  test('strings with escapes, non-ASCII, \\u0000 and lone surrogates: skipped where not kept, decoded as JSON.parse does where kept', () => {
    const odd = 'é "q" \\ \u0000 \ud800 \u2028 😀 \t';
    const text = JSON.stringify(
      page([item(1, { labels: { [odd]: odd }, annotations: { a: odd } }), item(2, { uid: odd, resourceVersion: odd })]),
    );
    const scanned = expectScanAgreesWithParse(text);
    expect(scanned?.itemMetadata[1]!.uid).toBe(odd);
    // A lone surrogate written as an escape reaches the caller as JSON.parse gives it (the caller's checks decide).
    const lone = JSON.stringify(page([item(1, { uid: 'x' })])).replace('"uid":"x"', '"uid":"\\ud800x"');
    expect(expectScanAgreesWithParse(lone)?.itemMetadata[0]!.uid).toBe('\ud800x');
  });

  test('namespaces: repeated, or differing from the previous one by length, a byte, an escape or a non-ASCII character — each read as JSON.parse reads it', () => {
    const text = JSON.stringify(
      page([
        item(1),
        item(2),
        item(3, { namespace: 'def' }),
        item(4, { namespace: 'defaultx' }),
        item(5, { namespace: 'd\u00e9f' }),
        item(6, { namespace: 'd\u00e9f' }),
        item(7),
      ]),
    ).replace('"namespace":"default"', '"namespace":"def\\u0061ult"'); // item 1's namespace written with an escape
    const scanned = expectScanAgreesWithParse(text);
    expect(scanned?.itemMetadata.map((m) => m.namespace)).toEqual([
      'default',
      'default',
      'def',
      'defaultx',
      'd\u00e9f',
      'd\u00e9f',
      'default',
    ]);
  });

  test('a repeated key: the last one wins, as in JSON.parse, at every level read', () => {
    const text =
      '{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"1","resourceVersion":"2"},' +
      '"items":[{"metadata":{"name":"a","uid":"u1","name":"b"},"metadata":{"name":"c","namespace":"n"}}],' +
      '"items":[{"metadata":{"name":"d","uid":"u1","uid":"u2"}}]}';
    expect(expectScanAgreesWithParse(text)).toEqual({
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: '2' },
      itemMetadata: [{ name: 'd', uid: 'u2' }],
    });
  });

  test('values nested 100,000 deep inside a skipped field are skipped without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const text = JSON.stringify(page([item(1, { labels: 'X' })])).replace('"labels":"X"', `"labels":${deep}`);
    expect(expectScanAgreesWithParse(text)?.itemMetadata).toHaveLength(1);
  });

  test('every number JSON allows is skipped; the ones it refuses make the page unscannable', () => {
    for (const n of ['0', '-0', '12', '-3.25', '1e5', '1E+5', '2.5e-3', '123456789012345678901234567890']) {
      const text = JSON.stringify(page([item(1, { generation: 'X' })])).replace(
        '"generation":"X"',
        `"generation":${n}`,
      );
      expect(expectScanAgreesWithParse(text)).toBeDefined();
    }
    for (const n of ['01', '1.', '.5', '-', '+1', '1e', '1e+', '0x1', 'NaN', 'Infinity', '1_0']) {
      const text = JSON.stringify(page([item(1, { generation: 'X' })])).replace(
        '"generation":"X"',
        `"generation":${n}`,
      );
      expect(() => JSON.parse(text)).toThrow();
      expect(scanMetadataListPage(Buffer.from(text))).toBeUndefined();
    }
  });
});

describe('scanMetadataListPage declines what it does not read exactly (the caller parses the page instead)', () => {
  const base = JSON.stringify(page([item(1)]));
  test.each([
    ['a full list (the server ignored the Accept header)', base.replace('PartialObjectMetadataList', 'VPCList')],
    ['another apiVersion', base.replace('"meta.k8s.io/v1"', '"meta.k8s.io/v1beta1"')],
    ['no items', JSON.stringify({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' })],
    ['items not an array', base.replace(/"items":\[.*\]\}$/, '"items":{}}')],
    ['an item that is not an object', base.replace('"items":[', '"items":[null,')],
    ['an item without metadata', base.replace('"items":[', '"items":[{"kind":"PartialObjectMetadata"},')],
    ['metadata that is not an object', base.replace('"items":[', '"items":[{"metadata":[]},')],
    ['a kept field that is not a string', base.replace('"uid":"0000-1"', '"uid":5')],
    ['a kept field that is null', base.replace('"name":"conn-1"', '"name":null')],
    ['a key read written with an escape', base.replace('"name":"conn-1"', '"na\\u006de":"conn-1"')],
    ['a key read holding a non-ASCII byte', base.replace('"name":"conn-1"', '"námé":"conn-1"')],
    ['a byte-order mark', '\ufeff' + base],
    ['trailing bytes', base + 'x'],
    ['a second value', base + base],
    ['a trailing comma', base.replace('}]}', '},]}')],
    ['a raw control byte in a skipped string', base.replace('"vpc-1"', '"vpc\u0001-1"')],
    ['a raw newline in a skipped string', base.replace('"vpc-1"', '"vpc\n-1"')],
    ['an invalid escape', base.replace('"vpc-1"', '"vpc\\x-1"')],
    ['a short \\u escape', base.replace('"vpc-1"', '"vpc\\u12"')],
    ['a truncated page', base.slice(0, -1)],
    ['a single quote string', base.replace('"vpc-1"', "'vpc-1'")],
    ['a top-level array', `[${base}]`],
    ['an empty body', ''],
  ])('%s', (_what, text) => {
    expect(scanMetadataListPage(Buffer.from(text))).toBeUndefined();
  });
});

describe('scanMetadataListPage against JSON.parse on generated pages', () => {
  const fieldValue = fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue());
  const metadataArb = fc.record(
    {
      name: fc.oneof(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/), fieldValue),
      namespace: fc.oneof(fc.constant('default'), fieldValue),
      uid: fc.oneof(fc.uuid(), fieldValue),
      resourceVersion: fc.oneof(fc.nat().map(String), fieldValue),
      labels: fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })),
      managedFields: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  const pageArb = fc.record({
    items: fc.array(fc.record({ kind: fc.constant('PartialObjectMetadata'), metadata: metadataArb }), {
      maxLength: 8,
    }),
    metadata: fc.record({ resourceVersion: fc.nat().map(String), continue: fc.string() }, { requiredKeys: [] }),
    indent: fc.constantFrom(undefined, 1, '\t'),
  });
  const textOf = (p: { items: unknown[]; metadata: Record<string, unknown>; indent: number | string | undefined }) =>
    JSON.stringify(page(p.items, p.metadata), null, p.indent);

  test('a page JSON.stringify wrote: the scan equals JSON.parse, and a page of string fields is always read', () => {
    fc.assert(
      fc.property(pageArb, (p) => {
        const text = textOf(p);
        const scanned = expectScanAgreesWithParse(text);
        const allKeptAreStrings = p.items.every((i) =>
          (['name', 'namespace', 'uid', 'resourceVersion'] as const).every(
            (k) => !(k in i.metadata) || typeof i.metadata[k] === 'string',
          ),
        );
        if (allKeptAreStrings) expect(scanned).toBeDefined();
      }),
      { numRuns: 400 },
    );
  });

  test('a damaged page (a byte changed, inserted or removed anywhere): never accepted when JSON.parse refuses it', () => {
    const damage = fc.record({
      at: fc.nat(),
      how: fc.constantFrom('replace', 'insert', 'remove', 'truncate'),
      byte: fc.constantFrom(...Array.from('{}[]:,"\\ \n\u0001tfnue0-.+9xé', (c) => c)),
    });
    fc.assert(
      fc.property(pageArb, damage, (p, d) => {
        const text = textOf(p);
        const at = d.at % (text.length + 1);
        const damaged =
          d.how === 'replace'
            ? text.slice(0, at) + d.byte + text.slice(at + 1)
            : d.how === 'insert'
              ? text.slice(0, at) + d.byte + text.slice(at)
              : d.how === 'remove'
                ? text.slice(0, at) + text.slice(at + 1)
                : text.slice(0, at);
        const scanned = expectScanAgreesWithParse(damaged);
        let parses = true;
        try {
          JSON.parse(damaged);
        } catch {
          parses = false;
        }
        if (!parses) expect(scanned).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});
