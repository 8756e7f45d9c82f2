/**
 * Strings PostgreSQL refuses (NUL, lone UTF-16 surrogates) are found before any SQL: the helper names the
 * path and the problem, and toActualObservation refuses that one object.
 */
import 'reflect-metadata';
import { findUnstorableString, hasSuspectEscape } from '../src/kube/json-safety.js';
import { toActualObservation } from '../src/kube/object-validation.js';
import { kindInfo } from '../src/kube/catalog.js';

const SWITCH = kindInfo('Switch')!;

function sw(patch: { spec?: unknown; status?: unknown; labels?: unknown; annotations?: unknown; uid?: unknown } = {}) {
  return {
    apiVersion: SWITCH.apiVersion,
    kind: 'Switch',
    metadata: {
      name: 's1',
      namespace: 'default',
      uid: patch.uid ?? 'u-1',
      resourceVersion: '7',
      labels: patch.labels ?? { role: 'leaf' },
      annotations: patch.annotations ?? {},
    },
    spec: patch.spec ?? { role: 'server-leaf', ports: [{ name: 'E1/1' }] },
    ...(patch.status !== undefined ? { status: patch.status } : {}),
  };
}

describe('findUnstorableString', () => {
  test('clean data, proper surrogate pairs (emoji) and escaped backslashes pass', () => {
    expect(findUnstorableString({ a: ['x', 1, null, true, { '😀': 'ok 😀' }], b: '\\u0000 is text' })).toBeNull();
  });

  test.each([
    ['NUL in a value', { spec: { ports: [{ name: 'E1\u0000' }] } }, 'spec.ports[0].name', 'NUL'],
    ['NUL in a key', { spec: { 'a\u0000b': 1 } }, 'spec["a\\u0000b"] (a key)', 'NUL'],
    ['lone high surrogate', { status: { x: 'ab\ud800' } }, 'status.x', 'lone UTF-16 surrogate (\\ud800)'],
    ['lone low surrogate in a key', { labels: { '\udc00': 'v' } }, 'labels["\\udc00"] (a key)', 'lone UTF-16 surrogate (\\udc00)'],
    ['reversed pair', { a: ['\udc00\ud800'] }, 'a[0]', 'lone UTF-16 surrogate'],
  ])('%s', (_label, value, path, problem) => {
    const found = findUnstorableString(value);
    expect(found?.path).toBe(path);
    expect(found?.problem).toContain(problem);
  });

  test('hasSuspectEscape rules out clean JSON and flags NUL / lone surrogates in JSON.stringify output', () => {
    expect(hasSuspectEscape(JSON.stringify({ a: 'x 😀' }))).toBe(false);
    expect(hasSuspectEscape(JSON.stringify({ a: 'x\u0000' }))).toBe(true);
    expect(hasSuspectEscape(JSON.stringify({ a: '\ud9ff' }))).toBe(true);
  });
});

describe('toActualObservation refuses objects PostgreSQL cannot store', () => {
  test.each([
    ['NUL in a spec value', sw({ spec: { ports: [{ name: 'E1/1\u0000' }] } }), 'spec.ports[0].name contains a NUL character'],
    ['NUL in a spec key', sw({ spec: { 'x\u0000': 1 } }), 'spec["x\\u0000"] (a key) contains a NUL character'],
    ['NUL in a label value', sw({ labels: { role: 'le\u0000af' } }), 'metadata.labels.role contains a NUL character'],
    ['NUL in a label key', sw({ labels: { 'ro\u0000le': 'leaf' } }), 'metadata.labels["ro\\u0000le"] (a key) contains a NUL'],
    ['NUL in an annotation', sw({ annotations: { 'example.com/note': '\u0000' } }), 'metadata.annotations["example.com/note"] contains a NUL'],
    ['NUL in an annotation key', sw({ annotations: { '\u0000': 'x' } }), 'metadata.annotations["\\u0000"] (a key) contains a NUL'],
    ['NUL in status', sw({ status: { conditions: [{ message: 'a\u0000' }] } }), 'status.conditions[0].message contains a NUL'],
    ['NUL in a status key', sw({ status: { '\u0000': 1 } }), 'status["\\u0000"] (a key) contains a NUL'],
    ['lone surrogate in spec', sw({ spec: { description: 'x\ud800' } }), 'spec.description contains a lone UTF-16 surrogate (\\ud800)'],
    ['lone surrogate in uid', sw({ uid: 'u\udfff' }), 'metadata.uid contains a lone UTF-16 surrogate'],
  ])('%s', (_label, raw, reason) => {
    const r = toActualObservation(raw, SWITCH);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toMatchObject({ kind: 'Switch', namespace: 'default', name: 's1' });
    expect(r.error.reason).toContain(reason);
    // The error itself must be storable: it goes to the run record's jsonb.
    expect(findUnstorableString(r.error)).toBeNull();
  });

  test('an emoji and a literal backslash-u0000 text are fine', () => {
    expect(toActualObservation(sw({ spec: { d: '😀 \\u0000 \\ud800' } }), SWITCH).ok).toBe(true);
  });

  test('an invalid object whose name holds a NUL gets an error record that is itself storable', () => {
    const raw = sw();
    (raw.metadata as Record<string, unknown>).name = 'bad\u0000name';
    const r = toActualObservation(raw, SWITCH);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(findUnstorableString(r.error)).toBeNull();
  });
});
