/**
 * Issue 9, round 3: the hint after a failure is the true one. A lock wait gets only its own advice (try again),
 * a failed migration says the schema and its migration table disagree (not "is PostgreSQL running"), only a
 * lost or unreachable server is told to check PostgreSQL; and a partial run's warning line counts what the run
 * line counts (objects refused), saying how many messages explain them when the two differ.
 * Driven in-process through `main()` with stdout and stderr captured, as test/cli-truth.test.ts.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyError } from '../src/cli/cli-errors.js';
import { failureLine, partialLine } from '../src/cli/sync-runner.js';
import { openLedger } from '../src/ledger.js';
import { FabricBusyError, LOCK_NAMESPACE } from '../src/sync/fabric-lock.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import { createGitRepo } from '../src/testing/index.js';
import { createEmptyDatabase, testServerUrl, withPg } from './helpers/database.js';
import { hh } from './helpers/cli-in-process.js';
import { messageLines } from './helpers/cli.js';
import { ifSetUp } from './helpers/if-set-up.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hh-cli-hints-'));
const savedEnv = { ...process.env };

const messages = messageLines;

const vpc = (name: string, vlan: number) => `apiVersion: vpc.githedgehog.com/v1beta1
kind: VPC
metadata:
  name: ${name}
spec:
  subnets:
    default:
      subnet: 10.0.${vlan % 250}.0/24
      vlan: ${vlan}
`;

beforeAll(() => {
  process.env.NO_COLOR = '1';
  delete process.env.FORCE_COLOR;
  const emptyKubeconfig = path.join(tmp, 'empty-kubeconfig');
  writeFileSync(emptyKubeconfig, '');
  process.env.KUBECONFIG = emptyKubeconfig;
  // DATABASE_URL stays: it picks the test server (every command is given its own --database-url).
});

afterAll(() => {
  process.env = savedEnv;
  rmSync(tmp, { recursive: true, force: true });
});

describe('a lock wait gets only its own advice', () => {
  const busy = new FabricBusyError('fk', 30_000);

  test('the CLI line of a FabricBusyError: no "PostgreSQL is running", no cluster', () => {
    expect(classifyError(busy)).toMatchObject({
      code: 3,
      kind: 'database',
      line: 'another sync run holds fabric "fk" (waited 30000 ms); try again when it finishes',
    });
  });

  test('a failed run recorded as busy: "try again", nothing stored, nothing about PostgreSQL', () => {
    const run = {
      id: 1,
      fabric: 'fk',
      type: 'actual',
      status: 'failed',
      errors: [],
      errorMessage: busy.message,
      details: { failure: { source: 'database', database: 'busy' } },
    };
    const line = failureLine(run as unknown as SyncRunReport);
    expect(line).toBe(
      'actual sync of fabric fk failed: another sync run holds fabric "fk" (waited 30000 ms); try again when it finishes; nothing of this run was stored',
    );
  });

  // PGlite is one backend: no second session can hold the lock.
  (testServerUrl() ? describe : describe.skip)(
    'a real run that waited for the lock (needs a PostgreSQL server: DATABASE_URL)',
    () => {
      test('gets only its own advice', async () => {
        const db = await createEmptyDatabase();
        const ledger = await openLedger({ databaseUrl: db.url, sync: { lockTimeoutMs: 200 } });
        try {
          const repo = path.join(tmp, 'busy-repo');
          await createGitRepo(repo, { 'a.yaml': vpc('vpc-a', 1001) });
          const fabric = await ledger.fabrics.create('fk', { gitRepository: repo });
          const run = await withPg(db.url, async (c) => {
            await c.query('SELECT pg_advisory_lock($1::int, $2::int)', [LOCK_NAMESPACE, fabric.id]);
            return ledger.sync.syncDesiredState(fabric);
          });
          expect(run).toMatchObject({
            status: 'failed',
            details: { failure: { source: 'database', database: 'busy' } },
          });
          const line = failureLine(run);
          expect(line).toMatch(
            /another sync run holds fabric "fk" \(waited 200 ms\); try again when it finishes; nothing of this run was stored$/,
          );
          expect(line).not.toMatch(/PostgreSQL|--database-url|cluster/);
        } finally {
          await ledger.close();
          await db.drop();
        }
      });
    },
  );
});

describe('a failed migration', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    db = await createEmptyDatabase();
    expect((await hh(['migrate', '--database-url', db.url])).code).toBe(0);
    // The first migration forgotten: applying it again finds its tables there.
    await withPg(db.url, (c) =>
      c.query('DELETE FROM mikro_orm_migrations WHERE id = (SELECT min(id) FROM mikro_orm_migrations)'),
    );
  }, 60_000);
  afterAll(() => ifSetUp(db)?.drop());

  test('says the schema and its migration table disagree, names the doctor, not "PostgreSQL is running"', async () => {
    const r = await hh(['fabric', 'list', '--database-url', db.url]);
    expect(r.code).toBe(3);
    const lines = messages(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^hh-sync: cannot open the ledger \(.*\): Migration Migration\d+_\w+ \(up\) failed: .*already exists; /,
    );
    expect(lines[0]).toMatch(
      /the ledger's schema and its migration table \(mikro_orm_migrations\) disagree; run `hh-sync doctor`/,
    );
    expect(lines[0]).not.toMatch(/PostgreSQL is running|create table|cluster/i);
  });
});

describe('only a lost or unreachable server is told to check PostgreSQL', () => {
  const named = (message: string, props: Record<string, unknown>) => Object.assign(new Error(message), props);
  test.each([
    [
      'terminated (57P01)',
      named('terminating connection due to administrator command', { name: 'DriverException', code: '57P01' }),
    ],
    ['refused', named('connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' })],
    ['lost mid-run', named('Connection terminated unexpectedly', {})],
  ])('%s: "check … that PostgreSQL is running"', (_what, err) => {
    expect(classifyError(err).line).toMatch(/; check --database-url .* and that PostgreSQL is running$/);
  });

  test('a statement the server refused: check the ledger database and its schema, not PostgreSQL', () => {
    const err = named('insert into "t" ("a") values (1) - new row for relation "t" violates check constraint "ck"', {
      name: 'CheckConstraintViolationException',
      code: '23514',
    });
    expect(classifyError(err).line).toBe(
      'new row for relation "t" violates check constraint "ck"; check the ledger database: it refused a statement (`hh-sync doctor` checks its schema)',
    );
  });

  test('an API server that refused the connection is the cluster, not PostgreSQL', () => {
    const err = named('connect ECONNREFUSED 10.0.0.1:6443', { name: 'KubeRequestError', code: 'ECONNREFUSED' });
    expect(classifyError(err)).toMatchObject({
      kind: 'cluster',
      line: expect.stringMatching(/check that the cluster is reachable/),
    });
  });
});

describe('a partial run counts what its run line counts', () => {
  let db: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    db = await createEmptyDatabase();
    const repo = path.join(tmp, 'dup-repo');
    // vpc-a declared five times: four ignored declarations (four refused objects) in one message.
    const files: Record<string, string> = { 'ok.yaml': vpc('vpc-ok', 1000) };
    for (const f of ['a', 'b', 'c', 'd', 'e']) files[`${f}.yaml`] = vpc('vpc-a', 1001);
    await createGitRepo(repo, files);
    expect((await hh(['fabric', 'add', 'dup', '--git', repo, '--database-url', db.url])).code).toBe(0);
  }, 60_000);
  afterAll(() => ifSetUp(db)?.drop());

  test('"4 failed" on the run line, "4 objects refused; 1 problem" on the warning line', async () => {
    const r = await hh(['sync', 'dup', '--database-url', db.url]);
    expect(r.code).toBe(0);
    const failed = Number(/desired\s+partial\s+.* (\d+) failed/.exec(r.stdout)?.[1]);
    expect(failed).toBe(4);
    expect(r.stdout).toMatch(
      /declared more than once: kept a\.yaml:1, ignored b\.yaml:1, c\.yaml:1, d\.yaml:1, e\.yaml:1/,
    );
    expect(messages(r.stderr)).toEqual([
      'hh-sync: desired sync of fabric dup was partial: 4 objects refused; 1 problem listed above; everything else was stored',
    ]);
  });

  test('when every message is one refused object, the line is as before', () => {
    const run = { fabric: 'lab', type: 'desired', counts: { failed: 2 }, errors: [{ reason: 'a' }, { reason: 'b' }] };
    expect(partialLine(run as unknown as SyncRunReport)).toBe(
      'desired sync of fabric lab was partial: 2 problems (listed above); everything else was stored',
    );
    const kinds = {
      fabric: 'lab',
      type: 'actual',
      counts: { failed: 0 },
      errors: [{ kind: 'VPC', reason: 'list failed' }],
    };
    expect(partialLine(kinds as unknown as SyncRunReport)).toBe(
      'actual sync of fabric lab was partial: 1 problem (listed above); everything else was stored',
    );
  });
});
