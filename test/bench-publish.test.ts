/**
 * The pure parts of the write-back benchmark (bench/publish-bench.ts) and its command line: the floor's string
 * edit must make exactly the change the drafts make, or the benchmark would compare two different commits.
 */
import { parse, parseAllDocuments } from 'yaml';
import { manifestFiles, replaceVlans, vlanOf } from '../bench/publish-bench.js';
import { parseBenchOptions } from '../bench/options.js';

interface Vpc {
  metadata: { name: string };
  spec: { subnets: { default: { subnet: string; vlan: number } } };
}
const vpcsOf = (text: string): Vpc[] => parseAllDocuments(text).map((d) => d.toJS() as Vpc);
const vlansOf = (text: string): number[] => vpcsOf(text).map((v) => v.spec.subnets.default.vlan);

test('manifestFiles spreads the VPCs evenly, one comment line per document, unique names and subnets', () => {
  const files = manifestFiles(1000, 20);
  expect(Object.keys(files)).toHaveLength(20);
  const docs = Object.values(files).flatMap(vpcsOf);
  expect(docs).toHaveLength(1000);
  expect(Object.values(files).map((t) => (t.match(/^ {2}# /gm) ?? []).length)).toEqual(Array(20).fill(50));
  expect(new Set(docs.map((d) => d.metadata.name)).size).toBe(1000);
  expect(new Set(docs.map((d) => d.spec.subnets.default.subnet)).size).toBe(1000);
});

test('every round gives every VPC a vlan different from the last round, unique within the round', () => {
  for (const round of [1, 2, 3, 142]) {
    const now = Array.from({ length: 1000 }, (_, i) => vlanOf(i, round, 1000));
    const before = Array.from({ length: 1000 }, (_, i) => vlanOf(i, round - 1, 1000));
    expect(new Set(now).size).toBe(1000);
    expect(now.every((v, i) => v !== before[i] && v >= 1 && v <= 4094)).toBe(true);
  }
});

test("the floor's string edit changes the vlan lines only, to the round's values", () => {
  const [file, text] = Object.entries(manifestFiles(100, 2))[1]!;
  const edited = replaceVlans(text, 1, 100);
  expect(vlansOf(edited)).toEqual(Array.from({ length: 50 }, (_, i) => vlanOf(50 + i, 1, 100)));
  const changed = text.split('\n').filter((line, i) => line !== edited.split('\n')[i]);
  expect(changed).toHaveLength(50);
  expect(changed.every((l) => /^ {6}vlan: \d+$/.test(l))).toBe(true);
  expect(file).toMatch(/^fabric\/vpcs-01\.yaml$/);
  // Round 2 applies on top of round 1, not on the original text.
  expect(vlansOf(replaceVlans(edited, 2, 100))).toEqual(Array.from({ length: 50 }, (_, i) => vlanOf(50 + i, 2, 100)));
});

test('the floor refuses a file whose vlans are not the previous round’s (a wrong edit fails the bench)', () => {
  const text = Object.values(manifestFiles(100, 2))[0]!;
  expect(() => replaceVlans(text, 2, 100)).toThrow(/vlan 1000 is not one of round 1's/);
  expect(parse(text.split('---\n')[0]!)).toMatchObject({ kind: 'VPC', metadata: { name: 'vpc-0000' } });
});

test('--only picks sections; unknown names and an empty list are refused', () => {
  const only = (v: string) => {
    const o = parseBenchOptions(['--db', 'embedded', '--only', v]);
    return { sync: o.sync, drift: o.drift, publish: o.publish };
  };
  expect(only('publish')).toEqual({ sync: false, drift: false, publish: true });
  expect(only('sync, drift')).toEqual({ sync: true, drift: true, publish: false });
  expect(parseBenchOptions(['--db', 'embedded'])).toMatchObject({ sync: true, drift: true, publish: true });
  expect(parseBenchOptions(['--db', 'embedded', '--no-drift', '--only', 'drift,publish']).drift).toBe(false);
  expect(() => only('publish,writeback')).toThrow(/--only wants some of sync, drift, publish/);
  expect(() => only(',')).toThrow(/--only wants/);
});
