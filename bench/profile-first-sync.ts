/**
 * `node --cpu-prof dist/bench/profile-first-sync.js [objects] [runs]`: first actual syncs only (no floor, no naive
 * path), against the fake API in another process, so a CPU profile shows the first sync and nothing else. The
 * database: DATABASE_URL when set, else the embedded PGlite. Prints each run's phase timings.
 */
import 'reflect-metadata';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import { openBenchDatabase } from './bench-database.js';
import { startFakeCluster } from './fake-cluster.js';
import { timed } from './stats.js';

const objects = Number(process.argv[2] ?? 10_000);
const runs = Number(process.argv[3] ?? 5);
const db = await openBenchDatabase(process.env.DATABASE_URL ?? null);
const cluster = await startFakeCluster({ objects, seed: 42 });
try {
  const kc = cluster.kubeConfig();
  const svc = new FabricSyncService(db.orm.em, { kubeConfigFor: () => kc });
  for (let i = 0; i < runs + 1; i++) {
    const fabric = await new FabricRegistry(db.orm.em).create(`profile-${i}`, {});
    const { ms, value: report } = await timed(() => svc.syncActualState(fabric));
    console.log(
      `${i === 0 ? 'warm-up' : `run ${i}`}: ${ms.toFixed(1)} ms, ${report.status}, ${JSON.stringify(report.details.timingsMs)}`,
    );
  }
} finally {
  await cluster.stop();
  await db.close();
}
