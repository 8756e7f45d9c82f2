/** openLedger: the facade a Node service uses — database, fabrics, sync, drift report, doctor, close. */
import 'reflect-metadata';
import { openLedger } from '../src/index.js';
import { FakeKubeApi, demoClusterFabric } from '../src/testing/index.js';
import { createEmptyDatabase } from './helpers/database.js';

test('openLedger migrates, manages fabrics, syncs through a kubeconfig override, reports drift, and closes', async () => {
  const db = await createEmptyDatabase();
  const api = new FakeKubeApi();
  api.load(demoClusterFabric());
  await api.start();
  const logs: string[] = [];
  const text = (o: object | string, m?: string) => m ?? (typeof o === 'string' ? o : JSON.stringify(o));
  const logger = {
    debug: (o: object | string, m?: string) => logs.push(`debug ${text(o, m)}`),
    info: (o: object | string, m?: string) => logs.push(`info ${m ?? JSON.stringify(o)}`),
    warn: (o: object | string, m?: string) => logs.push(`warn ${text(o, m)}`),
    error: (o: object | string, m?: string) => logs.push(`error ${text(o, m)}`),
  };
  const ledger = await openLedger({ databaseUrl: db.url, logger, kubeConfigFor: () => api.kubeConfig() });
  try {
    expect(ledger.location).not.toMatch(/password/);
    await ledger.fabrics.create('lab', { description: 'lab fabric', namespaces: ['default'] });
    expect((await ledger.fabrics.list()).map((f) => f.name)).toEqual(['lab']);
    await expect(ledger.fabrics.create('lab')).rejects.toThrow(/already exists/);

    const run = await ledger.sync.syncActualState('lab');
    expect(run.status).toBe('completed');
    expect(run.counts.created).toBe(demoClusterFabric().length);
    expect(logs.some((l) => l.startsWith('info sync run finished'))).toBe(true);

    const report = await ledger.driftReport('lab', { status: ['actual_only'] });
    expect(report.summary.byStatus.actual_only).toBe(demoClusterFabric().length);
    expect(report.resources).toHaveLength(demoClusterFabric().length);

    expect((await ledger.doctor()).healthy).toBe(true);
    expect(await ledger.fabrics.update('lab', { syncIntervalSeconds: 60 })).not.toBeNull();
    expect(await ledger.fabrics.remove('lab')).toBe(true);
    const [{ n }] = await ledger.em.fork().getConnection().execute('SELECT count(*)::int AS n FROM hedgehog_resource');
    expect(n).toBe(0); // the fabric's rows went with it
  } finally {
    await ledger.close();
    await api.stop();
    await db.drop();
  }
});
