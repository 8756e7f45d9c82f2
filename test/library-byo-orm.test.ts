/**
 * Bring-your-own ORM: a host service adds our entities and migrations to its own MikroORM setup, and
 * FabricSyncService works with the host's EntityManager (the README's example, run for real).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import { ALL_ENTITIES, FabricRegistry, FabricSyncService, HedgehogResource, MIGRATIONS } from '../src/index.js';
import { createGitRepo } from '../src/testing/index.js';
import { createEmptyDatabase } from './helpers/database.js';

@Entity({ tableName: 'host_note' })
class HostNote {
  @PrimaryKey({ type: 'integer' }) id!: number;
  @Property({ type: 'text' }) text!: string;
}

test("a host's own MikroORM setup runs our migrations and our service on its EntityManager", async () => {
  const db = await createEmptyDatabase();
  const dir = mkdtempSync(path.join(tmpdir(), 'hh-byo-'));
  const orm = await MikroORM.init({
    clientUrl: db.url,
    entities: [HostNote, ...ALL_ENTITIES],
    extensions: [Migrator],
    migrations: { migrationsList: MIGRATIONS, snapshot: false, silent: true },
    pool: db.embedded ? { min: 0, max: 1 } : undefined,
    debug: false,
  });
  try {
    await orm.migrator.up();
    await orm.em.getConnection().execute('CREATE TABLE host_note (id serial PRIMARY KEY, text text NOT NULL)');
    await createGitRepo(dir, {
      'vpc.yaml':
        'apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-1\nspec:\n  subnets: {}\n',
    });

    await new FabricRegistry(orm.em).create('host-fabric', { gitRepository: dir });
    const run = await new FabricSyncService(orm.em).syncDesiredState('host-fabric');
    expect(run.status).toBe('completed');
    expect(run.counts.created).toBe(1);

    const em = orm.em.fork();
    em.create(HostNote, { text: 'the host keeps its own data' });
    await em.flush();
    const resource = await em.findOneOrFail(HedgehogResource, { name: 'vpc-1' });
    expect(resource.kind).toBe('VPC');
    expect(await em.count(HostNote)).toBe(1);
  } finally {
    await orm.close(true);
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
