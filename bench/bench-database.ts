/**
 * A fresh, empty ledger for one benchmark process, so runs never see each other's rows: an embedded
 * PGlite in a new temporary data directory on disk (as the CLI keeps it; removed on close), or a new
 * database `hh_bench_<random>` on the configured server (dropped on close). Migrations are applied
 * through the ledger's own openDatabase().
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { openDatabase } from '../src/db/open-database.js';
import { redactDatabaseUrl } from '../src/db/database-url.js';

export interface BenchDatabase {
  orm: MikroORM;
  /** What to print: "embedded PGlite (…)" or the server URL without its password. */
  label: string;
  embedded: boolean;
  /** The URL of this benchmark's own database (for the raw `pg` client of the floor). */
  url: string;
  /** Processes whose memory the figures add to the benchmark's own: the embedded database's process. */
  memoryPids: number[];
  close(): Promise<void>;
}

async function onServer<T>(serverUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function openBenchDatabase(serverUrl: string | null): Promise<BenchDatabase> {
  if (!serverUrl) {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'hh-bench-pglite-'));
    try {
      const db = await openDatabase({ embedded: true, dataDir });
      return {
        orm: db.orm,
        label: 'embedded PGlite (in a process of its own, counted with this one; data directory on disk)',
        embedded: true,
        url: db.url,
        memoryPids: db.embeddedServerPid === null ? [] : [db.embeddedServerPid],
        async close() {
          try {
            await db.close();
          } finally {
            rmSync(dataDir, { recursive: true, force: true });
          }
        },
      };
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }
  const name = `hh_bench_${randomBytes(5).toString('hex')}`;
  await onServer(serverUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = () =>
    onServer(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined);
  try {
    const db = await openDatabase({ url: url.toString() });
    return {
      orm: db.orm,
      label: `PostgreSQL ${redactDatabaseUrl(serverUrl)} (fresh database ${name})`,
      embedded: false,
      url: url.toString(),
      memoryPids: [],
      async close() {
        try {
          await db.close();
        } finally {
          await drop();
        }
      },
    };
  } catch (err) {
    await drop().catch(() => undefined);
    throw err;
  }
}
