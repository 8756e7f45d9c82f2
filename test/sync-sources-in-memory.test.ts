/**
 * FabricSyncService's sources are behind small interfaces (src/sync/sources.ts): a sync driven by an in-memory
 * ActualSource and DesiredSource — no API server, no Git — lands in the ledger and computes drift like any other.
 */
import 'reflect-metadata';
import type { MikroORM } from '@mikro-orm/postgresql';
import { HedgehogResource } from '../src/entities/index.js';
import { FabricRegistry } from '../src/fabrics/fabric-registry.js';
import { FABRIC_KINDS, type KindInfo } from '../src/kube/catalog.js';
import type { DesiredReadResult } from '../src/gitops/desired-state-reader.js';
import type { ActualObservation, DesiredObservation } from '../src/observations.js';
import { FabricSyncService } from '../src/sync/fabric-sync-service.js';
import type { ActualSource, DesiredSource } from '../src/sync/sources.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

let db: TestDatabase;
let orm: MikroORM;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = db.orm;
});
// Declared as set, but unset here when the setup that assigns it failed or never ran.
afterAll(async () => (db as TestDatabase | undefined)?.close());

const VPC = FABRIC_KINDS.find((k) => k.kind === 'VPC')!;

const actualVpc = (name: string, vlan: number): ActualObservation => ({
  kind: 'VPC',
  namespace: 'default',
  name,
  apiVersion: VPC.apiVersion,
  spec: { subnets: { default: { subnet: '10.0.1.0/24', vlan } } },
  status: null,
  labels: {},
  annotations: {},
  uid: `uid-${name}`,
  resourceVersion: '1',
});

const desiredVpc = (name: string, vlan: number): DesiredObservation => ({
  kind: 'VPC',
  namespace: 'default',
  name,
  apiVersion: VPC.apiVersion,
  spec: { subnets: { default: { subnet: '10.0.1.0/24', vlan } } },
  labels: {},
  annotations: {},
  filePath: `vpcs/${name}.yaml`,
  line: 1,
  fileHash: 'f'.repeat(64),
});

/** A cluster serving only VPCs, with the given objects; it never asks for a KubeConfig. */
function memoryCluster(objects: ActualObservation[]): ActualSource {
  return {
    discover(kinds: readonly KindInfo[]) {
      const served = kinds.filter((k) => k.kind === 'VPC');
      return Promise.resolve({
        served,
        skipped: kinds.filter((k) => k.kind !== 'VPC').map((k) => ({ kind: k.kind, reason: 'not served' })),
        failed: [],
      });
    },
    listKind(kind: KindInfo) {
      return Promise.resolve({
        kind,
        complete: true,
        observations: objects.filter((o) => o.kind === kind.kind),
        errors: [],
        namespaces: null,
        pages: 1,
        restarts: 0,
      });
    },
    readCrds() {
      return Promise.resolve([]);
    },
  };
}

function memoryGit(commit: string, objects: DesiredObservation[]): DesiredSource {
  return {
    read(): Promise<DesiredReadResult> {
      return Promise.resolve({
        commit,
        ref: 'main',
        observations: objects,
        conflicts: [],
        errors: [],
        otherKinds: {},
        otherKindFiles: {},
        filesRead: objects.length,
        documentsRead: objects.length,
        refused: 0,
      });
    },
  };
}

test('a sync driven by an in-memory ActualSource and DesiredSource fills the ledger and computes drift', async () => {
  // Any Git location will do: the desired source decides what it means.
  const fabric = await new FabricRegistry(orm.em).create('mem', { gitRepository: 'https://git.example.com/mem.git' });
  let kubeConfigAsked = 0;
  const service = new FabricSyncService(orm.em, {
    kubeConfigFor: () => {
      kubeConfigAsked++;
      throw new Error('an in-memory source needs no KubeConfig');
    },
    actualSource: () => memoryCluster([actualVpc('vpc-1', 1001), actualVpc('vpc-2', 1002)]),
    desiredSource: memoryGit('c0ffee', [desiredVpc('vpc-1', 1001), desiredVpc('vpc-2', 2002)]),
  });

  const actual = await service.syncActualState(fabric.name);
  expect(actual.status).toBe('completed');
  expect(actual.counts).toMatchObject({ listed: 2, created: 2 });
  const desired = await service.syncDesiredState(fabric.name);
  expect(desired.status).toBe('completed');
  expect(desired.commit).toBe('c0ffee');
  expect(kubeConfigAsked).toBe(0);

  const rows = await orm.em.fork().find(HedgehogResource, { fabric: fabric.id }, { orderBy: { name: 'asc' } });
  expect(rows.map((r) => [r.name, r.driftStatus])).toEqual([
    ['vpc-1', 'in_sync'],
    ['vpc-2', 'spec_drift'],
  ]);
  const report = await service.driftReport(fabric.name);
  expect(report.resources.map((r) => r.name)).toEqual(['vpc-2']);
});
