/**
 * FabricSyncService.syncActualState against the fake Kubernetes API (driven by the real client-node)
 * and a real database (PostgreSQL in CI, PGlite otherwise).
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { HedgehogFabric } from '../src/entities/index.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { FabricRegistry, InvalidFabricSettingsError } from '../src/fabrics/fabric-registry.js';
import { FABRIC_KINDS } from '../src/kube/catalog.js';
import { FakeKubeApi, generateSampleFabric, withServerDefaults } from '../src/testing/index.js';
import { createTestDatabase, withPg, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
let orm: MikroORM;
const apis: FakeKubeApi[] = [];
let fabricSeq = 0;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
afterAll(async () => {
  await Promise.all(apis.map((a) => a.stop()));
  await db.close();
});

async function fakeWith(
  objs: readonly object[],
  opts: ConstructorParameters<typeof FakeKubeApi>[0] = {},
): Promise<FakeKubeApi> {
  const api = new FakeKubeApi(opts);
  api.load(objs);
  await api.start();
  apis.push(api);
  return api;
}

async function newFabric(name = `fab-${++fabricSeq}`): Promise<HedgehogFabric> {
  return new FabricRegistry(orm.em).create(name);
}

function service(
  api: FakeKubeApi,
  opts: { token?: string; pageSize?: number; lockTimeoutMs?: number; writeBatchRows?: number } = {},
) {
  return new FabricSyncService(orm.em, {
    kubeConfigFor: () => api.kubeConfig({ token: opts.token }),
    reader: { baseDelayMs: 5, maxDelayMs: 50, pageSize: opts.pageSize ?? 500 },
    lockTimeoutMs: opts.lockTimeoutMs,
    writeBatchRows: opts.writeBatchRows,
  });
}

async function rows(fabricId: number, where = 'TRUE', params: unknown[] = []): Promise<any[]> {
  return orm.em
    .fork()
    .getConnection()
    .execute(`SELECT * FROM hedgehog_resource WHERE fabric_id = ? AND ${where} ORDER BY kind, namespace, name`, [
      fabricId,
      ...params,
    ]);
}

const small = () => generateSampleFabric({ targetObjects: 120, seed: 7 }).map((o) => withServerDefaults(o));

describe('syncActualState', () => {
  test('first sync writes every object; a no-op re-sync updates nothing', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api);

    const first = await svc.syncActualState(fabric);
    expect(first.status).toBe('completed');
    expect(first.counts).toMatchObject({ listed: objs.length, created: objs.length, updated: 0, failed: 0 });
    const stored = await rows(fabric.id);
    expect(stored).toHaveLength(objs.length);
    const sw = stored.find((r: any) => r.kind === 'Switch');
    const src = api.get('Switch', sw.namespace, sw.name)!;
    expect(sw.actual_uid).toBe(src.metadata.uid);
    expect(sw.actual_resource_version).toBe(src.metadata.resourceVersion);
    expect(sw.actual_spec).toEqual(src.spec);
    // Nothing is declared in Git: every object is actual-only and orphaned.
    expect(new Set(stored.map((r: any) => r.drift_status))).toEqual(new Set(['actual_only']));
    expect(new Set(stored.map((r: any) => r.resource_state))).toEqual(new Set(['orphaned']));

    const updatedBefore = stored.map((r: any) => new Date(r.last_updated).getTime());
    const second = await svc.syncActualState(fabric);
    expect(second.status).toBe('completed');
    expect(second.counts).toMatchObject({
      listed: objs.length,
      created: 0,
      updated: 0,
      unchanged: objs.length,
      cleared: 0,
    });
    const after = await rows(fabric.id);
    expect(after.map((r: any) => new Date(r.last_updated).getTime())).toEqual(updatedBefore);

    // Run records and the fabric's status.
    const runs = await orm.em
      .fork()
      .getConnection()
      .execute(`SELECT * FROM sync_operation WHERE fabric_id = ? ORDER BY id`, [fabric.id]);
    expect(runs.map((r: any) => r.status)).toEqual(['completed', 'completed']);
    expect(runs[0]!.created).toBe(objs.length);
    const f = await orm.em.fork().findOneOrFail(HedgehogFabric, fabric.id);
    expect(f.lastActualSync).toBeInstanceOf(Date);
    expect(f.connectionStatus).toBe('connected');
    expect((f.kindCounts as any).Switch.actual).toBe(objs.filter((o) => o.kind === 'Switch').length);
    // One transition per new row (null → orphaned), none on the no-op run.
    const [{ n }] = await orm.em
      .fork()
      .getConnection()
      .execute<[{ n: number }]>(`SELECT count(*)::int AS n FROM state_transition WHERE fabric_id = ?`, [fabric.id]);
    expect(n).toBe(objs.length);
  });

  test('changed spec, deleted object (swept) and recreated object (new uid)', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api);
    await svc.syncActualState(fabric);

    const vpc = objs.find((o) => o.kind === 'VPC')!;
    const changed = structuredClone(api.get('VPC', vpc.metadata.namespace, vpc.metadata.name)!);
    (changed.spec as any).defaultIsolated = !(changed.spec as any).defaultIsolated;
    api.update(changed);
    const server = objs.find((o) => o.kind === 'Server')!;
    api.delete('Server', server.metadata.namespace, server.metadata.name);
    const conn = objs.find((o) => o.kind === 'Connection')!;
    const oldUid = api.get('Connection', conn.metadata.namespace, conn.metadata.name)!.metadata.uid;
    api.delete('Connection', conn.metadata.namespace, conn.metadata.name);
    api.create(conn);
    const newUid = api.get('Connection', conn.metadata.namespace, conn.metadata.name)!.metadata.uid;
    expect(newUid).not.toBe(oldUid);

    const run = await svc.syncActualState(fabric);
    expect(run.status).toBe('completed');
    expect(run.counts).toMatchObject({ updated: 2, created: 0, cleared: 1, unchanged: objs.length - 3 });
    expect((run.details.recreated as any[]).map((r) => [r.name, r.oldUid, r.newUid])).toEqual([
      [conn.metadata.name, oldUid, newUid],
    ]);

    const [v] = await rows(fabric.id, `kind = 'VPC' AND name = ?`, [vpc.metadata.name]);
    expect(v.actual_spec.defaultIsolated).toBe((changed.spec as any).defaultIsolated);
    // The deleted server was declared nowhere: its row is gone with it.
    expect(await rows(fabric.id, `kind = 'Server' AND name = ?`, [server.metadata.name])).toHaveLength(0);
    const [c] = await rows(fabric.id, `kind = 'Connection' AND name = ?`, [conn.metadata.name]);
    expect(c.actual_uid).toBe(newUid);
  });

  test('tiny write batches (kinds sharing a statement, a kind spread over several) leave the same ledger as the default', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const [tinyFabric, defaultFabric] = [await newFabric(), await newFabric()];
    const tiny = service(api, { writeBatchRows: 7 });
    const normal = service(api);
    // Everything but ids and timestamps, and each object's history.
    const ledger = async (fabricId: number) => ({
      rows: (await rows(fabricId)).map((r: any) => ({
        key: `${r.kind}/${r.namespace}/${r.name}`,
        spec: r.actual_spec,
        status: r.actual_status,
        uid: r.actual_uid,
        rv: r.actual_resource_version,
        labels: r.labels,
        annotations: r.annotations,
        drift: [r.drift_status, r.drift_score, r.drift_severity, r.drift_details],
        state: r.resource_state,
        reason: r.state_change_reason,
      })),
      history: await orm.em
        .fork()
        .getConnection()
        .execute(
          `SELECT r.kind, r.name, t.from_state, t.to_state, t.trigger, t.reason FROM state_transition t JOIN hedgehog_resource r ON r.id = t.resource_id
         WHERE t.fabric_id = ? ORDER BY r.kind, r.name, t.id`,
          [fabricId],
        ),
    });
    const both = async () => {
      const [a, b] = [await tiny.syncActualState(tinyFabric), await normal.syncActualState(defaultFabric)];
      expect(a.status).toBe('completed');
      expect(a.counts).toEqual(b.counts);
      expect(a.details.recreated).toEqual(b.details.recreated);
      const [la, lb] = [await ledger(tinyFabric.id), await ledger(defaultFabric.id)];
      expect(la).toEqual(lb);
      return { run: a, ledger: la };
    };

    const first = await both();
    expect(first.ledger.rows).toHaveLength(objs.length);
    expect(first.ledger.history).toHaveLength(objs.length);

    const vpc = objs.find((o) => o.kind === 'VPC')!;
    const changed = structuredClone(api.get('VPC', vpc.metadata.namespace, vpc.metadata.name)!);
    (changed.spec as any).defaultIsolated = !(changed.spec as any).defaultIsolated;
    api.update(changed);
    for (const server of objs.filter((o) => o.kind === 'Server').slice(0, 9))
      api.delete('Server', server.metadata.namespace, server.metadata.name);
    const conn = objs.find((o) => o.kind === 'Connection')!;
    api.delete('Connection', conn.metadata.namespace, conn.metadata.name);
    api.create(conn);
    const second = await both();
    expect(second.run.counts).toMatchObject({ updated: 2, cleared: 9, created: 0 });
    expect(second.ledger.rows).toHaveLength(objs.length - 9);
  });

  test('a swept object that Git declares keeps its row, with the desired side only', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api);
    await svc.syncActualState(fabric);
    const sw = objs.find((o) => o.kind === 'Switch')!;
    // Declare it in the ledger's desired side directly (the Git reader is tested elsewhere).
    await orm.em
      .fork()
      .getConnection()
      .execute(
        `UPDATE hedgehog_resource SET desired_spec = actual_spec, desired_updated = now() - interval '1 hour' WHERE fabric_id = ? AND kind = 'Switch' AND name = ?`,
        [fabric.id, sw.metadata.name],
      );
    api.delete('Switch', sw.metadata.namespace, sw.metadata.name);
    const run = await svc.syncActualState(fabric);
    expect(run.counts.cleared).toBe(1);
    const [r] = await rows(fabric.id, `kind = 'Switch' AND name = ?`, [sw.metadata.name]);
    expect(r.actual_spec).toBeNull();
    expect(r.actual_uid).toBeNull();
    expect(r.desired_spec).not.toBeNull();
    expect(r.drift_status).toBe('desired_only');
    expect(r.resource_state).toBe('committed');
    const transitions = await orm.em
      .fork()
      .getConnection()
      .execute(`SELECT from_state, to_state, trigger, reason FROM state_transition WHERE resource_id = ? ORDER BY id`, [
        r.id,
      ]);
    expect(transitions.at(-1)).toMatchObject({ from_state: 'orphaned', to_state: 'committed', trigger: 'sync_actual' });
  });

  test('a kind whose list fails is left untouched; the others land; the run is partial', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api);
    await svc.syncActualState(fabric);
    const before = await rows(fabric.id, `kind = 'Server'`);

    // Servers vanish AND the server list fails: no sweep may happen for them.
    for (const o of objs.filter((x) => x.kind === 'Server'))
      api.delete('Server', o.metadata.namespace, o.metadata.name);
    const vpc = objs.find((o) => o.kind === 'VPC')!;
    const changed = structuredClone(api.get('VPC', vpc.metadata.namespace, vpc.metadata.name)!);
    (changed.spec as any).defaultRestricted = !(changed.spec as any).defaultRestricted;
    api.update(changed);
    api.injectFault({ type: 'status', code: 500, match: { plural: 'servers' } });

    const run = await svc.syncActualState(fabric);
    expect(run.status).toBe('partial');
    expect(run.errors.some((e) => e.kind === 'Server' && /list failed/.test(e.reason))).toBe(true);
    expect(await rows(fabric.id, `kind = 'Server'`)).toEqual(before);
    const [v] = await rows(fabric.id, `kind = 'VPC' AND name = ?`, [vpc.metadata.name]);
    expect(v.actual_spec.defaultRestricted).toBe((changed.spec as any).defaultRestricted);
    const [rec] = await orm.em
      .fork()
      .getConnection()
      .execute(`SELECT status, error_message FROM sync_operation WHERE id = ?`, [run.id]);
    expect(rec!.status).toBe('partial');
    expect(rec!.error_message).toMatch(/Server/);
  });

  test('pagination across many pages with a continue token that expires mid-way', async () => {
    const objs = generateSampleFabric({ targetObjects: 1500, seed: 3 });
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api, { pageSize: 50 });
    // Expire every token after the third page of any list, once.
    let pages = 0;
    const origInject = api.requests.length;
    const timer = setInterval(() => {
      const listed = api.requests.slice(origInject).filter((r) => r.query.continue).length;
      if (listed >= 3 && pages === 0) {
        pages = 1;
        api.expireContinueTokens();
      }
    }, 1);
    const run = await svc.syncActualState(fabric);
    clearInterval(timer);
    expect(run.status).toBe('completed');
    expect(run.counts.listed).toBe(objs.length);
    expect(await rows(fabric.id)).toHaveLength(objs.length);
    expect(api.requests.filter((r) => r.status === 410).length).toBeGreaterThanOrEqual(1);
  });

  test('500 and 429 (with Retry-After) are retried, then the run succeeds', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    api.injectFault({ type: 'status', code: 500, times: 2, match: { plural: 'vpcs' } });
    api.injectFault({ type: 'status', code: 429, retryAfterSeconds: 0, times: 1, match: { plural: 'switches' } });
    const run = await service(api).syncActualState(fabric);
    expect(run.status).toBe('completed');
    expect(run.counts.listed).toBe(objs.length);
    expect(api.requests.filter((r) => r.status === 500)).toHaveLength(2);
    expect(api.requests.filter((r) => r.status === 429)).toHaveLength(1);
  });

  test('401 fails the run with a clear message and writes nothing', async () => {
    const api = await fakeWith(small(), { token: 'right-token' });
    const fabric = await newFabric();
    const run = await service(api, { token: 'wrong-token' }).syncActualState(fabric);
    expect(run.status).toBe('failed');
    expect(run.errorMessage).toMatch(/401|credential|unauthori/i);
    expect(run.errorMessage).not.toContain('wrong-token');
    expect(await rows(fabric.id)).toHaveLength(0);
    const f = await orm.em.fork().findOneOrFail(HedgehogFabric, fabric.id);
    expect(f.lastSyncError).toMatch(/401|credential|unauthori/i);
    expect(f.syncStatus).toBe('error');
  });

  test('ten kinds of malformed objects are each reported; every valid one is written', async () => {
    const valid = small();
    const base = valid.find((o) => o.kind === 'VPC')!;
    const bad = (name: string, patch: (o: any) => void) => {
      const o: any = structuredClone(base);
      o.metadata.name = name;
      patch(o);
      return o;
    };
    const huge = 'x'.repeat(2 * 1024 * 1024);
    const malformed = [
      bad('Bad_Upper', () => {}),
      bad('bad..dots', () => {}),
      bad('-leading-dash', () => {}),
      bad('a'.repeat(254), () => {}),
      bad('spec-is-a-string', (o) => (o.spec = 'nope')),
      bad('spec-is-an-array', (o) => (o.spec = [1, 2])),
      bad('too-big', (o) => (o.spec.huge = huge)),
      bad('bad-namespace', (o) => (o.metadata.namespace = 'Not_A_Namespace')),
      bad('name with spaces', () => {}),
      bad('ünïcode', () => {}),
    ];
    const api = await fakeWith([...valid, ...malformed]);
    const fabric = await newFabric();
    const run = await service(api).syncActualState(fabric);
    expect(run.status).toBe('partial');
    expect(run.counts.failed).toBe(malformed.length);
    expect(run.counts.created).toBe(valid.length);
    for (const m of malformed) {
      // Over-long names are shortened (with …) in error entries.
      const e = run.errors.find(
        (x) => x.name === m.metadata.name || (x.name?.endsWith('…') && m.metadata.name.startsWith(x.name.slice(0, -1))),
      );
      if (!e)
        throw new Error(
          `no error for ${m.metadata.name}: ${JSON.stringify(run.errors.map((x) => [x.name, x.reason]))}`,
        );
      expect(e.kind).toBe('VPC');
      expect(e.reason.length).toBeGreaterThan(5);
    }
    expect(await rows(fabric.id)).toHaveLength(valid.length);
    const [rec] = await orm.em
      .fork()
      .getConnection()
      .execute(`SELECT errors FROM sync_operation WHERE id = ?`, [run.id]);
    expect(rec!.errors).toHaveLength(malformed.length);
  });

  test('two concurrent runs on one fabric are serialized and leave no duplicates', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const a = service(api);
    const b = service(api);
    api.injectFault({ type: 'delay', ms: 150, times: 2, match: { plural: 'vpcs' } });
    const [r1, r2] = await Promise.all([a.syncActualState(fabric), b.syncActualState(fabric)]);
    expect([r1.status, r2.status]).toEqual(['completed', 'completed']);
    // One run created everything, the other found it all unchanged.
    expect(r1.counts.created + r2.counts.created).toBe(objs.length);
    expect(r1.counts.unchanged + r2.counts.unchanged).toBe(objs.length);
    const [{ n, d }] = await orm.em
      .fork()
      .getConnection()
      .execute<[{ n: number; d: number }]>(
        `SELECT count(*)::int AS n, count(DISTINCT (kind, namespace, name))::int AS d FROM hedgehog_resource WHERE fabric_id = ?`,
        [fabric.id],
      );
    expect(n).toBe(objs.length);
    expect(d).toBe(objs.length);
  });

  test('a run that cannot get the fabric lock in time reports that another run holds it', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    if (db.embedded) {
      // PGlite is one backend: a second session cannot exist, so there is no other lock holder to wait for.
      expect((await service(api).syncActualState(fabric)).status).toBe('completed');
      return;
    }
    await withPg(db.url, async (c) => {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [0x4848_0001, fabric.id]);
      const run = await service(api, { lockTimeoutMs: 200 }).syncActualState(fabric);
      await c.query('ROLLBACK');
      expect(run.status).toBe('failed');
      expect(run.errorMessage).toMatch(/another sync run holds fabric/);
    });
    expect((await service(api).syncActualState(fabric)).status).toBe('completed');
  });

  test('quotes and SQL in a fabric name and in annotations are stored verbatim', async () => {
    const objs = small();
    const evil = `x'); DROP TABLE hedgehog_resource; --`;
    const sw = objs.find((o) => o.kind === 'Switch')!;
    sw.metadata.annotations = {
      ...(sw.metadata.annotations ?? {}),
      note: evil,
      quote: `"double" and 'single' and \\ backslash ? $1`,
    };
    sw.metadata.labels = { ...(sw.metadata.labels ?? {}), 'sql.example.com/x': 'a--b' };
    const api = await fakeWith(objs);
    const fabric = await newFabric(`o'brien "fabric"; ${evil}`);
    const run = await service(api).syncActualState(fabric);
    expect(run.status).toBe('completed');
    expect(run.fabric).toBe(fabric.name);
    const [r] = await rows(fabric.id, `kind = 'Switch' AND name = ?`, [sw.metadata.name]);
    expect(r.annotations.note).toBe(evil);
    expect(r.annotations.quote).toBe(`"double" and 'single' and \\ backslash ? $1`);
    expect(r.labels['sql.example.com/x']).toBe('a--b');
  });

  test('a kind the cluster does not serve is skipped and named in the run record; its rows stay', async () => {
    const objs = small();
    const full = await fakeWith(objs);
    const fabric = await newFabric();
    await service(full).syncActualState(fabric);
    const servers = await rows(fabric.id, `kind = 'Server'`);
    expect(servers.length).toBeGreaterThan(0);

    const partialApi = await fakeWith(
      objs.filter((o) => o.kind !== 'Server'),
      { kinds: FABRIC_KINDS.filter((k) => k.kind !== 'Server') },
    );
    const run = await service(partialApi).syncActualState(fabric);
    expect(run.status).toBe('completed');
    expect(run.skippedKinds.map((k) => k.kind)).toEqual(['Server']);
    const [rec] = await orm.em
      .fork()
      .getConnection()
      .execute(`SELECT skipped_kinds FROM sync_operation WHERE id = ?`, [run.id]);
    expect(rec!.skipped_kinds[0]).toMatchObject({ kind: 'Server' });
    expect(await rows(fabric.id, `kind = 'Server'`)).toEqual(servers);
  });

  test('runs left in progress by a process that died are closed as failed by the next run', async () => {
    const api = await fakeWith(small());
    const fabric = await newFabric();
    const conn = orm.em.fork().getConnection();
    const [old] = await conn.execute(
      `INSERT INTO sync_operation (fabric_id, type, status, started_at) VALUES (?, 'actual', 'in_progress', now() - interval '2 hours') RETURNING id`,
      [fabric.id],
    );
    const run = await service(api).syncActualState(fabric);
    expect(run.status).toBe('completed');
    const [closed] = await conn.execute(`SELECT status, error_message, finished_at FROM sync_operation WHERE id = ?`, [
      old!.id,
    ]);
    expect(closed!.status).toBe('failed');
    expect(closed!.error_message).toMatch(/abandoned/);
    expect(closed!.finished_at).not.toBeNull();
  });

  test("the fabric's ignore rules hide fields from drift; malformed rules are refused when saved", async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const registry = new FabricRegistry(orm.em);
    await expect(
      registry.create(`bad-rules-${++fabricSeq}`, { ignoreRules: [{ pointer: 'no-slash' }] }),
    ).rejects.toThrow(InvalidFabricSettingsError);
    await expect(
      registry.create(`bad-kind-${++fabricSeq}`, { ignoreRules: [{ kind: 'Nope', pointer: '/spec/x' }] }),
    ).rejects.toThrow(/unknown kind/);

    const fabric = await newFabric();
    const vpc = objs.find((o) => o.kind === 'VPC')!;
    const svc = service(api);
    await svc.syncActualState(fabric);
    // Declare the VPC in the desired side with a different description-like field.
    const conn = orm.em.fork().getConnection();
    await conn.execute(
      `UPDATE hedgehog_resource SET desired_spec = jsonb_set(actual_spec, '{defaultIsolated}', to_jsonb(NOT coalesce((actual_spec->>'defaultIsolated')::boolean, false)))
       WHERE fabric_id = ? AND kind = 'VPC' AND name = ?`,
      [fabric.id, vpc.metadata.name],
    );
    const bump = () => {
      const o = structuredClone(api.get('VPC', vpc.metadata.namespace, vpc.metadata.name)!);
      (o.metadata as any).labels = { ...(o.metadata as any).labels, bump: String(Date.now()) };
      api.update(o);
    };
    bump();
    await svc.syncActualState(fabric);
    let [r] = await rows(fabric.id, `kind = 'VPC' AND name = ?`, [vpc.metadata.name]);
    expect(r.drift_status).toBe('spec_drift');
    expect(r.drift_details.differences.map((d: any) => d.path)).toContain('/spec/defaultIsolated');

    await registry.update(fabric.name, {
      ignoreRules: [{ kind: 'VPC', pointer: '/spec/defaultIsolated' }, { pointer: '/metadata/labels' }],
    });
    bump();
    await service(api).syncActualState(fabric.name);
    [r] = await rows(fabric.id, `kind = 'VPC' AND name = ?`, [vpc.metadata.name]);
    expect(r.drift_status).toBe('in_sync');
  });

  test('typed events: run:start, resource (created/updated/deleted) and run:end', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api);
    const seen: string[] = [];
    const changes: Record<string, number> = {};
    svc.on('run:start', (e) => seen.push(`start:${e.type}:${e.fabric}`));
    svc.on('run:end', (r) => seen.push(`end:${r.type}:${r.status}`));
    const fabrics = new Set<string>();
    svc.on('resource', (e) => {
      changes[e.change] = (changes[e.change] ?? 0) + 1;
      fabrics.add(e.fabric); // asserted below: a listener's throw is caught (the run has committed)
    });
    await svc.syncActualState(fabric);
    expect(changes).toEqual({ created: objs.length });
    expect([...fabrics]).toEqual([fabric.name]);
    const server = objs.find((o) => o.kind === 'Server')!;
    api.delete('Server', server.metadata.namespace, server.metadata.name);
    const vpc = structuredClone(api.list('VPC')[0]!);
    (vpc.metadata as any).labels = { x: 'y' };
    api.update(vpc);
    await svc.syncActualState(fabric);
    expect(changes).toEqual({ created: objs.length, deleted: 1, updated: 1 });
    expect(seen).toEqual([
      `start:actual:${fabric.name}`,
      'end:actual:completed',
      `start:actual:${fabric.name}`,
      'end:actual:completed',
    ]);
  });

  test('a `resource` listener that throws: the committed run stays completed, and every change is still told', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    const svc = service(api);
    const heard: string[] = [];
    svc.on('resource', (e) => {
      heard.push(`${e.kind}/${e.name} ${e.change}`);
      throw new Error('listener fault');
    });
    const r = await svc.syncActualState(fabric);
    expect(r.status).toBe('completed');
    expect(r.counts.created).toBe(objs.length);
    expect(await rows(fabric.id)).toHaveLength(objs.length);
    expect(heard).toHaveLength(objs.length); // the first throw did not stop the rest
    heard.length = 0;
    const [a, b] = api.list('VPC').map((o) => structuredClone(o));
    for (const v of [a!, b!]) {
      (v.metadata as any).labels = { y: 'z' };
      api.update(v);
    }
    const again = await svc.syncActualState(fabric);
    expect(again.status).toBe('completed');
    expect(heard.sort()).toEqual([`VPC/${a!.metadata.name} updated`, `VPC/${b!.metadata.name} updated`].sort());
  });

  test('a cluster that serves no fabric kind, or cannot be reached, fails the run and touches nothing', async () => {
    const objs = small();
    const api = await fakeWith(objs);
    const fabric = await newFabric();
    await service(api).syncActualState(fabric);
    const before = await rows(fabric.id);

    const empty = await fakeWith([], { kinds: [] });
    const none = await service(empty).syncActualState(fabric);
    expect(none.status).toBe('failed');
    expect(none.errorMessage).toMatch(/no fabric kind could be read/);
    let f = await orm.em.fork().findOneOrFail(HedgehogFabric, fabric.id);
    expect(f.connectionStatus).toBe('error');

    const gone = new FakeKubeApi();
    await gone.start();
    const kc = gone.kubeConfig();
    await gone.stop(); // connection refused from now on
    const unreachable = await new FabricSyncService(orm.em, {
      kubeConfigFor: () => kc,
      reader: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 1 },
    }).syncActualState(fabric);
    expect(unreachable.status).toBe('failed');
    expect(await rows(fabric.id)).toEqual(before);
    f = await orm.em.fork().findOneOrFail(HedgehogFabric, fabric.id);
    expect(f.syncStatus).toBe('error');
    expect(f.lastSyncError).toBeTruthy();
  });
});
