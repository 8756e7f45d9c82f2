/**
 * Strings PostgreSQL refuses (NUL, lone UTF-16 surrogates) are found before any SQL: toActualObservation refuses
 * that one object, naming the path and the problem (the helper itself: test/json-safety.test.ts).
 */
import 'reflect-metadata';
import { findUnstorableString } from '../src/json-safety.js';
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

describe('toActualObservation refuses objects PostgreSQL cannot store', () => {
  test.each([
    [
      'NUL in a spec value',
      sw({ spec: { ports: [{ name: 'E1/1\u0000' }] } }),
      'spec.ports[0].name contains a NUL character',
    ],
    ['NUL in a spec key', sw({ spec: { 'x\u0000': 1 } }), 'spec["x\\u0000"] (a key) contains a NUL character'],
    ['NUL in a label value', sw({ labels: { role: 'le\u0000af' } }), 'metadata.labels.role contains a NUL character'],
    [
      'NUL in a label key',
      sw({ labels: { 'ro\u0000le': 'leaf' } }),
      'metadata.labels["ro\\u0000le"] (a key) contains a NUL',
    ],
    [
      'NUL in an annotation',
      sw({ annotations: { 'example.com/note': '\u0000' } }),
      'metadata.annotations["example.com/note"] contains a NUL',
    ],
    [
      'NUL in an annotation key',
      sw({ annotations: { '\u0000': 'x' } }),
      'metadata.annotations["\\u0000"] (a key) contains a NUL',
    ],
    [
      'NUL in status',
      sw({ status: { conditions: [{ message: 'a\u0000' }] } }),
      'status.conditions[0].message contains a NUL',
    ],
    ['NUL in a status key', sw({ status: { '\u0000': 1 } }), 'status["\\u0000"] (a key) contains a NUL'],
    [
      'lone surrogate in spec',
      sw({ spec: { description: 'x\ud800' } }),
      'spec.description contains a lone UTF-16 surrogate (\\ud800)',
    ],
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
