/**
 * The resource writer against a real database: rows are batched across plans (a small kind waits for the
 * next kind's rows instead of costing a statement of its own), one statement is in flight at a time,
 * and a failed statement surfaces where the caller waits — never as an unhandled rejection.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import type { EntityManager } from '@mikro-orm/core';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { ACTUAL_COLUMNS, diffAgainstIndex, planActualWriteChunks } from '../src/sync/actual-plan.js';
import type { WritePlan } from '../src/sync/write-plan.js';
import type { DriftContext } from '../src/sync/drift-evaluation.js';
import { ResourceWriter } from '../src/sync/resource-writer.js';
import { query } from '../src/store/sql.js';
import type { ActualObservation } from '../src/observations.js';
import { cliEnv } from './helpers/cli.js';
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.close();
});

const NOW = new Date('2026-11-26T12:00:00Z');
const ctx: DriftContext = { ignore: [], schemaDefaults: () => null, lastActualRead: null, now: NOW };

const obs = (kind: string, name: string): ActualObservation => ({
  kind,
  namespace: 'default',
  name,
  apiVersion: 'wiring.githedgehog.com/v1beta1',
  spec: { description: `${kind} ${name}` },
  status: null,
  labels: {},
  annotations: {},
  uid: `uid-${kind}-${name}`,
  resourceVersion: '1',
});

/** The whole plan for new objects (nothing stored yet). */
function planFor(fabricId: number, objects: ActualObservation[]): WritePlan {
  const [plan] = planActualWriteChunks(fabricId, diffAgainstIndex(objects, new Map()), new Map(), ctx, Infinity);
  return plan!;
}

async function count(em: EntityManager, fabricId: number): Promise<{ rows: number; transitions: number }> {
  const [r] = await query<{ rows: number; transitions: number }>(
    em,
    `SELECT (SELECT count(*) FROM hedgehog_resource WHERE fabric_id = ?)::int AS rows,
            (SELECT count(*) FROM state_transition WHERE fabric_id = ?)::int AS transitions`,
    [fabricId, fabricId],
  );
  return r!;
}

test('rows of several plans share statements; a partial batch waits for more rows or the flush', async () => {
  const fabric = await new FabricRegistry(db.orm.em).create('writer-batches');
  const seen: { rows: number; transitions: number }[] = [];
  const totals = await db.orm.em.fork().transactional(async (em) => {
    const writer = new ResourceWriter(em, ACTUAL_COLUMNS, 'sync_actual', NOW, 3);
    await writer.add(planFor(fabric.id, [obs('Switch', 's1'), obs('Switch', 's2')]));
    await writer.settle();
    seen.push(await count(em, fabric.id)); // 2 rows < 3: still buffered
    await writer.add(
      planFor(fabric.id, [obs('Server', 'a'), obs('Server', 'b'), obs('Server', 'c'), obs('Server', 'd')]),
    );
    await writer.settle();
    seen.push(await count(em, fabric.id)); // 6 rows: two full statements, mixing the kinds
    await writer.add(planFor(fabric.id, [obs('VPC', 'v1')]));
    await writer.settle();
    seen.push(await count(em, fabric.id)); // 1 row buffered
    return writer.flush();
  });
  expect(seen).toEqual([
    { rows: 0, transitions: 0 },
    { rows: 6, transitions: 6 },
    { rows: 6, transitions: 6 },
  ]);
  expect(totals).toEqual({ written: 7, deleted: 0, transitions: 7 });
  const stored = await query<{ kind: string; name: string; resource_state: string }>(
    db.orm.em.fork(),
    `SELECT kind, name, resource_state FROM hedgehog_resource WHERE fabric_id = ? ORDER BY kind, name`,
    [fabric.id],
  );
  expect(stored.map((r) => `${r.kind}/${r.name}:${r.resource_state}`)).toEqual([
    'Server/a:orphaned',
    'Server/b:orphaned',
    'Server/c:orphaned',
    'Server/d:orphaned',
    'Switch/s1:orphaned',
    'Switch/s2:orphaned',
    'VPC/v1:orphaned',
  ]);
});

test('values read back exactly, whether a batch sends a column once (shared) or per row, and across batch shapes', async () => {
  const fabric = await new FabricRegistry(db.orm.em).create('writer-shapes');
  const objects = ['a', 'b', 'c', 'd', 'e'].map((n, i): ActualObservation => ({
    ...obs(i < 3 ? 'Switch' : 'Server', n),
    namespace: i === 4 ? 'other' : 'default',
    labels: i % 2 ? { role: 'leaf' } : {},
    status: i === 0 ? { ready: true } : null,
  }));
  const plan = planFor(fabric.id, objects);
  // A varying timestamp (a re-evaluated row keeps its old stamp) next to shared ones.
  plan.upserts.forEach((row, i) => (row.actual_updated = new Date(NOW.getTime() - i * 60_000)));
  await db.orm.em.fork().transactional(async (em) => {
    const writer = new ResourceWriter(em, ACTUAL_COLUMNS, 'sync_actual', NOW, 2); // batches of 2, 2 and 1 rows
    await writer.add(plan);
    await writer.flush();
  });
  const stored = await query<Record<string, unknown>>(
    db.orm.em.fork(),
    `SELECT ${ACTUAL_COLUMNS.join(', ')} FROM hedgehog_resource WHERE fabric_id = ? ORDER BY name`,
    [fabric.id],
  );
  const timestamps = new Set(['actual_updated', 'last_drift_check', 'last_state_change', 'last_updated', 'first_seen']);
  const normalize = (r: Record<string, unknown>) =>
    Object.fromEntries(
      ACTUAL_COLUMNS.map((c) => [c, timestamps.has(c) ? new Date(r[c] as string).toISOString() : (r[c] ?? null)]),
    );
  expect(stored.map(normalize)).toEqual(plan.upserts.map(normalize));
});

test('a failed statement surfaces from the next call that waits, never as an unhandled rejection', async () => {
  // In a child process of plain Node: Jest keeps the real process's unhandledRejection events from test code.
  // Asynchronous: an embedded database is served by this process's event loop.
  const target = await createEmptyDatabase();
  try {
    const child = await promisify(execFile)(
      process.execPath,
      [resolve('test/helpers/writer-failure-child.mjs'), target.url],
      {
        env: cliEnv(),
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(child.stderr).not.toMatch(/PromiseRejectionHandledWarning|Unhandled/);
    expect(JSON.parse(child.stdout.trim().split('\n').pop()!)).toEqual({
      caught: 'ForeignKeyConstraintViolationException',
      unhandled: [],
    });
  } finally {
    await target.drop();
  }
});

test('a batch size below one is refused', () => {
  expect(() => new ResourceWriter(db.orm.em.fork(), ACTUAL_COLUMNS, 'sync_actual', NOW, 0)).toThrow(
    /batchRows must be at least 1/,
  );
});
