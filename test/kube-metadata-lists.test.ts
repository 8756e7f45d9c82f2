/**
 * ClusterReader's metadata-only lists and single GETs, against the fake API through the real client-node: the
 * Accept header really sent, the fallback on a server that ignores it (by the returned kind, no second request),
 * paging, 410 restarts, RBAC, and every outcome of a GET.
 */
import { FakeKubeApi } from '../src/testing/fake-kube-api.js';
import { kindInfo } from '../src/kube/catalog.js';
import { ClusterReader, METADATA_LIST_ACCEPT, type ClusterReaderOptions } from '../src/kube/cluster-reader.js';
import { names, obj, vpcs } from './helpers/kube-objects.js';

const VPC = kindInfo('VPC')!;
const FAST: ClusterReaderOptions = { baseDelayMs: 5, maxDelayMs: 20, maxRetries: 2, requestTimeoutMs: 5000 };

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

const reader = (opts: ClusterReaderOptions = {}, token?: string) =>
  new ClusterReader(fake.kubeConfig({ token }), { ...FAST, ...opts });
const vpcLists = () => fake.requests.filter((r) => r.path.endsWith('/vpcs'));

describe('listKindMetadata', () => {
  test("every object's uid and resourceVersion, no spec read; the metadata-only Accept header sent on every page", async () => {
    await startFake({}, vpcs(7));
    const r = await reader({ metadataPageSize: 3 }).listKindMetadata(VPC);
    expect(r).toMatchObject({ complete: true, pages: 3, fullPages: 0, scannedPages: 3, restarts: 0, observations: [] });
    expect(r.errors).toEqual([]);
    expect(r.stamps).toEqual(
      fake.list('VPC').map((o) => ({
        kind: 'VPC',
        namespace: o.metadata.namespace,
        name: o.metadata.name,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
      })),
    );
    expect(r.resourceVersion).toBe(fake.resourceVersion);
    expect(vpcLists().map((q) => [q.accept, q.representation])).toEqual(
      Array.from({ length: 3 }, () => [METADATA_LIST_ACCEPT, 'metadata']),
    );
  });

  test('a server that ignores the header: its full pages are kept as validated observations, with no second request', async () => {
    await startFake({ ignoreMetadataAccept: true }, [...vpcs(5), obj('VPC', 'Bad_Name')]);
    const r = await reader({ metadataPageSize: 2 }).listKindMetadata(VPC);
    expect(r).toMatchObject({ complete: true, pages: 3, fullPages: 3, scannedPages: 0, stamps: [] });
    expect(names(r.observations)).toEqual(names(vpcs(5).map((v) => v.metadata)));
    expect(r.observations[0]!.spec).toEqual({ vlan: 1000 });
    expect(r.errors).toHaveLength(1); // the invalid object, refused as from any full list
    expect(r.errors[0]).toMatchObject({ kind: 'VPC', name: 'Bad_Name' });
    expect(vpcLists()).toHaveLength(3);
    expect(vpcLists().every((q) => q.representation === 'full' && q.accept === METADATA_LIST_ACCEPT)).toBe(true);
  });

  test('labels and annotations holding escapes, quotes, non-ASCII, \\u0000 and lone surrogates: the pages are still scanned, the stamps exact', async () => {
    const odd = 'é "q" \\ \u0000 \ud800 \u2028 😀';
    const objects = vpcs(4).map((v, i) => ({
      ...v,
      metadata: { ...v.metadata, labels: { [`k${i}`]: odd }, annotations: { [odd]: odd } },
    }));
    await startFake({}, objects);
    const r = await reader({ metadataPageSize: 3 }).listKindMetadata(VPC);
    expect(r).toMatchObject({ complete: true, pages: 2, scannedPages: 2, errors: [] });
    expect(r.stamps.map((s) => [s.name, s.uid, s.resourceVersion])).toEqual(
      fake.list('VPC').map((o) => [o.metadata.name, o.metadata.uid, o.metadata.resourceVersion]),
    );
  });

  test('a page the scanner cannot read (malformed) falls back to parsing it: refused and retried as before, then read', async () => {
    await startFake({}, vpcs(5));
    fake.injectFault({ type: 'malformed', times: 1, match: { kind: 'VPC' } });
    const retries: string[] = [];
    const r = await reader({ metadataPageSize: 2, onRetry: (i) => retries.push(i.error) }).listKindMetadata(VPC);
    expect(retries).toHaveLength(1);
    expect(r).toMatchObject({ complete: true, pages: 3, scannedPages: 3 });
    expect(names(r.stamps)).toEqual(names(vpcs(5).map((v) => v.metadata)));
  });

  test('a continue token expiring mid-list restarts the kind: complete, none missing, none twice', async () => {
    await startFake({}, vpcs(9));
    let pagesSeen = 0;
    const r = await reader({
      metadataPageSize: 3,
      onPage: () => {
        if (++pagesSeen === 2) fake.expireContinueTokens();
      },
    }).listKindMetadata(VPC);
    expect(r.complete).toBe(true);
    expect(r.restarts).toBe(1);
    expect(names(r.stamps)).toEqual(names(vpcs(9).map((v) => v.metadata)));
  });

  test('403 fails the kind only, naming the grant; a 503 is retried', async () => {
    await startFake({}, vpcs(2));
    fake.injectFault({ type: 'status', code: 503, times: 1, match: { kind: 'VPC' } });
    expect((await reader().listKindMetadata(VPC)).complete).toBe(true);
    fake.injectFault({ type: 'status', code: 403, match: { kind: 'VPC' } });
    const r = await reader().listKindMetadata(VPC);
    expect(r).toMatchObject({ complete: false, stamps: [], observations: [] });
    expect(r.failure).toMatch(/forbidden: cannot list vpcs\.vpc\.githedgehog\.com .*grant "list"/);
  });

  test('an item without a usable name is refused; one without uid/resourceVersion becomes a stamp that matches nothing', async () => {
    // The fake stamps every object; a metadata item with odd fields is checked through the validator directly.
    const { toObjectStamp } = await import('../src/kube/object-validation.js');
    expect(toObjectStamp({ metadata: { name: 'Bad Name', namespace: 'default' } }, VPC)).toMatchObject({
      ok: false,
      error: { kind: 'VPC', reason: expect.stringMatching(/metadata\.name/) },
    });
    expect(toObjectStamp({ metadata: { name: 'a', namespace: 'default' } }, VPC)).toEqual({
      ok: true,
      value: { kind: 'VPC', namespace: 'default', name: 'a', uid: '', resourceVersion: '' },
    });
    expect(toObjectStamp('x', VPC)).toMatchObject({ ok: false, error: { reason: /item is/ } });
  });
});

describe('getObject', () => {
  test('read: the current version, validated', async () => {
    await startFake({}, vpcs(1));
    const r = await reader().getObject(VPC, 'default', 'vpc-00000');
    expect(r).toMatchObject({ outcome: 'read', observation: { name: 'vpc-00000', spec: { vlan: 1000 } } });
  });

  test('gone: a 404 naming the object (deleted since it was listed)', async () => {
    await startFake({}, vpcs(1));
    expect(await reader().getObject(VPC, 'default', 'vpc-99999')).toEqual({ outcome: 'gone' });
  });

  test('a 404 of the whole resource (no object named) is not taken for a deletion', async () => {
    await startFake({}, vpcs(1));
    fake.injectFault({ type: 'status', code: 404, match: { kind: 'VPC' } });
    const r = await reader().getObject(VPC, 'default', 'vpc-00000');
    expect(r).toMatchObject({ outcome: 'refused', error: { kind: 'VPC', namespace: 'default', name: 'vpc-00000' } });
  });

  test('403 refuses that object, naming the grant; 500 beyond the retries refuses it; 401 throws', async () => {
    await startFake({ token: 't' }, vpcs(1));
    fake.injectFault({ type: 'status', code: 403, times: 1, match: { kind: 'VPC' } });
    const forbidden = await reader({}, 't').getObject(VPC, 'default', 'vpc-00000');
    expect(forbidden).toMatchObject({ outcome: 'refused', error: { reason: expect.stringMatching(/grant "get"/) } });
    fake.injectFault({ type: 'status', code: 500, times: 3, match: { kind: 'VPC' } });
    const failed = await reader({}, 't').getObject(VPC, 'default', 'vpc-00000');
    expect(failed).toMatchObject({
      outcome: 'refused',
      error: { reason: expect.stringMatching(/after 3 attempts.*500/) },
    });
    await expect(reader({}, 'wrong').getObject(VPC, 'default', 'vpc-00000')).rejects.toThrow(/401/);
  });

  test('an invalid object read by GET is refused with the validator’s reason', async () => {
    await startFake({}, [obj('VPC', 'v', 'default', 'not-an-object')]);
    const r = await reader().getObject(VPC, 'default', 'v');
    expect(r).toMatchObject({
      outcome: 'refused',
      error: { kind: 'VPC', name: 'v', reason: expect.stringMatching(/spec/) },
    });
  });
});
