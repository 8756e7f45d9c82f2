/**
 * The fake API's metadata-only representation, against the real server's semantics ("Receiving resources as
 * metadata only"): PartialObjectMetadataList pages chosen by the Accept header, the same paging and 410s as full
 * lists, 406 when nothing acceptable is offered, and a switch that makes the fake ignore the header.
 */
import { FakeKubeApi } from '../src/testing/index.js';
import { obj, vpcs } from './helpers/kube-objects.js';

const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const WITH_FALLBACK = `${METADATA_ONLY},application/json`;
const VPCS = '/apis/vpc.githedgehog.com/v1beta1/vpcs';

let fake: FakeKubeApi;
afterEach(async () => {
  await (fake as FakeKubeApi | undefined)?.stop();
});

async function startFake(opts: ConstructorParameters<typeof FakeKubeApi>[0] = {}, objects: object[] = []) {
  fake = new FakeKubeApi(opts);
  await fake.start();
  fake.load(objects);
  return fake;
}

async function get(path: string, accept?: string) {
  const res = await fetch(`${fake.url}${path}`, { headers: accept ? { accept } : {} });
  return { status: res.status, contentType: res.headers.get('content-type'), body: (await res.json()) as any };
}

test('a metadata-only list: PartialObjectMetadataList of PartialObjectMetadata items, metadata as stored, no spec', async () => {
  await startFake({}, [...vpcs(3), obj('VPC', 'labelled', 'team-a', { x: 1 }, { metadata: { labels: { a: 'b' } } })]);
  const full = await get(VPCS);
  const meta = await get(VPCS, WITH_FALLBACK);
  expect(meta.status).toBe(200);
  expect(meta.contentType).toBe(METADATA_ONLY);
  expect(meta.body).toMatchObject({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
  expect(meta.body.metadata.resourceVersion).toBe(full.body.metadata.resourceVersion);
  expect(meta.body.items).toHaveLength(4);
  meta.body.items.forEach((item: any, i: number) => {
    expect(Object.keys(item).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(item).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(item.metadata).toEqual(full.body.items[i].metadata);
  });
  expect(meta.body.items.find((i: any) => i.metadata.name === 'labelled').metadata.labels).toEqual({ a: 'b' });
  expect(fake.requests.map((r) => r.representation)).toEqual(['full', 'metadata']);
  expect(fake.requests[1]!.accept).toBe(WITH_FALLBACK);
});

test('paging: limit/continue and remainingItemCount behave as for full lists, from one snapshot', async () => {
  await startFake({}, vpcs(5));
  const seen: string[] = [];
  let cont: string | undefined;
  const first = await get(`${VPCS}?limit=2`, WITH_FALLBACK);
  expect(first.body.metadata.remainingItemCount).toBe(3);
  fake.create(obj('VPC', 'vpc-00001a')); // after the snapshot: not in this list
  let page = first;
  for (;;) {
    expect(page.body.kind).toBe('PartialObjectMetadataList');
    seen.push(...page.body.items.map((i: any) => i.metadata.name));
    cont = page.body.metadata.continue;
    if (!cont) break;
    expect(page.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    page = await get(`${VPCS}?limit=2&continue=${encodeURIComponent(cont)}`, WITH_FALLBACK);
  }
  expect(seen).toEqual(['vpc-00000', 'vpc-00001', 'vpc-00002', 'vpc-00003', 'vpc-00004']);
});

test('an expired continue token is a 410 Expired Status, as for full lists', async () => {
  await startFake({}, vpcs(5));
  const first = await get(`${VPCS}?limit=2`, WITH_FALLBACK);
  fake.expireContinueTokens();
  const r = await get(`${VPCS}?limit=2&continue=${encodeURIComponent(first.body.metadata.continue)}`, WITH_FALLBACK);
  expect(r.status).toBe(410);
  expect(r.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
  expect(typeof r.body.metadata.continue).toBe('string');
});

test('one object: as=PartialObjectMetadata gives its metadata; a list representation falls back to the plain JSON offered', async () => {
  await startFake({}, vpcs(1));
  const path = `/apis/vpc.githedgehog.com/v1beta1/namespaces/default/vpcs/vpc-00000`;
  const meta = await get(path, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
  expect(meta.body).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'vpc-00000' } });
  expect(meta.body.spec).toBeUndefined();
  const fallback = await get(path, WITH_FALLBACK);
  expect(fallback.body).toMatchObject({ kind: 'VPC', spec: { vlan: 1000 } });
});

test('406 Not Acceptable when no offered representation can be served (Table, metadata-only of a GET, YAML)', async () => {
  await startFake({}, vpcs(1));
  for (const [path, accept] of [
    [VPCS, 'application/json;as=Table;g=meta.k8s.io;v=v1'],
    [VPCS, 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v2'],
    ['/apis/vpc.githedgehog.com/v1beta1/namespaces/default/vpcs/vpc-00000', METADATA_ONLY],
    [VPCS, 'application/yaml'],
  ] as const) {
    const r = await get(path, accept);
    expect({ accept, status: r.status, reason: r.body.reason }).toEqual({
      accept,
      status: 406,
      reason: 'NotAcceptable',
    });
  }
  // q=0 refuses a type; the remaining clause wins.
  const r = await get(VPCS, `${METADATA_ONLY};q=0, application/json`);
  expect(r.body.kind).toBe('VPCList');
});

test('ignoreMetadataAccept: the server answers a metadata-only request with the full list (its kind says so)', async () => {
  await startFake({ ignoreMetadataAccept: true }, vpcs(3));
  const r = await get(`${VPCS}?limit=2`, METADATA_ONLY);
  expect(r.status).toBe(200);
  expect(r.contentType).toBe('application/json');
  expect(r.body.kind).toBe('VPCList');
  expect(r.body.items[0]).toMatchObject({ kind: 'VPC', spec: { vlan: 1000 } });
  expect(r.body.metadata.continue).toEqual(expect.any(String));
  expect(fake.requests[0]!.representation).toBe('full');
});
