/**
 * Issue 9: the BUILT hh-sync against databases that fail — one that accepts TCP and never answers, one
 * that refuses, one that does not exist, one that goes away mid-run. Each time the process prints one
 * line (or, with --json, one JSON document), exits 3 and does not hang; a missing database is never
 * created except by `migrate --create-database`; a password is never printed.
 * Spawned on purpose: whether the process itself exits is what is tested.
 */
import 'reflect-metadata';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DatabaseMissingError } from '../src/db/index.js';
import { openLedger } from '../src/ledger.js';
import { createGitRepo } from '../src/testing/index.js';
import { cliEnv, messageLines, runCli } from './helpers/cli.js';
import { hh } from './helpers/cli-in-process.js';
import { createEmptyDatabase, testServerUrl, withPg } from './helpers/database.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { silentServer } from './helpers/silent-server.js';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a database that cannot be used: one line, exit 3, the process ends', () => {
  test('silent (accepts, never answers), refused — with --connect-timeout, HH_SYNC_CONNECT_TIMEOUT and --json', async () => {
    const silent = await silentServer();
    const refused = await closedPort();
    try {
      const silentUrl = `postgres://hh:top-secret-pw@127.0.0.1:${silent.port}/hh`;
      const [flag, env, gone] = await Promise.all([
        runCli(['fabric', 'list', '--connect-timeout', '0.5', '--database-url', silentUrl], { timeoutMs: 30_000 }),
        runCli(['sync', 'dc1', '--json', '--database-url', silentUrl], {
          env: cliEnv({ HH_SYNC_CONNECT_TIMEOUT: '0.5' }),
          timeoutMs: 30_000,
        }),
        runCli(['drift', 'dc1', '--database-url', `postgres://hh:top-secret-pw@127.0.0.1:${refused}/hh`], {
          timeoutMs: 30_000,
        }),
      ]);
      for (const r of [flag, env, gone]) {
        expect(r.code).toBe(3);
        expect(messageLines(r.stderr)).toHaveLength(1);
        expect(r.stdout + r.stderr).not.toMatch(/top-secret-pw/);
      }
      expect(messageLines(flag.stderr)[0]).toMatch(
        new RegExp(`cannot connect to 127.0.0.1:${silent.port}: no answer within 0.5 s.*check --database-url`),
      );
      expect(JSON.parse(env.stdout)).toEqual({
        error: { message: expect.stringMatching(/no answer within 0.5 s/), code: 'database', exitCode: 3 },
      });
      expect(messageLines(gone.stderr)[0]).toMatch(/ECONNREFUSED/);
    } finally {
      await silent.close();
    }
  });

  test('an invalid --connect-timeout is a usage error', async () => {
    // Refused before any connection: nothing about the process to watch, so in-process.
    const r = await hh(['fabric', 'list', '--connect-timeout', '0', '--database-url', 'postgres://127.0.0.1:1/x']);
    expect(r.code).toBe(2);
    expect(messageLines(r.stderr)[0]).toMatch(/--connect-timeout "0": must be a number of seconds greater than 0/);
  });
});

const server = testServerUrl();
// These need a PostgreSQL server (a database that does not exist; a connection cut through a proxy).
(server ? describe : describe.skip)('with a PostgreSQL server', () => {
  const withDatabase = (name: string) => {
    const u = new URL(server!);
    u.password = 'not-printed-pw'; // local trust auth ignores it; it must not be printed either way
    if (!u.username) u.username = 'postgres';
    u.pathname = `/${name}`;
    return u.toString();
  };
  const exists = async (name: string) =>
    (await withPg(server!, (c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]))).rowCount === 1;

  test('a database that does not exist is an error (never created by doctor, fabric list or drift); migrate --create-database creates it', async () => {
    const name = `hh_missing_${randomBytes(5).toString('hex')}`;
    const url = withDatabase(name);
    try {
      const runs = await Promise.all(
        [['doctor'], ['fabric', 'list'], ['drift', 'dc1', '--json']].map((args) =>
          runCli([...args, '--database-url', url], { timeoutMs: 30_000 }),
        ),
      );
      for (const r of runs) {
        expect(r.code).toBe(3);
        expect(r.stdout + r.stderr).not.toMatch(/not-printed-pw/);
      }
      const host = new URL(server!);
      const line = `database "${name}" does not exist on ${host.hostname}:${host.port || '5432'} — create it, or run hh-sync migrate --create-database`;
      expect(messageLines(runs[1]!.stderr)).toEqual([`hh-sync: ${line}`]);
      expect(JSON.parse(runs[2]!.stdout).error).toMatchObject({ message: line, code: 'database', exitCode: 3 });
      expect(runs[0]!.stderr).toMatch(new RegExp(`database "${name}" does not exist`));
      expect(await exists(name)).toBe(false);

      const created = await runCli(['migrate', '--create-database', '--json', '--database-url', url], {
        timeoutMs: 60_000,
      });
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout).applied.length).toBeGreaterThan(0);
      expect(await exists(name)).toBe(true);
    } finally {
      await withPg(server!, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  });

  test('library: openLedger throws DatabaseMissingError for a missing database unless createDatabase is given', async () => {
    const name = `hh_missing_${randomBytes(5).toString('hex')}`;
    const url = withDatabase(name);
    try {
      const err = await openLedger({ databaseUrl: url }).then(
        (l) => l.close().then(() => null),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseMissingError);
      expect((err as DatabaseMissingError).message).not.toMatch(/not-printed-pw/);
      expect(await exists(name)).toBe(false);
      const ledger = await openLedger({ databaseUrl: url, createDatabase: true });
      await ledger.close();
      expect(await exists(name)).toBe(true);
    } finally {
      await withPg(server!, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    }
  });

  test('a database that goes away mid-run: one JSON document, one line, exit 3, counts of what landed', async () => {
    const db = await createEmptyDatabase();
    const proxy = await startTcpProxy(db.url);
    const tmp = mkdtempSync(path.join(tmpdir(), 'hh-db-faults-'));
    try {
      // Enough manifests that the run is still writing when the database goes away.
      const files: Record<string, string> = {};
      for (let i = 0; i < 400; i++) {
        files[`vpc/vpc-${i}.yaml`] =
          `apiVersion: vpc.githedgehog.com/v1beta1\nkind: VPC\nmetadata:\n  name: vpc-${i}\nspec:\n  subnets:\n    default:\n      subnet: 10.${i % 250}.0.0/24\n      vlan: ${1000 + i}\n`;
      }
      const repo = path.join(tmp, 'repo');
      await createGitRepo(repo, files);
      const ledger = await openLedger({ databaseUrl: db.url });
      await ledger.fabrics.create('dc1', { gitRepository: repo });
      await ledger.close();

      let cut = false;
      const r = await runCli(
        ['sync', 'dc1', '--desired', '--json', '--connect-timeout', '1', '--database-url', proxy.url],
        {
          timeoutMs: 60_000,
          onStderr: (chunk) => {
            if (!cut && /reading the desired state/.test(chunk)) {
              cut = true;
              proxy.down();
            }
          },
        },
      );
      expect(cut).toBe(true);
      expect(r.code).toBe(3);
      expect(messageLines(r.stderr).length).toBeGreaterThanOrEqual(1);
      for (const line of messageLines(r.stderr)) expect(line.length).toBeLessThan(400);
      const doc = JSON.parse(r.stdout); // one document, whatever happened
      const runs = Array.isArray(doc) ? doc : doc.runs ? doc.runs : doc.id ? [doc] : [];
      if (!doc.id) expect(doc.error).toMatchObject({ code: expect.any(String), exitCode: 3 });
      for (const run of runs)
        if (run.status === 'failed') expect(run.counts).toMatchObject({ created: 0, updated: 0, cleared: 0 });

      proxy.up();
      const landed = await withPg(db.url, (c) => c.query('SELECT count(*)::int AS n FROM hedgehog_resource'));
      const recorded = await withPg(db.url, (c) =>
        c.query(`SELECT status, created FROM sync_operation ORDER BY id DESC LIMIT 1`),
      );
      // Whatever the record says was created is what the ledger holds.
      if (recorded.rows[0]?.status !== 'in_progress') expect(landed.rows[0].n).toBe(recorded.rows[0]?.created ?? 0);
    } finally {
      await proxy.close();
      await db.drop();
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
