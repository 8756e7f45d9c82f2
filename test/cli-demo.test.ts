/**
 * `hh-sync demo` end to end with the BUILT binary: no services, an embedded ledger, the fake cluster and a
 * Git repository with three deliberate differences. The drift it reports must be exactly those three —
 * every other object of the demo differs only by server-side defaults and must be in sync — and it must
 * leave nothing behind (process exits by itself, fake API closed, temporary directory removed).
 *
 * The BUILT binary is spawned where the process is what is tested (it exits by itself; Ctrl-C); the rest
 * drives the command in-process.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoClusterFabric, demoGitFabric } from '../src/testing/index.js';
import { cliEnv, hasAnsi, messageLines, runCli } from './helpers/cli.js';
import { hh } from './helpers/cli-in-process.js';

const { differences: d } = demoGitFabric();
/** Every object of either side: the cluster's, plus the one only Git declares. */
const TOTAL = demoClusterFabric().length + 1;
const VLAN_PATH = '/' + d.changedVlan.pathSegments.join('/');

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'hh-cli-demo-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('hh-sync demo: both syncs, the three deliberate differences and nothing else, then nothing left running', async () => {
  // A database URL in the environment must not matter: the demo brings its own embedded ledger.
  const r = await runCli(['demo'], {
    // COLUMNS: the drift tables whole (a pipe's table is cut to COLUMNS, else 80: cli-output-formats).
    env: cliEnv({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere', COLUMNS: '200' }),
    timeoutMs: 90_000,
  });
  expect(r.stderr).not.toMatch(/^hh-sync:/m);
  expect(r.code).toBe(0);
  expect(r.signal).toBeNull();

  // Both runs completed, desired first.
  const desired = r.stderr.indexOf('✓ desired completed');
  const actual = r.stderr.indexOf('✓ actual  completed');
  expect(desired).toBeGreaterThanOrEqual(0);
  expect(actual).toBeGreaterThan(desired);

  // The report: a summary with every other object in sync, and one table row per deliberate difference.
  expect(r.stdout).toContain(
    `Drift of fabric demo — ${TOTAL} objects: ${TOTAL - 3} in sync, 1 spec drift, 1 only in Git, 1 only in cluster`,
  );
  const lines = r.stdout.split('\n');
  const header = lines.findIndex((l) => /^KIND\s+NAME\s+STATUS\s+SEVERITY\s+DIFFERENCES/.test(l));
  expect(header).toBeGreaterThan(0);
  const rows = lines.slice(header + 1, lines.indexOf('', header));
  expect(rows).toHaveLength(3);
  // Write-back: the hand-made object is adopted into Git (drafted, published, read back) and its drift goes away.
  expect(r.stderr).toMatch(
    new RegExp(
      `✓ ${d.onlyInCluster.kind} ${escape(d.onlyInCluster.name)} drafted from the cluster, published to Git as [0-9a-f]{12}`,
    ),
  );
  expect(r.stdout).toContain(
    `Drift of fabric demo — ${TOTAL} objects: ${TOTAL - 2} in sync, 1 spec drift, 1 only in Git\n`,
  );
  expect(r.stdout).toMatch(
    new RegExp(
      `^${d.changedVlan.kind}\\s+${escape(d.changedVlan.name)}\\s+spec drift\\s+critical\\s+${escape(VLAN_PATH)}: ${d.changedVlan.clusterValue} → ${d.changedVlan.gitValue}$`,
      'm',
    ),
  );
  expect(r.stdout).toMatch(
    new RegExp(
      `^${d.onlyInGit.kind}\\s+${escape(d.onlyInGit.name)}\\s+only in Git\\s+high\\s+declared in Git, missing from the cluster$`,
      'm',
    ),
  );
  expect(r.stdout).toMatch(
    new RegExp(
      `^${d.onlyInCluster.kind}\\s+${escape(d.onlyInCluster.name)}\\s+only in cluster\\s+medium\\s+in the cluster, declared nowhere in Git$`,
      'm',
    ),
  );
  expect(r.stdout).toMatch(/^What next/m);
  expect(hasAnsi(r.stdout + r.stderr)).toBe(false);

  // Nothing left: the working directory is gone and the fake API no longer answers.
  const dir = /working in (\S+)/.exec(r.stderr)?.[1];
  const url = /fake Kubernetes API on (http:\/\/\S+)/.exec(r.stderr)?.[1];
  expect(dir).toBeDefined();
  expect(url).toBeDefined();
  expect(existsSync(dir!)).toBe(false);
  await expect(fetch(`${url}/version`)).rejects.toThrow();
}, 120_000);

test('hh-sync demo --dir --json: the documented shapes, the ledger kept for later commands, and --dir reused', async () => {
  const dir = join(scratch, 'kept');
  const r = await hh(['demo', '--dir', dir, '--json']);
  expect(r.code).toBe(0);
  const out = JSON.parse(r.stdout);
  expect(Object.keys(out).sort()).toEqual(['directory', 'drift', 'driftAfter', 'kept', 'publish', 'runs']);
  expect(out).toMatchObject({ directory: dir, kept: true });
  expect(out.runs.map((x: { type: string; status: string }) => [x.type, x.status])).toEqual([
    ['desired', 'completed'],
    ['actual', 'completed'],
    ['desired', 'completed'],
  ]);
  expect(out.publish).toMatchObject({ status: 'completed', pushed: true, leftOut: [] });
  expect(out.publish.published).toEqual([
    expect.objectContaining({ kind: d.onlyInCluster.kind, name: d.onlyInCluster.name, outcome: 'created' }),
  ]);
  expect(out.runs[2].counts).toMatchObject({ created: 0, updated: 0 }); // the ledger already knew its own commit
  expect(out.driftAfter.summary.byStatus).toMatchObject({ in_sync: TOTAL - 2, actual_only: 0 });
  expect(out.runs[0].counts).toMatchObject({ listed: TOTAL - 1, failed: 0 });
  expect(out.runs[1].counts).toMatchObject({ listed: TOTAL - 1, failed: 0 });

  const drift = out.drift;
  expect(drift.fabric).toBe('demo');
  expect(drift.summary.total).toBe(TOTAL);
  expect(drift.summary.byStatus).toEqual({
    in_sync: TOTAL - 3,
    spec_drift: 1,
    desired_only: 1,
    actual_only: 1,
    creation_pending: 0,
    deletion_pending: 0,
  });
  const byName = Object.fromEntries(drift.resources.map((x: { name: string }) => [x.name, x]));
  expect(Object.keys(byName).sort()).toEqual([d.changedVlan.name, d.onlyInGit.name, d.onlyInCluster.name].sort());
  expect(byName[d.changedVlan.name]).toEqual({
    kind: 'VPC',
    namespace: 'default',
    name: d.changedVlan.name,
    driftStatus: 'spec_drift',
    driftScore: expect.any(Number),
    driftSeverity: 'critical',
    differences: [
      { op: 'replace', path: VLAN_PATH, desired: d.changedVlan.gitValue, actual: d.changedVlan.clusterValue },
    ],
  });
  expect(byName[d.onlyInGit.name]).toMatchObject({
    kind: d.onlyInGit.kind,
    driftStatus: 'desired_only',
    driftScore: 1,
  });
  expect(byName[d.onlyInCluster.name]).toMatchObject({
    kind: d.onlyInCluster.kind,
    driftStatus: 'actual_only',
    driftScore: 1,
  });

  // The kept ledger answers the ordinary commands (the fake cluster is gone, the ledger is not).
  const later = await hh(['--data-dir', join(dir, 'pgdata'), 'drift', 'demo', '--json', '--exit-code']);
  expect(later.code).toBe(1);
  expect(JSON.parse(later.stdout)).toEqual(out.driftAfter);

  // Run again in the same directory: same result, the fabric updated rather than duplicated.
  const again = await hh(['demo', '--dir', dir, '--quiet']);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(
    `${TOTAL} objects: ${TOTAL - 3} in sync, 1 spec drift, 1 only in Git, 1 only in cluster`,
  );
  expect(messageLines(again.stderr)).toEqual([]);
  const fabrics = await hh(['--data-dir', join(dir, 'pgdata'), 'fabric', 'list', '--json']);
  expect(JSON.parse(fabrics.stdout).map((f: { name: string }) => f.name)).toEqual(['demo']);
}, 240_000);

test('Ctrl-C during the demo still stops everything and removes the temporary directory (exit 130)', async () => {
  let sent = false;
  let seen = '';
  const r = await runCli(['demo'], {
    timeoutMs: 90_000,
    onStderr: (chunk, child) => {
      seen += chunk;
      if (sent || !seen.includes('fake Kubernetes API on')) return;
      sent = true;
      child.kill('SIGINT');
    },
  });
  expect(sent).toBe(true);
  expect(r.code).toBe(130);
  expect(messageLines(r.stderr).join('\n')).toMatch(/interrupted by SIGINT/);
  const dir = /working in (\S+)/.exec(r.stderr)?.[1];
  const url = /fake Kubernetes API on (http:\/\/\S+)/.exec(r.stderr)?.[1];
  expect(existsSync(dir!)).toBe(false);
  await expect(fetch(`${url}/version`)).rejects.toThrow();
}, 120_000);

test('hh-sync demo --dir refuses a directory that holds something else (exit 2, nothing touched)', async () => {
  const dir = join(scratch, 'precious');
  mkdirSync(dir);
  writeFileSync(join(dir, 'notes.txt'), 'keep me');
  const r = await hh(['demo', '--dir', dir]);
  expect(r.code).toBe(2);
  expect(messageLines(r.stderr).join('\n')).toMatch(/is not empty and not a previous demo directory/);
  expect(existsSync(join(dir, 'pgdata'))).toBe(false);
});
