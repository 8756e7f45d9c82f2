import fc from 'fast-check';
import { canonicalJson, normalizeSide, normalizeValue } from '../src/drift/index.js';
import {
  IGNORED_LABELS,
  isAbsentValue,
  metadataCount,
  metadataMap,
  truncateAnnotationValue,
} from '../src/drift/normalize.js';

describe('normalizeSide', () => {
  const k8sObject = {
    apiVersion: 'wiring.githedgehog.com/v1beta1',
    kind: 'Switch',
    metadata: {
      name: 'leaf-01',
      namespace: 'default',
      uid: '0b0c',
      resourceVersion: '812',
      generation: 4,
      creationTimestamp: '2026-01-01T00:00:00Z',
      managedFields: [{ manager: 'kubectl', operation: 'Apply' }],
      labels: { 'kustomize.toolkit.fluxcd.io/name': 'fabric', role: 'leaf' },
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"..."}',
        'argocd.argoproj.io/tracking-id': 'fabric:wiring.githedgehog.com/Switch:default/leaf-01',
        note: 'rack 3',
      },
    },
    spec: { role: 'server-leaf', asn: 65101, boot: null, groups: [], redundancy: {}, description: undefined },
    status: { applied: { gen: 4 } },
  };

  test('keeps spec, labels and annotations; drops status, server metadata and tool-written metadata', () => {
    expect(normalizeSide(k8sObject)).toEqual({
      spec: { asn: 65101, role: 'server-leaf' },
      labels: { role: 'leaf' },
      annotations: { note: 'rack 3' },
    });
  });

  test('observation shape (top-level labels/annotations) gives the same result', () => {
    const obs = {
      spec: k8sObject.spec,
      labels: k8sObject.metadata.labels,
      annotations: k8sObject.metadata.annotations,
    };
    expect(normalizeSide(obs)).toEqual(normalizeSide(k8sObject));
  });

  test('missing spec is {}, a spec that is not an object is refused', () => {
    expect(normalizeSide({})).toEqual({ spec: {}, labels: {}, annotations: {} });
    expect(() => normalizeSide({ spec: [1] })).toThrow(/spec must be an object, got an array/);
    expect(() => normalizeSide({ spec: 'x' })).toThrow(/got string/);
  });

  test.each<[string, unknown, unknown]>([
    ['keys sorted', { b: 1, a: { d: 1, c: 2 } }, { a: { c: 2, d: 1 }, b: 1 }],
    ['null members dropped', { a: null, b: 1 }, { b: 1 }],
    ['empty objects and arrays dropped, recursively', { a: {}, b: [], c: { d: { e: null } }, f: 0 }, { f: 0 }],
    [
      'array items keep positions, nulls and empties included',
      { l: [null, {}, [], { x: null, y: 1 }] },
      { l: [null, {}, [], { y: 1 }] },
    ],
    ['zero values are values', { a: 0, b: false, c: '' }, { a: 0, b: false, c: '' }],
    ['numeric strings stay strings', { vlan: '1001', mtu: 9000.0 }, { mtu: 9000, vlan: '1001' }],
  ])('normalizeValue: %s', (_name, input, expected) => {
    const out = normalizeValue(input);
    // `expected` is written with sorted keys: the text shows the key order too.
    expect(JSON.stringify(out)).toBe(JSON.stringify(expected));
  });

  test('isAbsentValue', () => {
    for (const v of [undefined, null, {}, [], { a: null }, { a: { b: [] } }]) expect(isAbsentValue(v)).toBe(true);
    for (const v of [0, '', false, [null], { a: 0 }]) expect(isAbsentValue(v)).toBe(false);
  });
});

describe('canonicalJson', () => {
  test.each<[string, unknown, string]>([
    [
      'sorted keys at every level',
      { b: { z: 1, a: 2 }, a: [{ y: 1, x: 2 }] },
      '{"a":[{"x":2,"y":1}],"b":{"a":2,"z":1}}',
    ],
    ['1 and 1.0 are one number', { n: JSON.parse('1.0') }, '{"n":1}'],
    ['"1" is not 1', { n: '1' }, '{"n":"1"}'],
    ['undefined members dropped, undefined items become null', { a: undefined, b: [undefined, 1] }, '{"b":[null,1]}'],
    ['nulls kept (a serializer, not a normalizer)', { a: null }, '{"a":null}'],
    ['-0 is 0', { n: -0 }, '{"n":0}'],
    ['strings escaped as JSON', { 'a"b': 'line\nbreak' }, '{"a\\"b":"line\\nbreak"}'],
  ])('%s', (_name, input, expected) => {
    expect(canonicalJson(input)).toBe(expected);
  });

  test('property: key order never changes the text, and the text parses back to the value', () => {
    const reorder = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reorder)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .reverse()
                .map((k) => [k, reorder((v as Record<string, unknown>)[k])]),
            )
          : v;
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(reorder(v))).toBe(canonicalJson(v));
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });
});

test('truncateAnnotationValue cuts at 1024 characters and says how much is gone', () => {
  expect(truncateAnnotationValue('short')).toBe('short');
  expect(truncateAnnotationValue('x'.repeat(1024))).toBe('x'.repeat(1024));
  expect(truncateAnnotationValue('x'.repeat(3000))).toBe(`${'x'.repeat(1024)}…[truncated 1976 characters]`);
});

test('metadataCount counts exactly the entries metadataMap keeps (null values and tool-written keys left out)', () => {
  const key = fc.oneof(fc.constantFrom(...IGNORED_LABELS, '__proto__', 'app'), fc.string());
  const value = fc.oneof(fc.string(), fc.constant(null), fc.constant(undefined));
  fc.assert(
    fc.property(fc.oneof(fc.dictionary(key, value), fc.constant(null), fc.string()), (v) => {
      expect(metadataCount(v, IGNORED_LABELS)).toBe(Object.keys(metadataMap(v, IGNORED_LABELS)).length);
    }),
  );
});
