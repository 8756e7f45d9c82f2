/**
 * The watch's log output: JSON lines (pino) when stderr is not a terminal or with `--log-format json`, readable lines
 * on a terminal or with `--log-format text`; and the one line per run outcome (info completed, warn partial with its
 * problem count, warn failed with its error), counted in the metrics at the same time.
 */
import { pino } from 'pino';
import { watchLogDestination } from '../src/cli/watch-action.js';
import { resolveLogFormat, textLogLine } from '../src/cli/watch-log-format.js';
import { colorsFor } from '../src/cli/cli-output.js';
import type { SyncRunReport } from '../src/sync/run-recorder.js';
import { WatchMetrics } from '../src/watch/metrics.js';
import { problemsOf, recordRunOutcome } from '../src/watch/run-outcome.js';

function stream(isTTY: boolean) {
  const written: string[] = [];
  return { written, stderr: { isTTY, write: (s: string) => written.push(s) } };
}

const noColors = colorsFor({ isTTY: false, write: () => true }, {});

function report(over: Partial<SyncRunReport> = {}): SyncRunReport {
  return {
    id: 7,
    fabric: 'dc1',
    type: 'desired',
    status: 'completed',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:02.500Z',
    counts: { listed: 10, created: 1, updated: 2, unchanged: 7, cleared: 0, failed: 0 },
    errors: [],
    commit: 'abc123',
    skippedKinds: [],
    otherKinds: {},
    errorMessage: null,
    details: {},
    ...over,
  };
}

describe('log format', () => {
  test('auto: JSON lines when stderr is not a terminal', () => {
    const { written, stderr } = stream(false);
    const log = pino({ name: 'hh-sync' }, watchLogDestination({ stderr }, 'auto'));
    log.info({ fabric: 'dc1' }, 'watch started');
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({ level: 30, name: 'hh-sync', fabric: 'dc1', msg: 'watch started' });
  });

  test('auto: readable text on a terminal; --log-format json forces JSON there', () => {
    const tty = stream(true);
    pino({ name: 'hh-sync' }, watchLogDestination({ stderr: tty.stderr }, 'auto')).warn({ fabric: 'dc1' }, 'paused');
    expect(tty.written[0]).toMatch(/^.*\d\d:\d\d:\d\d\.\d{3}.* .*WARN .* paused .*fabric=.*dc1\n$/);
    expect(() => JSON.parse(tty.written[0]!)).toThrow();
    const forced = stream(true);
    pino({}, watchLogDestination({ stderr: forced.stderr }, 'json')).info('x');
    expect(JSON.parse(forced.written[0]!)).toMatchObject({ msg: 'x' });
    const text = stream(false);
    pino({}, watchLogDestination({ stderr: text.stderr }, 'text')).info('y');
    expect(text.written[0]).toMatch(/INFO {2}y\n$/);
  });

  test('resolveLogFormat', () => {
    expect(resolveLogFormat('auto', true)).toBe('text');
    expect(resolveLogFormat('auto', undefined)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('text', false)).toBe('text');
  });

  test('a text line: time, level, message, then the fields; pino bookkeeping left out', () => {
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 1, 12, 0, 1, 250),
      pid: 1,
      hostname: 'h',
      name: 'hh-sync',
      msg: 'desired run 7 of fabric "dc1" partial: 2 problems',
      fabric: 'dc1',
      problems: 2,
      counts: { failed: 2 },
      note: 'two words',
    });
    expect(textLogLine(line, noColors)).toBe(
      '12:00:01.250 WARN  desired run 7 of fabric "dc1" partial: 2 problems fabric=dc1 problems=2 counts={"failed":2} note="two words"\n',
    );
  });

  test('text from the cluster cannot drive the terminal: escape sequences and newlines are made inert', () => {
    const line = JSON.stringify({
      level: 30,
      time: 0,
      msg: 'obj \u001b]0;owned\u0007 done\nfake line',
      kind: 'V\u001b[2JPC',
    });
    const out = textLogLine(line, colorsFor({ isTTY: true, write: () => true }, { FORCE_COLOR: '1' }));
    expect(out).not.toContain('\u001b]');
    expect(out).not.toContain('\u001b[2J');
    expect(out.split('\n')).toHaveLength(2); // one line and its newline
    expect(out).toContain('kind=');
  });

  test('a line that is not JSON passes through', () => {
    expect(textLogLine('plain', noColors)).toBe('plain\n');
  });
});

describe('run outcomes', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const log = pino({}, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    return { lines, log };
  }

  test('completed: one info line with duration and counts; histogram, counter and last success updated', async () => {
    const { lines, log } = capture();
    const metrics = new WatchMetrics(() => Promise.resolve([]), undefined, { processMetrics: false });
    recordRunOutcome(report(), metrics, log);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'desired run 7 of fabric "dc1" completed',
        fabric: 'dc1',
        type: 'desired',
        run: 7,
        status: 'completed',
        durationMs: 2500,
        commit: 'abc123',
      }),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hh_sync_runs_total{fabric="dc1",type="desired",status="completed"} 1');
    expect(text).toContain('hh_sync_reconcile_duration_seconds_bucket{le="2.5",fabric="dc1",type="desired"} 1');
    expect(text).toContain('hh_sync_reconcile_duration_seconds_bucket{le="1",fabric="dc1",type="desired"} 0');
    expect(text).toContain(
      `hh_sync_last_successful_sync_timestamp_seconds{fabric="dc1",type="desired"} ${Date.UTC(2026, 0, 1, 0, 0, 2, 500) / 1000}`,
    );
  });

  test('partial: warn with the problem count, by what they are; no last success', async () => {
    const { lines, log } = capture();
    const metrics = new WatchMetrics(() => Promise.resolve([]), undefined, { processMetrics: false });
    const partial = report({
      type: 'watch',
      status: 'partial',
      errors: [
        { kind: 'VPC', namespace: 'default', name: 'a', reason: 'refused' },
        { kind: 'VPC', namespace: 'default', name: 'b', reason: 'refused' },
      ] as SyncRunReport['errors'],
      details: { errorsNotKept: 3, outages: [{ from: 'x', to: 'y', error: 'down' }] },
    });
    expect(problemsOf(partial)).toEqual({ total: 6, objects: 5, kinds: 0, outages: 1, unreadFiles: 0 });
    recordRunOutcome(partial, metrics, log);
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'watch run 7 of fabric "dc1" partial: 6 problems', problems: 6 }),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('hh_sync_runs_total{fabric="dc1",type="watch",status="partial"} 1');
    expect(text).not.toContain('hh_sync_last_successful_sync_timestamp_seconds{');
  });

  test('one problem is singular; failed: warn with the error, counted as a failure', async () => {
    const { lines, log } = capture();
    const metrics = new WatchMetrics(() => Promise.resolve([]), undefined, { processMetrics: false });
    recordRunOutcome(report({ status: 'partial', skippedKinds: [{ kind: 'VPC', reason: '403' }] }), metrics, log);
    recordRunOutcome(
      report({ id: 8, status: 'failed', errorMessage: 'git fetch failed: repository not found' }),
      metrics,
      log,
    );
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'desired run 7 of fabric "dc1" partial: 1 problem'],
      [40, 'desired run 8 of fabric "dc1" failed: git fetch failed: repository not found'],
    ]);
    expect(await metrics.registry.metrics()).toContain('hh_sync_run_failures_total{fabric="dc1",type="desired"} 1');
  });
});
