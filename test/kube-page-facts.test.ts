/**
 * pageFacts: what the text of a list page proves about its items, so the reader need not serialize each item again to
 * check its size and storability. The facts must never let through what the per-item check refuses: an item over
 * the size limit (numbers written with an exponent grow when serialized again) or a string PostgreSQL cannot store
 * (NUL, lone surrogates, escaped in either case of hex digits).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { kindInfo } from '../src/kube/catalog.js';
import { ClusterReader } from '../src/kube/cluster-reader.js';
import { pageFacts, toActualObservation } from '../src/kube/object-validation.js';
import { findUnstorableString } from '../src/json-safety.js';
import { obj, vpcs } from './helpers/kube-objects.js';

const VPC = kindInfo('VPC')!;
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** `text` with every non-ASCII character (and some ASCII ones) written as a \\u escape, upper-case hex. */
function escapedUpper(text: string): string {
  return text.replace(/[^\x20-\x7e]|[/]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

describe('pageFacts', () => {
  test('a plain page bounds every item by its own size and finds nothing unstorable', () => {
    const text = JSON.stringify({ items: vpcs(3) });
    expect(pageFacts(text)).toEqual({ maxItemBytes: bytes(text), storable: true });
  });

  test.each([
    ['a number with an exponent', '{"items":[{"spec":{"n":1e20}}]}'],
    ['an upper-case exponent after a space', '{"items":[{"spec":{"n": [ -2.5E3]}}]}'],
    ['a string that merely looks like one (conservative)', '{"items":[{"spec":{"s":"x:1e5"}}]}'],
  ])('%s: no size bound', (_label, text) => {
    expect(pageFacts(text).maxItemBytes).toBe(Number.POSITIVE_INFINITY);
  });

  test.each([
    ['a NUL', '{"s":"a\\u0000b"}'],
    ['a lone surrogate in lower-case hex', '{"s":"\\ud800"}'],
    ['a lone surrogate in upper-case hex', '{"s":"\\uDC00"}'],
    ['an escaped surrogate pair (checked per item, though storable)', '{"s":"\\uD83D\\uDE00"}'],
  ])('%s: not settled as storable', (_label, text) => {
    expect(pageFacts(text).storable).toBe(false);
  });

  test('the facts never understate: an item serialized again is within the bound, and a storable page holds no unstorable string', () => {
    const page = fc.array(fc.jsonValue(), { maxLength: 5 }).chain((items) =>
      fc
        .constantFrom(
          (v: unknown) => JSON.stringify(v),
          (v: unknown) => JSON.stringify(v, null, 2),
          (v: unknown) => escapedUpper(JSON.stringify(v)),
        )
        .map((print) => ({ items, text: print({ items }) })),
    );
    fc.assert(
      fc.property(page, ({ text }) => {
        const facts = pageFacts(text);
        const parsed = (JSON.parse(text) as { items: unknown[] }).items;
        for (const item of parsed) {
          expect(bytes(JSON.stringify(item))).toBeLessThanOrEqual(facts.maxItemBytes);
          if (facts.storable) expect(findUnstorableString(item, 'item')).toBeNull();
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('toActualObservation with the facts of its page', () => {
  const vpc = (spec: unknown) => ({
    ...obj('VPC', 'vpc-1', 'default', spec),
    metadata: { name: 'vpc-1', namespace: 'default', uid: 'u-1', resourceVersion: '1' },
  });

  test('settled facts accept the item without serializing it; facts over the limit leave the per-item check', () => {
    const item = vpc({ vlan: 1000 });
    const text = JSON.stringify({ items: [item] });
    expect(toActualObservation(item, VPC, { page: pageFacts(text) }).ok).toBe(true);
    const big = vpc({ blob: 'x'.repeat(500) });
    const r = toActualObservation(big, VPC, { maxObjectBytes: 400, page: { maxItemBytes: 10_000, storable: true } });
    expect(r.ok).toBe(false);
  });

  test('through a real list: an item that grows past the limit when serialized again (exponents) is refused', async () => {
    // "1e20" is 4 characters on the wire and 21 once parsed and serialized: the page is small, the item is not.
    const item = (name: string, spec: string) =>
      `{"apiVersion":"${VPC.apiVersion}","kind":"VPC","metadata":{"name":"${name}","namespace":"default",` +
      `"uid":"u-${name}","resourceVersion":"1"},"spec":${spec}}`;
    const wire = Array.from({ length: 40 }, () => '1e20').join(',');
    const text =
      `{"kind":"VPCList","apiVersion":"${VPC.apiVersion}","metadata":{"resourceVersion":"1"},` +
      `"items":[${item('grows', `{"n":[${wire}]}`)},${item('small', '{"n":[1,2]}')}]}`;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'u' }],
        contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
        currentContext: 'ctx',
      });
      expect(bytes(text)).toBeLessThan(700);
      const list = await new ClusterReader(kc, { maxObjectBytes: 700 }).listKind(VPC);
      expect(list.complete).toBe(true);
      expect(list.observations.map((o) => o.name)).toEqual(['small']);
      expect(list.errors).toEqual([
        expect.objectContaining({ name: 'grows', reason: expect.stringMatching(/bytes/) as unknown }),
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
