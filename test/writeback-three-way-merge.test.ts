/**
 * The three-way merge of write-back (base = the draft's Git spec, ours = the draft, theirs = the new Git spec),
 * and changedPaths. Example-based tests first, then properties over generated specs (fast-check).
 */
import fc from 'fast-check';
import {
  changedPaths,
  resolveWith,
  threeWayMerge,
  type ListKeys,
  type MergeResult,
} from '../src/writeback/three-way-merge.js';
import { listKeysFor } from '../src/writeback/list-keys.js';

/** Every list keyed by `name`: lists whose elements lack one fall back to whole-list comparison. */
const byName: ListKeys = () => ['name'];

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

describe('threeWayMerge: objects and scalars', () => {
  test('changes to different fields merge, keeping ours’ member order then theirs’ new members', () => {
    const base = { ipv4Namespace: 'default', vlanNamespace: 'default', mode: 'l2' };
    const ours = { mode: 'l3vni', vlanNamespace: 'default', ipv4Namespace: 'default', note: 'mine' };
    const theirs = { ipv4Namespace: 'ns-2', vlanNamespace: 'default', mode: 'l2', added: 1 };
    const r = threeWayMerge(base, ours, theirs);
    expect(r.clean).toBe(true);
    expect(r.conflicts).toEqual([]);
    expect(JSON.stringify(r.merged)).toBe(
      JSON.stringify({ mode: 'l3vni', vlanNamespace: 'default', ipv4Namespace: 'ns-2', note: 'mine', added: 1 }),
    );
  });

  test('the same field changed to different values is one conflict naming the three values', () => {
    const r = threeWayMerge({ a: { mtu: 1500 } }, { a: { mtu: 9000 } }, { a: { mtu: 9100 } });
    expect(r.clean).toBe(false);
    expect(r.conflicts).toEqual([{ path: '/a/mtu', base: 1500, ours: 9000, theirs: 9100 }]);
    // Unresolved, the merge shows Git's value.
    expect(r.merged).toEqual({ a: { mtu: 9100 } });
  });

  test('the same change on both sides is no conflict (objects compared by value, member order aside)', () => {
    const r = threeWayMerge({ x: 1 }, { x: 2, o: { a: 1, b: [1, { c: 2 }] } }, { o: { b: [1, { c: 2 }], a: 1 }, x: 2 });
    expect(r).toEqual({ merged: { x: 2, o: { a: 1, b: [1, { c: 2 }] } }, conflicts: [], clean: true });
  });

  test('deleted on one side and changed on the other is a conflict; the absent side has no property', () => {
    const r = threeWayMerge({ a: 1, b: { c: 1 } }, { b: { c: 2 } }, { a: 3 });
    expect(r.conflicts).toEqual([
      { path: '/b', base: { c: 1 }, ours: { c: 2 } },
      { path: '/a', base: 1, theirs: 3 },
    ]);
    expect('theirs' in r.conflicts[0]!).toBe(false);
    expect('ours' in r.conflicts[1]!).toBe(false);
    expect(r.merged).toEqual({ a: 3 });
    expect(resolveWith(r, 'ours')).toEqual({ b: { c: 2 } });
  });

  test('deleted on one side and unchanged on the other is deleted; deleted on both is deleted', () => {
    const r = threeWayMerge({ a: 1, b: 2, c: 3 }, { b: 2, c: 3 }, { a: 1, c: 3 });
    expect(r).toEqual({ merged: { c: 3 }, conflicts: [], clean: true });
  });

  test('null is a value: set to null on one side and deleted on the other conflicts', () => {
    const r = threeWayMerge({ a: 1 }, { a: null }, {});
    expect(r.conflicts).toEqual([{ path: '/a', base: 1, ours: null }]);
    expect(threeWayMerge({ a: 1 }, { a: null }, { a: 1 }).merged).toEqual({ a: null });
    expect(threeWayMerge({}, { a: null }, {}).merged).toEqual({ a: null });
  });

  test('a type change on both sides conflicts at that position (scalar vs object, object vs list)', () => {
    const r = threeWayMerge({ a: 'x', b: { c: 1 } }, { a: { v: 1 }, b: [1] }, { a: 'y', b: { c: 2 } });
    expect(r.conflicts.map((c) => c.path)).toEqual(['/a', '/b']);
    expect(resolveWith(r, 'ours')).toEqual({ a: { v: 1 }, b: [1] });
    expect(resolveWith(r, 'theirs')).toEqual({ a: 'y', b: { c: 2 } });
  });

  test('members both sides added without a base merge field by field; the differing ones conflict', () => {
    const r = threeWayMerge(
      {},
      { dhcp: { enable: true, range: { start: '10.0.0.10' } } },
      { dhcp: { enable: true, pxe: 'u' } },
    );
    expect(r.merged).toEqual({ dhcp: { enable: true, range: { start: '10.0.0.10' }, pxe: 'u' } });
    expect(r.clean).toBe(true);
    const r2 = threeWayMerge(undefined, { mtu: 9000, a: 1 }, { mtu: 1500, b: 2 });
    expect(r2.conflicts).toEqual([{ path: '/mtu', ours: 9000, theirs: 1500 }]);
    expect(resolveWith(r2, 'ours')).toEqual({ mtu: 9000, a: 1, b: 2 });
  });

  test('conflict paths escape "~" and "/" (RFC 6901) and unicode passes through', () => {
    const r = threeWayMerge(
      { 'a/b': { 'c~d': 1, 'ü ✓': 0 } },
      { 'a/b': { 'c~d': 2, 'ü ✓': 1 } },
      { 'a/b': { 'c~d': 3, 'ü ✓': 1 } },
    );
    expect(r.conflicts.map((c) => c.path)).toEqual(['/a~1b/c~0d']);
    expect(r.merged).toEqual({ 'a/b': { 'c~d': 3, 'ü ✓': 1 } });
  });

  test('a hostile "__proto__" member is merged as a member and never becomes a prototype', () => {
    const base = JSON.parse('{"__proto__": {"polluted": 1}, "a": 1}') as Record<string, unknown>;
    const ours = JSON.parse('{"__proto__": {"polluted": 2}, "a": 1}') as Record<string, unknown>;
    const theirs = JSON.parse('{"__proto__": {"polluted": 1}, "a": 2}') as Record<string, unknown>;
    const r = threeWayMerge(base, ours, theirs);
    expect(Object.getPrototypeOf(r.merged)).toBe(Object.prototype);
    expect(Object.keys(r.merged)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(r.merged)).toBe('{"__proto__":{"polluted":2},"a":2}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('inputs are not mutated (frozen inputs merge), and the result shares nothing with them', () => {
    const base = deepFreeze({ a: { list: [{ name: 'x', v: 1 }] }, k: 1 });
    const ours = deepFreeze({
      a: {
        list: [
          { name: 'x', v: 2 },
          { name: 'y', v: 1 },
        ],
      },
      k: 1,
    });
    const theirs = deepFreeze({ a: { list: [{ name: 'x', v: 1 }] }, k: 2 });
    const r = threeWayMerge(base, ours, theirs, { listKeys: byName });
    expect(r.merged).toEqual({
      a: {
        list: [
          { name: 'x', v: 2 },
          { name: 'y', v: 1 },
        ],
      },
      k: 2,
    });
    const mergedList = (r.merged.a as { list: unknown[] }).list;
    expect(mergedList).not.toBe(ours.a.list);
    expect(mergedList[0]).not.toBe(ours.a.list[0]);
    expect(Object.isFrozen(r.merged)).toBe(false);
  });

  test('a side that is not an object is refused with a one-line message naming the side', () => {
    const merge = threeWayMerge as (b: unknown, o: unknown, t: unknown) => MergeResult;
    expect(() => merge({}, null, {})).toThrow(/^threeWayMerge: ours must be an object \(a spec\), got null$/);
    expect(() => merge({}, {}, [])).toThrow(/^threeWayMerge: theirs must be an object \(a spec\), got an array$/);
    expect(() => merge('x', {}, {})).toThrow(/^threeWayMerge: base must be an object \(a spec\), got a string$/);
    expect(merge(undefined, {}, {}).clean).toBe(true);
  });

  test('deterministic: the same inputs give the same result, text for text', () => {
    const args = [
      { a: [1], b: { c: 1 } },
      { a: [2], b: { c: 2 }, d: 1 },
      { a: [3], b: { c: 3 }, e: 1 },
    ] as const;
    expect(JSON.stringify(threeWayMerge(...args))).toBe(JSON.stringify(threeWayMerge(...args)));
  });
});

describe('threeWayMerge: lists', () => {
  test('an unkeyed list changed differently on both sides is one conflict at the list path', () => {
    const r = threeWayMerge({ roles: ['a'] }, { roles: ['a', 'b'] }, { roles: ['a', 'c'] });
    expect(r.conflicts).toEqual([{ path: '/roles', base: ['a'], ours: ['a', 'b'], theirs: ['a', 'c'] }]);
  });

  test('an unkeyed list changed on one side only takes that side', () => {
    expect(threeWayMerge({ l: [1, 2] }, { l: [2, 1] }, { l: [1, 2], x: 1 }).merged).toEqual({ l: [2, 1], x: 1 });
    expect(threeWayMerge({ l: [1, 2] }, { l: [1, 2] }, { l: [] }).merged).toEqual({ l: [] });
  });

  const link = (server: string, sw: string, extra: Record<string, unknown> = {}) => ({
    server: { port: server },
    switch: { port: sw },
    ...extra,
  });
  const connection = (links: unknown[]) => ({ bundled: { links } });
  const connectionKeys = listKeysFor('Connection');

  test('keyed list: elements added on both sides are kept (theirs’ order, then ours’ additions)', () => {
    const base = connection([link('s1/e1', 'l1/E1/1')]);
    const ours = connection([link('s1/e1', 'l1/E1/1'), link('s1/e2', 'l1/E1/2'), link('s1/e3', 'l1/E1/3')]);
    const theirs = connection([link('s1/e9', 'l1/E1/9'), link('s1/e1', 'l1/E1/1')]);
    const r = threeWayMerge(base, ours, theirs, { listKeys: connectionKeys });
    expect(r.clean).toBe(true);
    expect(r.merged).toEqual(
      connection([
        link('s1/e9', 'l1/E1/9'),
        link('s1/e1', 'l1/E1/1'),
        link('s1/e2', 'l1/E1/2'),
        link('s1/e3', 'l1/E1/3'),
      ]),
    );
  });

  test('keyed list: removed on one side and unchanged on the other is removed', () => {
    const base = connection([link('a', '1'), link('b', '2'), link('c', '3')]);
    const ours = connection([link('a', '1'), link('c', '3')]);
    const theirs = connection([link('a', '1'), link('b', '2'), link('c', '3'), link('d', '4')]);
    const r = threeWayMerge(base, ours, theirs, { listKeys: connectionKeys });
    expect(r.merged).toEqual(connection([link('a', '1'), link('c', '3'), link('d', '4')]));
    expect(r.clean).toBe(true);
  });

  test('keyed element changed on both sides in different fields merges inside the element', () => {
    const fabric = (links: unknown[]) => ({ fabric: { links } });
    const l = (ip1: string, ip2: string) => ({
      spine: { port: 's1/E1/1', ip: ip1 },
      leaf: { port: 'l1/E1/1', ip: ip2 },
    });
    const base = fabric([{ spine: { port: 's0/E1/1' }, leaf: { port: 'l0/E1/1' } }, l('1', '2')]);
    const ours = fabric([{ spine: { port: 's0/E1/1' }, leaf: { port: 'l0/E1/1' } }, l('10', '2')]);
    const theirs = fabric([l('1', '20'), { spine: { port: 's0/E1/1' }, leaf: { port: 'l0/E1/1' } }]);
    const r = threeWayMerge(base, ours, theirs, { listKeys: connectionKeys });
    expect(r.clean).toBe(true);
    expect(r.merged).toEqual(fabric([l('10', '20'), { spine: { port: 's0/E1/1' }, leaf: { port: 'l0/E1/1' } }]));
  });

  test('keyed element changed on both sides in the same field conflicts, naming the element by index in theirs and key', () => {
    const base = connection([link('a', '1', { mtu: 1 }), link('b', '2', { mtu: 1 })]);
    const ours = connection([link('a', '1', { mtu: 1 }), link('b', '2', { mtu: 2 })]);
    const theirs = connection([link('z', '9'), link('b', '2', { mtu: 3 }), link('a', '1', { mtu: 1 })]);
    const r = threeWayMerge(base, ours, theirs, { listKeys: connectionKeys });
    expect(r.conflicts).toEqual([
      { path: '/bundled/links/1/mtu', base: 1, ours: 2, theirs: 3, key: { 'server.port': 'b', 'switch.port': '2' } },
    ]);
    expect(resolveWith(r, 'ours')).toEqual(
      connection([link('z', '9'), link('b', '2', { mtu: 2 }), link('a', '1', { mtu: 1 })]),
    );
  });

  test('keyed element removed by theirs and changed by ours: conflict at ours’ index, merged drops it', () => {
    const base = connection([link('a', '1'), link('b', '2', { mtu: 1 })]);
    const ours = connection([link('a', '1'), link('b', '2', { mtu: 2 })]);
    const theirs = connection([link('a', '1')]);
    const r = threeWayMerge(base, ours, theirs, { listKeys: connectionKeys });
    expect(r.conflicts).toEqual([
      {
        path: '/bundled/links/1',
        base: link('b', '2', { mtu: 1 }),
        ours: link('b', '2', { mtu: 2 }),
        key: { 'server.port': 'b', 'switch.port': '2' },
      },
    ]);
    expect(r.merged).toEqual(connection([link('a', '1')]));
    expect(resolveWith(r, 'ours')).toEqual(ours);
  });

  test('nested keyed lists (ServerProfile nics[].ports[]) merge by key at both levels; the key is the innermost', () => {
    const keys = listKeysFor('ServerProfile');
    const base = { nics: [{ name: 'nic0', ports: [{ name: 'p0' }] }] };
    const ours = { nics: [{ name: 'nic0', ports: [{ name: 'p0', speed: 1 }, { name: 'p1' }] }] };
    const theirs = {
      nics: [
        { name: 'nic1', ports: [] },
        { name: 'nic0', ports: [{ name: 'p0', speed: 2 }] },
      ],
    };
    const r = threeWayMerge(base, ours, theirs, { listKeys: keys });
    expect(r.conflicts).toEqual([{ path: '/nics/1/ports/0/speed', ours: 1, theirs: 2, key: { name: 'p0' } }]);
    expect(resolveWith(r, 'ours')).toEqual({
      nics: [
        { name: 'nic1', ports: [] },
        { name: 'nic0', ports: [{ name: 'p0', speed: 1 }, { name: 'p1' }] },
      ],
    });
  });

  test('a keyed list with an element lacking its key, or a repeated key, is compared as a whole', () => {
    const missing = threeWayMerge(
      { l: [{ name: 'a' }] },
      { l: [{ name: 'a' }, { v: 1 }] },
      { l: [{ name: 'a' }, { name: 'b' }] },
      {
        listKeys: byName,
      },
    );
    expect(missing.conflicts.map((c) => c.path)).toEqual(['/l']);
    const repeated = threeWayMerge(
      { l: [{ name: 'a' }] },
      { l: [{ name: 'a' }, { name: 'a', v: 1 }] },
      { l: [{ name: 'b' }] },
      {
        listKeys: byName,
      },
    );
    expect(repeated.conflicts.map((c) => c.path)).toEqual(['/l']);
    // A key must be a scalar: an object-valued `name` makes the list unkeyable too.
    const objectKey = threeWayMerge(
      { l: [] },
      { l: [{ name: { x: 1 } }] },
      { l: [{ name: 'b' }] },
      { listKeys: byName },
    );
    expect(objectKey.conflicts.map((c) => c.path)).toEqual(['/l']);
  });

  test('keys compare by JSON type: 1 and "1" name different elements', () => {
    const r = threeWayMerge(
      { l: [] },
      { l: [{ name: 1, v: 'o' }] },
      { l: [{ name: '1', v: 't' }] },
      { listKeys: byName },
    );
    expect(r).toEqual({
      merged: {
        l: [
          { name: '1', v: 't' },
          { name: 1, v: 'o' },
        ],
      },
      conflicts: [],
      clean: true,
    });
  });
});

describe('resolveWith', () => {
  test('takes every conflict from one side and keeps the clean merges', () => {
    const r = threeWayMerge({ a: 1, b: 1, c: 1 }, { a: 2, b: 2, c: 1 }, { a: 3, b: 1, c: 3 });
    expect(r.conflicts.map((c) => c.path)).toEqual(['/a']);
    expect(resolveWith(r, 'ours')).toEqual({ a: 2, b: 2, c: 3 });
    expect(resolveWith(r, 'theirs')).toEqual({ a: 3, b: 2, c: 3 });
  });

  test('is not affected by changes to the inputs after the merge, nor by changes to the result', () => {
    const ours = { a: 2 };
    const r = threeWayMerge({ a: 1 }, ours, { a: 3 });
    ours.a = 99;
    r.merged.a = 42;
    expect(resolveWith(r, 'ours')).toEqual({ a: 2 });
  });

  test('refuses a result it did not make, with a one-line reason', () => {
    const forged: MergeResult = { merged: {}, conflicts: [], clean: true };
    expect(() => resolveWith(forged, 'ours')).toThrow(
      /^resolveWith: this MergeResult was not returned by threeWayMerge/,
    );
  });
});

describe('changedPaths', () => {
  test('names the leaves that differ, escaping "~" and "/" (RFC 6901)', () => {
    const before = { 'a/b': { 'c~d': 1, same: 1 }, gone: true, list: [1, 2] };
    const after = { 'a/b': { 'c~d': 2, same: 1 }, list: [1, 3], added: null };
    expect(changedPaths(before, after)).toEqual(['/a~1b/c~0d', '/list', '/added', '/gone']);
  });

  test('keyed lists: element paths by index in after (in before when removed), reordering at the list path', () => {
    const before = { l: [{ name: 'a', v: 1 }, { name: 'b' }, { name: 'c' }] };
    const after = { l: [{ name: 'c' }, { name: 'a', v: 2 }, { name: 'n' }] };
    expect(changedPaths(before, after, { listKeys: byName })).toEqual(['/l', '/l/1/v', '/l/2', '/l/1']);
    expect(
      changedPaths({ l: [{ name: 'a' }, { name: 'b' }] }, { l: [{ name: 'b' }, { name: 'a' }] }, { listKeys: byName }),
    ).toEqual(['/l']);
    expect(changedPaths({ l: [{ name: 'a' }] }, { l: [{ name: 'a' }, { name: 'b' }] }, { listKeys: byName })).toEqual([
      '/l/1',
    ]);
  });

  test('the root is "", and equal values (member order aside) have no changed path', () => {
    expect(changedPaths(1, 2)).toEqual(['']);
    expect(changedPaths({ a: 1, b: [{ c: 1 }] }, { b: [{ c: 1 }], a: 1 })).toEqual([]);
  });
});

// ---- properties -------------------------------------------------------------------------------------------------

// A small alphabet so sides overlap; 'x/y' and 't~' exercise escaping; 'name' makes keyed list elements.
const key = fc.constantFrom('a', 'b', 'name', 'x/y', 't~', 'ü');
const scalar = fc.oneof(
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom('1', 'n1', 'n2', ''),
  fc.boolean(),
  fc.constant(null),
);
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object'), tie('named')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  // Lists of objects with unique names: the keyed path of the merge.
  named: fc.uniqueArray(fc.record({ name: fc.constantFrom('n1', 'n2', 'n3'), v: scalar }), {
    selector: (e) => e.name,
    maxLength: 3,
  }),
}));
const spec = fc.dictionary<unknown>(key, jsonValue, { maxKeys: 5 });
const listKeysChoice = fc.constantFrom<ListKeys | undefined>(undefined, byName);

describe('properties', () => {
  test('merge(b, x, b) = x, merge(b, b, y) = y, merge(b, x, x) = x, all clean, inputs untouched', () => {
    fc.assert(
      fc.property(spec, spec, spec, listKeysChoice, (b, x, y, listKeys) => {
        const snapshot = JSON.stringify([b, x, y]);
        const opts = { listKeys };
        const cases = [
          [threeWayMerge(b, x, b, opts), x],
          [threeWayMerge(b, b, y, opts), y],
          [threeWayMerge(b, x, x, opts), x],
        ] as const;
        for (const [r, expected] of cases) {
          expect(r.conflicts).toEqual([]);
          expect(r.clean).toBe(true);
          expect(JSON.stringify(r.merged)).toBe(JSON.stringify(expected));
        }
        expect(JSON.stringify([b, x, y])).toBe(snapshot);
      }),
    );
  });

  test('edits of disjoint members merge cleanly into both edits', () => {
    fc.assert(
      fc.property(spec, spec, spec, listKeysChoice, (b, x, y, listKeys) => {
        // ours edits the members named in x, theirs those named in y that x does not name.
        const yOnly = Object.fromEntries(Object.entries(y).filter(([k]) => !(k in x)));
        const ours = { ...b, ...x };
        const theirs = { ...b, ...yOnly };
        const r = threeWayMerge(b, ours, theirs, { listKeys });
        expect(r.conflicts).toEqual([]);
        expect(r.merged).toEqual({ ...b, ...x, ...yOnly });
      }),
    );
  });

  test('swapping the sides names the same conflicts, and resolving with ours equals resolving the swap with theirs', () => {
    fc.assert(
      fc.property(spec, spec, spec, (b, x, y) => {
        const r = threeWayMerge(b, x, y);
        const swapped = threeWayMerge(b, y, x);
        expect(swapped.conflicts.map((c) => c.path).sort()).toEqual(r.conflicts.map((c) => c.path).sort());
        expect(resolveWith(r, 'ours')).toEqual(resolveWith(swapped, 'theirs'));
        expect(resolveWith(r, 'theirs')).toEqual(r.merged);
      }),
    );
  });

  test('a conflict’s path is a path both sides changed (changedPaths of each side names it, a prefix or an extension)', () => {
    // Unkeyed only: inside keyed lists the two sides may number one element differently.
    fc.assert(
      fc.property(spec, spec, spec, (b, x, y) => {
        const ours = changedPaths(b, x);
        const theirs = changedPaths(b, y);
        const touches = (paths: string[], p: string) =>
          paths.some((q) => q === p || p.startsWith(`${q}/`) || q.startsWith(`${p}/`));
        for (const c of threeWayMerge(b, x, y).conflicts) {
          expect(touches(ours, c.path)).toBe(true);
          expect(touches(theirs, c.path)).toBe(true);
        }
      }),
    );
  });

  test('changedPaths is empty exactly when the two values are JSON-equal', () => {
    fc.assert(
      fc.property(spec, spec, listKeysChoice, (a, b, listKeys) => {
        const equal = JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
        expect(changedPaths(a, b, { listKeys }).length === 0).toBe(equal);
        expect(changedPaths(a, a, { listKeys })).toEqual([]);
      }),
    );
  });
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, sortKeys(o[k])]),
  );
}
