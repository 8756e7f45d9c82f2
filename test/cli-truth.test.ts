/**
 * Issue 9, the CLI's side of "never silently wrong", driven in-process through `main()` with stdout and
 * stderr captured: counts that say what landed when the data transaction rolls back, `--json` that is
 * one JSON document whatever happens, one-line errors with the hint of the right side, terminal control
 * sequences made inert, fabric names checked, a Git-only fabric that syncs, and exit codes that match
 * docs/cli.md.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pc from 'picocolors';
import { classifyError } from '../src/cli/cli-errors.js';
import { runDoctorCli } from '../src/cli/doctor-command.js';
import { Output } from '../src/cli/cli-output.js';
import { checkFabricName } from '../src/cli/fabric-options.js';
import { formatDriftReport } from '../src/cli/drift-table.js';
import { describeRun, failureLine } from '../src/cli/sync-runner.js';
import { runsOutcome } from '../src/cli/sync-action.js';
import { safeText, shellArg } from '../src/cli/terminal-text.js';
import { openLedger } from '../src/ledger.js';
import type { DriftReport } from '../src/sync/drift-report.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import { createGitRepo } from '../src/testing/index.js';
import { createEmptyDatabase, withPg } from './helpers/database.js';
import { hh } from './helpers/cli-in-process.js';
import { messageLines } from './helpers/cli.js';
import { ifSetUp } from './helpers/if-set-up.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hh-cli-truth-'));
const savedEnv = { ...process.env };
let db: { url: string; drop(): Promise<void> };
let repoDir: string;

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

const messages = messageLines;
const ledgerFlags = () => ['--database-url', db.url];

beforeAll(async () => {
  // No colours (our own escape codes would hide the ones under test); no default kubeconfig: the fabric is Git-only.
  process.env.NO_COLOR = '1';
  delete process.env.FORCE_COLOR;
  const emptyKubeconfig = path.join(tmp, 'empty-kubeconfig');
  writeFileSync(emptyKubeconfig, '');
  process.env.KUBECONFIG = emptyKubeconfig;
  delete process.env.HH_SYNC_DATABASE_URL;
  delete process.env.DATABASE_URL;
  db = await createEmptyDatabase();
  repoDir = path.join(tmp, 'repo');
  await createGitRepo(repoDir, {
    'vpc/a.yaml': vpc('vpc-a', 1001),
    'vpc/b.yaml': vpc('vpc-b', 1002),
    'vpc/c.yaml': vpc('vpc-c', 1003),
  });
  const added = await hh(['fabric', 'add', 'lab', '--git', repoDir, ...ledgerFlags()]);
  expect(added).toMatchObject({ code: 0 });
});

afterAll(async () => {
  process.env = savedEnv;
  await ifSetUp(db)?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a Git-only fabric (no cluster configured)', () => {
  test('`sync` reads the desired side only, says so, and exits 0', async () => {
    const r = await hh(['sync', 'lab', '--json', ...ledgerFlags()]);
    expect(r.code).toBe(0);
    const runs = JSON.parse(r.stdout);
    expect(runs.map((x: SyncRunReport) => [x.type, x.status])).toEqual([['desired', 'completed']]);
    expect(runs[0].counts).toMatchObject({ listed: 3, created: 3 });
    expect(r.stderr).toMatch(/lab: no cluster configured, reading the desired state from Git only/);
    expect(messages(r.stderr)).toEqual([]);
  });
});

describe('a data transaction that rolls back at commit', () => {
  // A constraint-like failure raised by the data transaction's last statement (the fabric's summary
  // update), so every write before it is rolled back with it — as a full disk or a killed backend would.
  beforeAll(async () => {
    await createGitRepo(repoDir, { 'vpc/d.yaml': vpc('vpc-d', 1004), 'vpc/e.yaml': vpc('vpc-e', 1005) });
    await withPg(db.url, async (c) => {
      await c.query(`CREATE FUNCTION hh_test_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure at commit'; END $$`);
      await c.query(`CREATE TRIGGER hh_test_fail_commit BEFORE UPDATE OF last_desired_sync ON hedgehog_fabric
        FOR EACH ROW WHEN (NEW.last_desired_sync IS DISTINCT FROM OLD.last_desired_sync) EXECUTE FUNCTION hh_test_fail_commit()`);
    });
  });
  afterAll(async () => {
    await withPg(db.url, (c) => c.query('DROP TRIGGER hh_test_fail_commit ON hedgehog_fabric'));
  });

  test("sync --json: one JSON document with the failed run, counts of what landed (0 created), the database's reason; exit 3", async () => {
    const before = await withPg(db.url, (c) => c.query('SELECT count(*)::int AS n FROM hedgehog_resource'));
    const r = await hh(['sync', 'lab', '--desired', '--json', ...ledgerFlags()]);
    expect(r.code).toBe(3);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ fabric: 'lab', type: 'desired', status: 'failed' });
    expect(run.counts).toMatchObject({ listed: 5, created: 0, updated: 0, cleared: 0 });
    expect(run.errorMessage).toMatch(/injected failure at commit/);
    expect(run.errorMessage).not.toMatch(/update\s+"?hedgehog_fabric/i); // the statement is not the reason
    expect(run.details.failure).toMatchObject({ source: 'database' });
    expect(Object.keys(run)).toEqual(
      expect.arrayContaining(['commit', 'skippedKinds', 'otherKinds', 'details', 'errorMessage']),
    );

    // The run record says the same, and nothing landed.
    const [row] = (
      await withPg(db.url, (c) =>
        c.query('SELECT status, created, updated, cleared, listed, error_message FROM sync_operation WHERE id = $1', [
          run.id,
        ]),
      )
    ).rows;
    expect(row).toMatchObject({ status: 'failed', created: 0, updated: 0, cleared: 0, listed: 5 });
    expect(row.error_message).toMatch(/^injected failure at commit/);
    const after = await withPg(db.url, (c) => c.query('SELECT count(*)::int AS n FROM hedgehog_resource'));
    expect(after.rows[0].n).toBe(before.rows[0].n);

    // One line on stderr, the database's message first, and a database hint — not the cluster's.
    const lines = messages(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /desired sync of fabric lab failed: injected failure at commit; check the ledger database/,
    );
    expect(lines[0]).not.toMatch(/cluster is reachable|hedgehog_fabric/);
  });

  test("the text output and the library's run:end event also count 0 created", async () => {
    const r = await hh(['sync', 'lab', '--desired', ...ledgerFlags()]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/desired\s+failed\s+5 listed, 0 created, 0 updated, \d+ unchanged, 0 cleared/);

    const ledger = await openLedger({ databaseUrl: db.url });
    try {
      const ended: SyncRunReport[] = [];
      ledger.sync.on('run:end', (report: SyncRunReport) => ended.push(report));
      const report = await ledger.sync.syncDesiredState('lab');
      expect(report.status).toBe('failed');
      expect(ended).toHaveLength(1);
      expect(ended[0]!.counts).toMatchObject({ listed: 5, created: 0, updated: 0, cleared: 0 });
    } finally {
      await ledger.close();
    }
  });
});

describe('--json is one JSON document, also on failure', () => {
  test('an unknown fabric: {"error": …} on stdout, exit 2', async () => {
    const r = await hh(['sync', 'ghost', '--json', ...ledgerFlags()]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: { message: expect.stringMatching(/no fabric named "ghost"/), code: 'usage', exitCode: 2 },
    });
    expect(messages(r.stderr)).toHaveLength(1);
  });

  test('a database that refuses connections: {"error": …} naming it (password masked), exit 3', async () => {
    for (const command of [
      ['fabric', 'list'],
      ['drift', 'lab'],
      ['sync', 'lab'],
    ]) {
      const r = await hh([...command, '--json', '--database-url', 'postgres://hh:s3cret-pw@127.0.0.1:1/hh']);
      expect(r.code).toBe(3);
      const doc = JSON.parse(r.stdout);
      expect(doc.error).toMatchObject({ code: 'database', exitCode: 3 });
      expect(doc.error.message).toMatch(/ECONNREFUSED/);
      expect(r.stdout + r.stderr).not.toMatch(/s3cret-pw/);
    }
  });

  test('doctor --json on a database it cannot open: the same error object, exit 3', async () => {
    const out: string[] = [];
    const code = await runDoctorCli(['--json', '--database-url', 'postgres://hh:s3cret-pw@127.0.0.1:1/hh'], {
      stdout: (t) => out.push(t),
      stderr: () => undefined,
    });
    expect(code).toBe(3);
    expect(JSON.parse(out.join(''))).toEqual({
      error: { message: expect.stringMatching(/ECONNREFUSED/), code: 'database', exitCode: 3 },
    });
    expect(out.join('')).not.toMatch(/s3cret-pw/);
  });

  test('a usage error found by the flag parser: {"error": …}, exit 2', async () => {
    const r = await hh(['drift', 'lab', '--json', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ code: 'usage', exitCode: 2 });
  });
});

describe('fabric names', () => {
  test.each([['dc\n1'], ['DC1'], ['dc_1'], ['dc1-'], ['a'.repeat(64)], ['dc 1'], ['dc1\u001b[2J']])(
    '`fabric add %j` is a usage error naming the rule, in one line',
    async (name) => {
      const r = await hh(['fabric', 'add', name, '--git', repoDir, ...ledgerFlags()]);
      expect(r.code).toBe(2);
      const lines = messages(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/is not a DNS-1123 label: lower-case letters, digits and "-"/);
      // eslint-disable-next-line no-control-regex -- a hostile name's ESC must not reach the terminal
      expect(r.stderr).not.toMatch(/\u001b/);
    },
  );

  test('valid names pass; hints quote a name only when a shell needs it', () => {
    for (const ok of ['dc1', 'a', 'dc-1-east', 'a'.repeat(63)]) expect(() => checkFabricName(ok)).not.toThrow();
    expect(shellArg('dc1')).toBe('dc1');
    expect(shellArg("it's here")).toBe(`'it'\\''s here'`);
    expect(shellArg('a;rm -rf x')).toBe(`'a;rm -rf x'`);
  });
});

describe('text from Git or the cluster is made inert before printing', () => {
  const evil = 'vpc\u001b[2J\r-1\u009b31m\u001b]0;pwned\u0007';
  const c = pc.createColors(false);
  const run = (over: Partial<SyncRunReport> = {}): SyncRunReport => ({
    id: 1,
    fabric: 'lab',
    type: 'actual',
    status: 'partial',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
    counts: { listed: 1, created: 0, updated: 0, unchanged: 0, cleared: 0, failed: 1 },
    errors: [{ kind: 'VPC', name: evil, reason: `bad\r\u001b[2Jreason ${evil}` }],
    commit: null,
    skippedKinds: [{ kind: 'Switch', reason: `forbidden\u001b[2J` }],
    otherKinds: {},
    errorMessage: `boom\u001b[2J\r ${evil}`,
    details: {},
    ...over,
  });
  // Stripped of control sequences, but still shown: the name's printable rest is there, only made inert
  // (an OSC sequence's payload, here a window title, is part of the sequence and goes with it).
  const inert = (text: string) => {
    // eslint-disable-next-line no-control-regex -- the terminal control characters that must not get through
    expect(text).not.toMatch(/[\u001b\u009b\r\u0007]/);
    expect(text).toContain('vpc-1');
  };

  test('run lines, failure lines, drift table and error lines', () => {
    inert(describeRun(run(), c));
    inert(describeRun(run({ status: 'failed' }), c));
    inert(failureLine(run({ status: 'failed' })));
    const report = {
      fabric: 'lab',
      summary: {
        total: 1,
        byStatus: {
          in_sync: 0,
          spec_drift: 1,
          desired_only: 0,
          actual_only: 0,
          creation_pending: 0,
          deletion_pending: 0,
        },
        bySeverity: { none: 0, low: 0, medium: 1, high: 0, critical: 0 },
        unchecked: 0,
      },
      resources: [
        {
          kind: 'VPC',
          namespace: `ns\u001b[2J`,
          name: evil,
          driftStatus: 'spec_drift',
          driftScore: 0.5,
          driftSeverity: 'medium',
          differences: [{ op: 'replace', path: `/spec/${evil}`, desired: evil, actual: 'x\r' }],
        },
      ],
    } as unknown as DriftReport;
    inert(formatDriftReport(report, c));
    inert(classifyError(new Error(`object ${evil} is bad`)).line);
    expect(safeText('line one\nline two\u001b[2J')).toBe('line one\nline two');

    let stderr = '';
    new Output({}, { write: () => true }, { write: (t: string) => (stderr += t) }).error(`no fabric named ${evil}`);
    inert(stderr);
  });
});

describe("errors: one line, the database's own message first, the hint of the side at fault", () => {
  const driverError = (message: string, name = 'DriverException', extra: object = {}) =>
    Object.assign(new Error(message), { name, ...extra });

  test("a MikroORM error carrying its SQL statement: the statement is dropped, the hint is the database's", () => {
    const sql = `insert into "hedgehog_resource" ("fabric_id", "kind", "name", "spec") values ${"(1, 'VPC', 'x', '{}'), ".repeat(300)}(1, 'VPC', 'y', '{}')`;
    const { code, line } = classifyError(
      driverError(`${sql} - could not extend file "base/16384/2619": No space left on device`, 'DriverException', {
        code: '53100',
      }),
    );
    expect(code).toBe(3);
    expect(line).toMatch(/^could not extend file "base\/16384\/2619": No space left on device; check --database-url/);
    expect(line.length).toBeLessThan(300);
    expect(line).not.toMatch(/insert into|cluster/);
  });

  test('SQL after a MikroORM prefix is dropped too; a message kilobytes long is cut', () => {
    const migration = classifyError(
      new Error(
        `Migration Migration20260101 (up) failed: Original error: alter table "x" add column "y" int; ${'x'.repeat(3000)} - column "y" of relation "x" already exists`,
      ),
    );
    expect(migration.line).toMatch(
      /^Migration Migration20260101 \(up\) failed: Original error: column "y" of relation "x" already exists;/,
    );
    const long = classifyError(new Error(`odd: ${'y'.repeat(5000)}`));
    expect(long.line.length).toBeLessThan(700);
    expect(long.line).toMatch(/--verbose/);
  });

  test('a lock failure and a connection error get no cluster hint; an unknown error class a generic one', () => {
    expect(
      classifyError(driverError('fabric "lab" is busy: another sync holds it', 'FabricBusyError')).line,
    ).not.toMatch(/cluster/);
    expect(classifyError(driverError('Connection terminated unexpectedly', 'Error')).line).toMatch(
      /^Connection terminated unexpectedly; check --database-url/,
    );
    expect(
      classifyError(driverError('the ledger schema is unhealthy: run hh-sync doctor', 'SchemaUnhealthyError')).line,
    ).toMatch(/run again with --verbose/);
    const failed = (source: string, errorMessage: string): SyncRunReport =>
      ({
        ...({} as SyncRunReport),
        id: 1,
        fabric: 'lab',
        type: 'actual',
        status: 'failed',
        errors: [],
        errorMessage,
        details: { failure: { source } },
      }) as SyncRunReport;
    expect(failureLine(failed('database', 'Connection terminated unexpectedly'))).toMatch(/check the ledger database/);
    expect(failureLine(failed('database', 'Connection terminated unexpectedly'))).not.toMatch(/cluster/);
    expect(
      failureLine(failed('cluster', 'no fabric kind could be read from the cluster: connect ECONNREFUSED')),
    ).toMatch(/check that the cluster is reachable/);
    expect(failureLine(failed('other', 'something odd'))).toMatch(/run again with --verbose/);
  });
});

describe('exit codes follow docs/cli.md', () => {
  const report = (status: SyncRunReport['status']): SyncRunReport =>
    ({
      id: 1,
      fabric: 'lab',
      type: 'desired',
      status,
      errors: status === 'partial' ? [{ reason: 'x' }] : [],
      errorMessage: null,
      details: {},
    }) as unknown as SyncRunReport;
  test('failed → 3; partial → 0 with a warning (1 with --exit-code); completed → 0 (1 with --exit-code and drift)', () => {
    expect(runsOutcome([report('completed'), report('failed')], 0, false).code).toBe(3);
    expect(runsOutcome([report('partial')], 0, false)).toMatchObject({
      code: 0,
      warnings: [expect.stringMatching(/was partial/)],
    });
    expect(runsOutcome([report('partial')], 0, true).code).toBe(1);
    expect(runsOutcome([report('completed')], 0, true).code).toBe(0);
    expect(runsOutcome([report('completed')], 2, true).code).toBe(1);
  });
});
