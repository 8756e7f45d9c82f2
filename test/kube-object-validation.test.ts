/**
 * toActualObservation: the rules an object from the cluster must pass before it may be written.
 * (The same rules through a real list are exercised in kube-cluster-reader.test.ts; here are the
 * cases the fake server cannot produce, e.g. a missing uid or a foreign apiVersion.)
 */
import fc from 'fast-check';
import { validateSync } from 'class-validator';
import { kindInfo } from '../src/kube/catalog.js';
import {
  DEFAULT_MAX_OBJECT_BYTES,
  DNS1123_SUBDOMAIN,
  KubeObjectInput,
  passesObjectRules,
  toActualObservation,
} from '../src/kube/object-validation.js';

const SWITCH = kindInfo('Switch')!;

function sw(over: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) {
  return {
    apiVersion: 'wiring.githedgehog.com/v1beta1',
    kind: 'Switch',
    metadata: { name: 'leaf-01', namespace: 'default', uid: 'u-1', resourceVersion: '17', ...meta },
    spec: { role: 'server-leaf' },
    ...over,
  };
}

function reason(raw: unknown, opts?: { maxObjectBytes?: number }): string {
  const r = toActualObservation(raw, SWITCH, opts);
  if (r.ok) throw new Error('expected a validation error');
  return r.error.reason;
}

test('a valid object maps to an observation with defaults for absent parts', () => {
  const r = toActualObservation(sw({ spec: undefined }, { labels: undefined }), SWITCH);
  expect(r).toEqual({
    ok: true,
    value: {
      kind: 'Switch',
      apiVersion: 'wiring.githedgehog.com/v1beta1',
      namespace: 'default',
      name: 'leaf-01',
      spec: {},
      status: null,
      labels: {},
      annotations: {},
      uid: 'u-1',
      resourceVersion: '17',
    },
  });
});

test('kind and apiVersion absent from a list item are taken from the list', () => {
  const bare: Record<string, unknown> = sw();
  delete bare.kind;
  delete bare.apiVersion;
  const r = toActualObservation(bare, SWITCH);
  expect(r.ok && r.value.apiVersion).toBe('wiring.githedgehog.com/v1beta1');
});

test.each([
  ['missing uid', sw({}, { uid: undefined }), 'metadata.uid is missing'],
  ['empty uid', sw({}, { uid: '' }), 'metadata.uid is empty'],
  ['numeric uid', sw({}, { uid: 7 }), 'metadata.uid is a number, not a string'],
  ['missing resourceVersion', sw({}, { resourceVersion: undefined }), 'metadata.resourceVersion is missing'],
  [
    'wrong apiVersion',
    sw({ apiVersion: 'wiring.githedgehog.com/v1alpha2' }),
    'apiVersion "wiring.githedgehog.com/v1alpha2" does not match the listed "wiring.githedgehog.com/v1beta1"',
  ],
  ['wrong kind', sw({ kind: 'Server' }), 'kind "Server" does not match the listed kind "Switch"'],
  ['name not a string', sw({}, { name: 12 }), 'metadata.name is a number, not a string'],
  ['empty name', sw({}, { name: '' }), 'metadata.name is empty'],
  ['name with a slash', sw({}, { name: 'a/b' }), 'metadata.name "a/b" is not a valid DNS-1123 subdomain'],
  ['name ending in a dash', sw({}, { name: 'leaf-' }), 'not a valid DNS-1123 subdomain'],
  [
    'missing namespace',
    sw({}, { namespace: undefined }),
    'metadata.namespace is missing (every fabric kind is namespaced)',
  ],
  ['namespace with a dot', sw({}, { namespace: 'a.b' }), 'metadata.namespace "a.b" is not a valid DNS-1123 label'],
  ['spec null is fine, spec true is not', sw({ spec: true }), 'spec is a boolean, not an object'],
  ['labels a string', sw({}, { labels: 'x=y' }), 'metadata.labels is a string, not a map of strings'],
])('%s', (_title, raw, expected) => {
  expect(reason(raw)).toContain(expected);
});

test('several problems are reported together, in field order', () => {
  expect(reason(sw({ spec: [] }, { name: 'Leaf', uid: undefined }))).toBe(
    "metadata.name \"Leaf\" is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit); spec is an array, not an object; metadata.uid is missing",
  );
});

test('not an object, or no metadata', () => {
  expect(toActualObservation('x', SWITCH)).toEqual({
    ok: false,
    error: { kind: 'Switch', reason: 'item is a string, not an object' },
  });
  expect(toActualObservation(null, SWITCH)).toEqual({
    ok: false,
    error: { kind: 'Switch', reason: 'item is null, not an object' },
  });
  expect(toActualObservation({ spec: {} }, SWITCH)).toEqual({
    ok: false,
    error: { kind: 'Switch', reason: 'metadata is missing' },
  });
});

test('the error names kind, namespace and name (clipped when absurdly long)', () => {
  const r = toActualObservation(sw({ spec: 1 }, { name: 'n'.repeat(1000) }), SWITCH);
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.error.kind).toBe('Switch');
    expect(r.error.namespace).toBe('default');
    expect(r.error.name).toHaveLength(254); // 253 + '…'
    expect(r.error.reason.length).toBeLessThan(400);
  }
});

test('size limit: the default is 1.5 MiB; an object just over a custom limit is refused, at it accepted', () => {
  expect(DEFAULT_MAX_OBJECT_BYTES).toBe(1572864);
  const base = sw({ spec: { blob: '' } });
  const baseSize = Buffer.byteLength(JSON.stringify(base));
  const limit = baseSize + 100;
  const atLimit = sw({ spec: { blob: 'x'.repeat(100) } });
  expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(limit);
  expect(toActualObservation(atLimit, SWITCH, { maxObjectBytes: limit }).ok).toBe(true);
  const over = sw({ spec: { blob: 'é'.repeat(51) } }); // 102 bytes in UTF-8: bytes, not characters, count
  expect(reason(over, { maxObjectBytes: limit })).toBe(
    `object is ${limit + 2} bytes serialized, over the limit of ${limit} bytes`,
  );
  expect(toActualObservation(sw({ spec: { blob: 'x'.repeat(1_600_000) } }), SWITCH).ok).toBe(false);
});

test('property: every DNS-1123 subdomain name up to 253 characters is accepted, and the observation keeps it', () => {
  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
  const subdomain = fc
    .array(label, { minLength: 1, maxLength: 6 })
    .map((ls) => ls.join('.'))
    .filter((s) => s.length <= 253);
  fc.assert(
    fc.property(subdomain, (name) => {
      const r = toActualObservation(sw({}, { name }), SWITCH);
      return r.ok && r.value.name === name;
    }),
  );
});

test('property: any name that breaks DNS-1123 is refused, never silently kept', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 0, maxLength: 300 }), (name) => {
      fc.pre(!(DNS1123_SUBDOMAIN.test(name) && name.length <= 253));
      return !toActualObservation(sw({}, { name }), SWITCH).ok;
    }),
  );
});

test('property: the fast path accepts exactly what the class-validator rules accept', () => {
  // Each field: mostly a good value (so whole objects are often valid), else an edge case or any JSON type.
  const anyJson = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string({ maxLength: 5 }),
    fc.constant([]),
    fc.constant({}),
  );
  const field = <T>(good: fc.Arbitrary<T>, edges: unknown[]) =>
    fc.oneof(
      { arbitrary: good, weight: 12 },
      { arbitrary: fc.constantFrom(...edges), weight: 1 },
      { arbitrary: anyJson, weight: 1 },
    );
  const input = fc.record({
    name: field(fc.constantFrom('leaf-01', 'a.b-c', 'n'.repeat(253)), [
      'n'.repeat(254),
      'Leaf',
      'leaf-',
      '-a',
      'a/b',
      '',
    ]),
    namespace: field(fc.constantFrom('default', 'fab-1', 'n'.repeat(63)), ['n'.repeat(64), 'a.b', 'A', '']),
    kind: field(fc.constant('Switch'), ['Server']),
    apiVersion: field(fc.constant('wiring.githedgehog.com/v1beta1'), ['wiring.githedgehog.com/v1alpha2']),
    spec: field(fc.constantFrom({}, { a: [1] }), [[], 'x']),
    status: field(fc.constantFrom(undefined, null, {}, { ready: true }), [[], 1]),
    labels: field(fc.constantFrom({}, { a: 'b' }), [{ a: 1 }, { a: null }, ['x']]),
    annotations: field(fc.constantFrom({}, { a: 'b' }), [{ a: 1 }, { a: null }, ['x']]),
    uid: field(fc.constant('u-1'), ['']),
    resourceVersion: field(fc.constant('17'), ['']),
    serializedBytes: field(fc.constantFrom(0, 99, 100), [101, Number.POSITIVE_INFINITY]),
  });
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(input, (fields) => {
      const o = Object.assign(new KubeObjectInput(), fields, {
        expectedKind: 'Switch',
        expectedApiVersion: 'wiring.githedgehog.com/v1beta1',
        maxBytes: 100,
      });
      const valid = validateSync(o, { stopAtFirstError: true, forbidUnknownValues: false }).length === 0;
      if (valid) accepted++;
      else refused++;
      return passesObjectRules(o) === valid;
    }),
    { numRuns: 3000 },
  );
  // The generators reach both sides often.
  expect(accepted).toBeGreaterThan(100);
  expect(refused).toBeGreaterThan(100);
});
