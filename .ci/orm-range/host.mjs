// A host application with its own MikroORM (whatever version its package.json picked): it opens the ORM
// itself with our entities and MIGRATIONS, migrates a fresh database, runs a desired and an actual sync
// against the fake Kubernetes API from hedgehog-fabric-sync/testing, and checks the ledger.
// Exits non-zero on any mismatch. Needs DATABASE_URL (a server where it may create a database).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import {
  ALL_ENTITIES,
  FabricRegistry,
  FabricSyncService,
  HedgehogFabric,
  HedgehogResource,
  MIGRATIONS,
} from 'hedgehog-fabric-sync';
import { FakeKubeApi, createGitRepo, generateSampleFabric, withServerDefaults } from 'hedgehog-fabric-sync/testing';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('DATABASE_URL is not set');

/** The one @mikro-orm/core in this project: the host's. Two copies are what broke hosts before. */
function coreVersions() {
  const require = createRequire(import.meta.url);
  const fromHost = require.resolve('@mikro-orm/core/package.json');
  const fromPackage = createRequire(require.resolve('hedgehog-fabric-sync/package.json')).resolve(
    '@mikro-orm/core/package.json',
  );
  const version = (p) => JSON.parse(readFileSync(p, 'utf8')).version;
  return { host: version(fromHost), package: version(fromPackage), sameCopy: fromHost === fromPackage };
}

function check(what, actual, expected) {
  if (actual !== expected)
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  console.log(`ok  ${what}: ${JSON.stringify(actual)}`);
}

async function withAdmin(sql) {
  const admin = await MikroORM.init({
    clientUrl: adminUrl,
    entities: [HedgehogFabric],
    discovery: { warnWhenNoEntities: false },
    debug: false,
  });
  try {
    await admin.em.getConnection().execute(sql);
  } finally {
    await admin.close(true);
  }
}

const cores = coreVersions();
console.log(`@mikro-orm/core: host ${cores.host}, as seen by hedgehog-fabric-sync ${cores.package}`);
check("hedgehog-fabric-sync uses the host's @mikro-orm/core (one copy)", cores.sameCopy, true);

const dbName = `hh_orm_range_${cores.host.replace(/\W/g, '_')}_${process.pid}`;
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const gitDir = mkdtempSync(path.join(tmpdir(), 'hh-orm-range-'));
const api = new FakeKubeApi();
await withAdmin(`CREATE DATABASE ${dbName}`);
try {
  const orm = await MikroORM.init({
    clientUrl: url.toString(),
    entities: [...ALL_ENTITIES],
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, snapshot: false, silent: true },
    debug: false,
  });
  try {
    await orm.migrator.up();
    check('pending migrations after up()', (await orm.migrator.getPendingMigrations()).length, 0);

    const objects = generateSampleFabric({ targetObjects: 60, seed: 3 }).map((o) => withServerDefaults(o));
    api.load(objects);
    await api.start();
    await createGitRepo(gitDir, {
      'vpc.yaml':
        'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: host-only-vpc\nspec:\n  subnets: {}\n',
    });

    await new FabricRegistry(orm.em).create('range', { gitRepository: gitDir });
    const service = new FabricSyncService(orm.em, { kubeConfigFor: () => api.kubeConfig() });
    const desired = await service.syncDesiredState('range');
    check('desired run status', desired.status, 'completed');
    check('desired run created', desired.counts.created, 1);
    const actual = await service.syncActualState('range');
    check('actual run status', actual.status, 'completed');
    check('actual run created', actual.counts.created, objects.length);

    const em = orm.em.fork();
    check('ledger rows', await em.count(HedgehogResource, {}), objects.length + 1);
    const gitOnly = await em.findOneOrFail(HedgehogResource, { name: 'host-only-vpc' });
    check('the Git-only VPC is desired_only', gitOnly.driftStatus, 'desired_only');
  } finally {
    await orm.close(true);
  }
} finally {
  await api.stop().catch(() => {});
  rmSync(gitDir, { recursive: true, force: true });
  await withAdmin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
console.log(`PASS with @mikro-orm/* ${cores.host}`);
