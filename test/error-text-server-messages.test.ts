/**
 * Issue 9, round 3: a database error is told in the server's own words, in one line — never the SQL statement
 * knex put before it nor the row MikroORM appended after it ("\n - detail: Failing row contains (…)") — for
 * real NOT NULL, CHECK, unique and foreign-key violations, read directly and through a sync run (its report,
 * its run record and the CLI's line); and a connection the server terminated says so, not pg's "not queryable".
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyError } from '../src/cli/cli-errors.js';
import { failureLine } from '../src/cli/sync-runner.js';
import { openDatabase } from '../src/db/open-database.js';
import { openLedger, type Ledger } from '../src/ledger.js';
import { databaseFailureKind, errorMessageOf, errorText, failureSource } from '../src/sync/error-text.js';
import { createGitRepo } from '../src/testing/index.js';
import { describeWithServer, createEmptyDatabase, withPg } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hh-error-text-'));
let db: { url: string; drop(): Promise<void> };
let ledger: Ledger;

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

// What none of these lines may hold: the statement, or the row dump of the DETAIL.
const NOT_IN_A_LINE = /Failing row contains|insert into|values \(|- detail:/i;

beforeAll(async () => {
  db = await createEmptyDatabase();
  ledger = await openLedger({ databaseUrl: db.url });
  const repo = path.join(tmp, 'repo');
  // A long description makes the row dump of a violation kilobytes long, as in the incident.
  const long = `  description: ${'x'.repeat(3000)}\n`;
  await createGitRepo(repo, {
    'a.yaml': vpc('vpc-a', 1001).replace('spec:\n', `spec:\n${long}`),
    'b.yaml': vpc('vpc-b', 1002),
  });
  await ledger.fabrics.create('g2', { gitRepository: repo });
  await withPg(db.url, (c) =>
    c.query(`CREATE TABLE hh_scratch_parent (id int PRIMARY KEY);
      CREATE TABLE hh_scratch (id int PRIMARY KEY, n text NOT NULL, c int CHECK (c > 0), u text CONSTRAINT uq_scratch_u UNIQUE,
        p int CONSTRAINT fk_scratch_p REFERENCES hh_scratch_parent (id), pad text);
      INSERT INTO hh_scratch (id, n, u) VALUES (1, 'one', 'taken')`),
  );
}, 60_000);

afterAll(async () => {
  await ifSetUp(ledger)?.close();
  await ifSetUp(db)?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The error MikroORM throws for `sql` (knex's "<sql> - <message>", with MikroORM's detail lines). */
async function driverError(sql: string): Promise<unknown> {
  return ledger.em
    .fork()
    .getConnection()
    .execute(sql)
    .then(
      () => {
        throw new Error(`expected ${sql} to fail`);
      },
      (err: unknown) => err,
    );
}

const pad = `'${'y'.repeat(2000)}'`;
const violations: [string, string, RegExp][] = [
  [
    'NOT NULL',
    `insert into hh_scratch (id, n, pad) values (2, null, ${pad})`,
    /^null value in column "n" of relation "hh_scratch" violates not-null constraint$/,
  ],
  [
    'CHECK',
    `insert into hh_scratch (id, n, c, pad) values (2, 'two', -1, ${pad})`,
    /^new row for relation "hh_scratch" violates check constraint "hh_scratch_c_check"$/,
  ],
  [
    'unique',
    `insert into hh_scratch (id, n, u, pad) values (2, 'two', 'taken', ${pad})`,
    /^duplicate key value violates unique constraint "uq_scratch_u" \(Key \(u\)=\(taken\) already exists\.\)$/,
  ],
  [
    'foreign key',
    `insert into hh_scratch (id, n, p, pad) values (2, 'two', 99, ${pad})`,
    /^insert or update on table "hh_scratch" violates foreign key constraint "fk_scratch_p" \(Key \(p\)=\(99\) is not present in table "hh_scratch_parent"\.\)$/,
  ],
];

describe('a real constraint violation, read directly', () => {
  test.each(violations)(
    "%s: the server's message (and a short key DETAIL), never the statement or the row dump",
    async (_what, sql, expected) => {
      const err = await driverError(sql);
      expect(errorText(err)).toMatch(expected);
      expect(errorMessageOf(err)).toMatch(expected);
      expect(errorMessageOf(err)).not.toMatch(NOT_IN_A_LINE);
      expect(failureSource(err)).toBe('database');
      expect(databaseFailureKind(err)).toBe('statement');
      const line = classifyError(err).line;
      expect(line).toMatch(expected.source.slice(1, 30));
      expect(line).not.toMatch(NOT_IN_A_LINE);
      expect(line).not.toMatch(/PostgreSQL is running|cluster/);
    },
  );
});

describe('a real constraint violation during a sync run', () => {
  const breakages: [string, string, string, RegExp][] = [
    [
      'NOT NULL',
      `CREATE FUNCTION hh_null_kind() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.kind := NULL; RETURN NEW; END $$;
       CREATE TRIGGER hh_null_kind BEFORE INSERT ON hedgehog_resource FOR EACH ROW EXECUTE FUNCTION hh_null_kind()`,
      `DROP TRIGGER hh_null_kind ON hedgehog_resource; DROP FUNCTION hh_null_kind()`,
      /^null value in column "kind" of relation "hedgehog_resource" violates not-null constraint$/,
    ],
    [
      'CHECK',
      `ALTER TABLE hedgehog_resource ADD CONSTRAINT ck_x CHECK (name <> 'vpc-a') NOT VALID`,
      `ALTER TABLE hedgehog_resource DROP CONSTRAINT ck_x`,
      /^new row for relation "hedgehog_resource" violates check constraint "ck_x"$/,
    ],
    [
      'unique',
      `CREATE UNIQUE INDEX uq_x ON hedgehog_resource ((true))`,
      `DROP INDEX uq_x`,
      /^duplicate key value violates unique constraint "uq_x" \(Key \(\(true\)\)=\(t\) already exists\.\)$/,
    ],
    [
      'foreign key',
      `CREATE TABLE hh_empty (id bigint PRIMARY KEY);
       ALTER TABLE hedgehog_resource ADD CONSTRAINT fk_x FOREIGN KEY (fabric_id) REFERENCES hh_empty (id) NOT VALID`,
      `ALTER TABLE hedgehog_resource DROP CONSTRAINT fk_x; DROP TABLE hh_empty`,
      /^insert or update on table "hedgehog_resource" violates foreign key constraint "fk_x" \(Key \(fabric_id\)=\(\d+\) is not present in table "hh_empty"\.\)$/,
    ],
  ];

  test.each(breakages)(
    "%s: report, run record and CLI line lead with the server's message, one line",
    async (_what, breakIt, repair, expected) => {
      await withPg(db.url, (c) => c.query(breakIt));
      try {
        const report = await ledger.sync.syncDesiredState('g2');
        expect(report.status).toBe('failed');
        expect(report.errorMessage).toMatch(expected);
        expect(report.errorMessage).not.toMatch(NOT_IN_A_LINE);
        expect(report.details.failure).toMatchObject({ source: 'database', database: 'statement' });
        const [row] = (
          await withPg(db.url, (c) => c.query('SELECT error_message FROM sync_operation WHERE id = $1', [report.id]))
        ).rows;
        expect(row.error_message).toBe(report.errorMessage);
        const line = failureLine(report);
        expect(line).toMatch(/^desired sync of fabric g2 failed: /);
        expect(line).toContain(report.errorMessage!);
        expect(line).toMatch(
          /check the ledger database: it refused a statement \(`hh-sync doctor` checks its schema\); nothing of this run was stored$/,
        );
        expect(line).not.toMatch(/PostgreSQL is running|cluster/);
        expect(line.length).toBeLessThan(400);
      } finally {
        await withPg(db.url, (c) => c.query(repair));
      }
    },
  );
});

// pg_terminate_backend needs a real server (PGlite has one backend and no such function that ends it).
describeWithServer('a connection the server terminated (needs a PostgreSQL server: DATABASE_URL)', () => {
  test('the server\'s "terminating connection due to administrator command" leads, not pg\'s "not queryable"', async () => {
    const opened = await openDatabase({ url: db.url });
    try {
      const err = await opened.orm.em
        .fork()
        .transactional(async (em) => {
          const [{ pid }] = await em
            .getConnection()
            .execute<[{ pid: number }]>('select pg_backend_pid() as pid', [], 'all', em.getTransactionContext());
          await withPg(db.url, async (c) => {
            await c.query('SELECT pg_terminate_backend($1)', [pid]);
            // Wait until the server has ended the backend, so its message has reached our (idle) connection.
            for (let i = 0; i < 100; i++) {
              const { rowCount } = await c.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
              if (!rowCount) break;
            }
          });
          await new Promise((resolve) => setImmediate(resolve));
          await em.getConnection().execute('select 1', [], 'all', em.getTransactionContext());
        })
        .then(
          () => new Error('expected the statement on the terminated connection to fail'),
          (e: unknown) => e,
        );
      expect(errorText(err)).toMatch(/^terminating connection due to administrator command/);
      expect(databaseFailureKind(err)).toBe('connection');
      expect(classifyError(err).line).toMatch(
        /^terminating connection due to administrator command.*; check --database-url .* and that PostgreSQL is running$/,
      );
    } finally {
      await opened.close();
    }
  });
});
