import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CRITICAL_PATHS,
  DRIFT_SEVERITIES,
  DRIFT_STATUSES,
  severityFor,
  summarizeDrift,
  touchesCriticalPath,
  type DriftOp,
  type DriftSeverity,
  type DriftStatus,
} from '../src/drift/index.js';

const specOp = (path: string, extra: Partial<DriftOp> = {}): DriftOp => ({
  op: 'replace',
  path,
  desired: 1,
  actual: 2,
  ...extra,
});

describe('severityFor (the documented table, row by row)', () => {
  test.each<[string, string, DriftStatus, number, DriftOp[], DriftSeverity]>([
    ['row 1', 'Server', 'in_sync', 0, [], 'none'],
    ['row 2', 'Switch', 'creation_pending', 1, [], 'low'],
    ['row 2', 'Switch', 'deletion_pending', 1, [], 'low'],
    ['row 3', 'Server', 'desired_only', 1, [], 'high'],
    ['row 4', 'Server', 'actual_only', 1, [], 'medium'],
    ['row 5: Switch ASN', 'Switch', 'spec_drift', 0.1, [specOp('/spec/asn')], 'critical'],
    ['row 5: below a critical path', 'Switch', 'spec_drift', 0.1, [specOp('/spec/boot/mac')], 'critical'],
    [
      'row 5: Connection link, any connection type',
      'Connection',
      'spec_drift',
      0.1,
      [specOp('/spec/unbundled/link/switch/port')],
      'critical',
    ],
    [
      'row 5: a removed subnet holds its vlan',
      'VPC',
      'spec_drift',
      0.1,
      [{ op: 'remove', path: '/spec/subnets/old', actual: { vlan: 5 } }],
      'critical',
    ],
    [
      'row 5 beats row 6 and 7',
      'Switch',
      'spec_drift',
      0.9,
      [specOp('/metadata/labels/a'), specOp('/spec/role')],
      'critical',
    ],
    [
      'row 6: labels only',
      'Switch',
      'spec_drift',
      0.9,
      [specOp('/metadata/labels/a'), specOp('/metadata/annotations/b')],
      'low',
    ],
    ['row 7: score at the threshold', 'Server', 'spec_drift', 0.5, [specOp('/spec/description')], 'high'],
    ['row 8: below the threshold', 'Server', 'spec_drift', 0.49, [specOp('/spec/description')], 'medium'],
    [
      'row 8: a Switch field that is not critical',
      'Switch',
      'spec_drift',
      0.2,
      [specOp('/spec/description')],
      'medium',
    ],
    [
      'row 8: a subnet op without subnet/vlan inside',
      'VPC',
      'spec_drift',
      0.2,
      [{ op: 'add', path: '/spec/subnets/x', desired: { isolated: true } }],
      'medium',
    ],
    ['row 8: a kind without critical paths', 'SwitchProfile', 'spec_drift', 0.2, [specOp('/spec/ports')], 'medium'],
  ])('%s (%s %s, score %s)', (_row, kind, status, score, ops, expected) => {
    expect(severityFor(kind, status, score, ops)).toBe(expected);
  });

  test('a critical pointer matches by segment, not by string prefix', () => {
    expect(touchesCriticalPath('Switch', specOp('/spec/ipv6'))).toBe(false);
    expect(touchesCriticalPath('Switch', specOp('/spec/ip'))).toBe(true);
    expect(touchesCriticalPath('VPC', specOp('/spec/subnets/a/vlanX'))).toBe(false);
  });

  test('docs/drift.md carries the same critical paths as the code', () => {
    const doc = readFileSync(fileURLToPath(new URL('../docs/drift.md', import.meta.url)), 'utf8');
    for (const [kind, pointers] of Object.entries(CRITICAL_PATHS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${kind} `));
      expect(row).toBeDefined();
      for (const p of pointers) expect(row).toContain(p.replace(/\*/g, '{any}'));
    }
  });
});

describe('summarizeDrift', () => {
  test('counts per status and per severity, every key present', () => {
    const s = summarizeDrift([
      { driftStatus: 'in_sync', driftSeverity: 'none' },
      { driftStatus: 'spec_drift', driftSeverity: 'critical' },
      { driftStatus: 'spec_drift', driftSeverity: 'low' },
      { driftStatus: 'actual_only', driftSeverity: 'medium' },
    ]);
    expect(s.total).toBe(4);
    expect(Object.keys(s.byStatus)).toEqual([...DRIFT_STATUSES]);
    expect(Object.keys(s.bySeverity)).toEqual([...DRIFT_SEVERITIES]);
    expect(s.byStatus).toMatchObject({ in_sync: 1, spec_drift: 2, actual_only: 1, desired_only: 0 });
    expect(s.bySeverity).toMatchObject({ none: 1, low: 1, medium: 1, high: 0, critical: 1 });
  });

  test('empty input and unknown values', () => {
    expect(summarizeDrift([]).total).toBe(0);
    expect(() => summarizeDrift([{ driftStatus: 'drifting' as DriftStatus, driftSeverity: 'none' }])).toThrow(
      /unknown drift status "drifting"/,
    );
    expect(() => summarizeDrift([{ driftStatus: 'in_sync', driftSeverity: 'bad' as DriftSeverity }])).toThrow(
      /unknown drift severity "bad"/,
    );
  });
});
