/**
 * Properties of the drift engine over generated objects (fast-check).
 *
 * Symmetry has to be stated with care, because the engine is asymmetric on purpose: a field only the
 * desired side has is drift (`add`), a field only the actual side has is an extra (not drift). So:
 * - in strict mode (extras count as drift) diff(a, b) and diff(b, a) name the same paths, with add and
 *   remove swapped and replace values swapped;
 * - in the default mode, differences ∪ extras name exactly the paths strict mode names;
 * - in the default mode, for objects of the same shape (same keys, same array lengths, only leaf values
 *   differ) diff(a, b) and diff(b, a) name the same paths and there are no extras.
 */
import fc from 'fast-check';
import { computeDrift, normalizeValue, type DriftOp, type DriftResult, type SideState } from '../src/drift/index.js';

// A small key alphabet makes the two sides overlap often; 'x/y' and 't~' exercise pointer escaping.
const key = fc.constantFrom('a', 'b', 'c', 'links', 'x/y', 't~');
const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom('1', 'a', ''),
  fc.boolean(),
  fc.constant(null),
);
const { value: jsonish } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
}));
const spec = fc.dictionary<unknown>(key, jsonish, { maxKeys: 5 });
const labels = fc.dictionary(fc.constantFrom('app', 'team', 'fabric.githedgehog.com/x'), fc.constantFrom('1', '2'), {
  maxKeys: 3,
});
const sideArb: fc.Arbitrary<SideState> = fc.record({ spec, labels, annotations: labels });

const run = (
  desired: SideState,
  actual: SideState,
  strict = false,
  previousDesiredSpec?: Record<string, unknown>,
): DriftResult => computeDrift({ kind: 'Server', name: 's', desired, actual, strict, previousDesiredSpec });
const paths = (ops: readonly DriftOp[]) => ops.map((o) => o.path).sort();

/** The same value with every object's keys in reverse order. */
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

/** A minimal RFC 6902 applier (add / remove / replace) for checking that differences are a patch. */
function applyPatch(doc: Record<string, unknown>, ops: readonly DriftOp[]): void {
  for (const op of ops) {
    const segs = op.path
      .slice(1)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segs.pop()!;
    let parent: unknown = doc;
    for (const s of segs) parent = (parent as Record<string, unknown>)[s];
    if (Array.isArray(parent)) {
      const i = Number(last);
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.desired));
      else if (op.op === 'remove') parent.splice(i, 1);
      else parent[i] = structuredClone(op.desired);
    } else {
      const o = parent as Record<string, unknown>;
      if (op.op === 'remove') Reflect.deleteProperty(o, last);
      else o[last] = structuredClone(op.desired);
    }
  }
}
const asDoc = (s: SideState) => ({
  spec: structuredClone(s.spec),
  metadata: { labels: { ...s.labels }, annotations: { ...s.annotations } },
});
const fromDoc = (d: ReturnType<typeof asDoc>): SideState => ({
  spec: d.spec,
  labels: d.metadata.labels,
  annotations: d.metadata.annotations,
});

describe('drift properties', () => {
  test('diff(a, a) is empty, also with keys in another order', () => {
    fc.assert(
      fc.property(sideArb, fc.boolean(), (a, strict) => {
        for (const other of [a, structuredClone(a), reorder(a) as SideState]) {
          const r = run(a, other, strict);
          expect(r.status).toBe('in_sync');
          expect(r.differences).toEqual([]);
          expect(r.extras).toEqual([]);
          expect(r.score).toBe(0);
          expect(r.severity).toBe('none');
        }
      }),
    );
  });

  test('strict mode is symmetric: same paths, add and remove swapped, replace values swapped', () => {
    fc.assert(
      fc.property(sideArb, sideArb, (a, b) => {
        const ab = run(a, b, true);
        const ba = run(b, a, true);
        expect(paths(ab.differences)).toEqual(paths(ba.differences));
        const swapped = (o: DriftOp): DriftOp =>
          o.op === 'add'
            ? { op: 'remove', path: o.path, actual: o.desired }
            : o.op === 'remove'
              ? { op: 'add', path: o.path, desired: o.actual }
              : { op: 'replace', path: o.path, desired: o.actual, actual: o.desired };
        const byPath = (ops: DriftOp[]) => [...ops].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
        expect(byPath(ab.differences.map(swapped))).toEqual(byPath(ba.differences));
        expect(ab.status).toBe(ba.status);
      }),
    );
  });

  test('default mode: differences and extras together name exactly the paths strict mode names', () => {
    fc.assert(
      fc.property(sideArb, sideArb, (a, b) => {
        const loose = run(a, b);
        const strict = run(a, b, true);
        expect([...paths(loose.differences), ...paths(loose.extras)].sort()).toEqual(paths(strict.differences));
        for (const e of loose.extras) expect(e.op).toBe('remove');
      }),
    );
  });

  test('default mode is symmetric for objects of the same shape, with no extras', () => {
    // Same shape: b is a with some leaf values changed (keys and array lengths kept).
    const sameShape = sideArb.chain((a) =>
      fc
        .tuple(fc.constant(a), fc.infiniteStream(fc.oneof(fc.constant<unknown>(undefined), scalar)))
        .map(([x, stream]) => {
          const it = stream[Symbol.iterator]();
          const mutate = (v: unknown): unknown => {
            if (Array.isArray(v)) return v.map(mutate);
            if (v && typeof v === 'object')
              return Object.fromEntries(Object.entries(v).map(([k, m]) => [k, mutate(m)]));
            // Absent-like leaves (null) stay: changing them would change the shape.
            if (v === null) return v;
            const next = it.next().value;
            return next === undefined || next === null ? v : next;
          };
          return [
            x,
            { spec: mutate(x.spec) as Record<string, unknown>, labels: x.labels, annotations: x.annotations },
          ] as const;
        }),
    );
    fc.assert(
      fc.property(sameShape, ([a, b]) => {
        const ab = run(a, b);
        const ba = run(b, a);
        expect(paths(ab.differences)).toEqual(paths(ba.differences));
        expect(ab.extras).toEqual([]);
        expect(ba.extras).toEqual([]);
        for (const o of ab.differences) expect(o.op).toBe('replace');
      }),
    );
  });

  test('the differences are a patch: applied to actual they leave no drift (extras stay)', () => {
    fc.assert(
      fc.property(
        sideArb,
        sideArb,
        fc.boolean(),
        fc.option(spec, { nil: undefined }),
        (desired, actual, strict, previous) => {
          const r = run(desired, actual, strict, previous);
          const doc = asDoc(actual);
          applyPatch(doc, r.differences);
          const after = run(desired, fromDoc(doc), strict, previous);
          expect(after.differences).toEqual([]);
          expect(paths(after.extras)).toEqual(paths(r.extras));
          // In strict mode the patched spec is the desired spec, normalized.
          if (strict) expect(normalizeValue(doc.spec)).toEqual(normalizeValue(desired.spec));
        },
      ),
    );
  });

  test('score, status and counts agree', () => {
    fc.assert(
      fc.property(sideArb, sideArb, (a, b) => {
        const r = run(a, b);
        expect(r.score).toBeGreaterThanOrEqual(0);
        expect(r.score).toBeLessThanOrEqual(1);
        expect(r.status === 'spec_drift').toBe(r.differences.length > 0);
        expect(r.score > 0).toBe(r.differences.length > 0);
        expect(r.comparedPaths).toBeGreaterThanOrEqual(r.differences.length);
      }),
    );
  });

  test('an ignore rule on a path removes exactly that path (and below) from the result', () => {
    fc.assert(
      fc.property(sideArb, sideArb, (a, b) => {
        const strict = run(a, b, true);
        fc.pre(strict.differences.length > 0);
        const target = strict.differences[0]!.path;
        const ignored = computeDrift({
          kind: 'Server',
          name: 's',
          desired: a,
          actual: b,
          strict: true,
          ignore: [{ pointer: target }],
        });
        const under = (p: string) => p === target || p.startsWith(`${target}/`);
        expect(paths(ignored.differences)).toEqual(paths(strict.differences.filter((o) => !under(o.path))));
      }),
    );
  });
});
