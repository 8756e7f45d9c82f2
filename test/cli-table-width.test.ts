/**
 * Tables fitted to a width (pure: text in, lines out): display width as a terminal lays it out, cells cut with "…"
 * and never dropped, the drift report within 80 and 60 columns with a 300-character name and a long difference,
 * and `wide` cutting nothing.
 */
import pc from 'picocolors';
import stringWidth from 'string-width';
import { driftNames, formatDriftReport, type PrintableDriftReport } from '../src/cli/drift-table.js';
import { fitLine, renderTable, truncate, visibleLength } from '../src/cli/text-table.js';
import { terminalColumns } from '../src/cli/cli-output.js';
import { DRIFT_SEVERITIES, DRIFT_STATUSES, type DriftOp } from '../src/drift/types.js';

const plain = pc.createColors(false);
const colored = pc.createColors(true);
// eslint-disable-next-line no-control-regex -- colour codes are removed before measuring
const widest = (lines: string[]) => Math.max(...lines.map((l) => stringWidth(l.replace(/\x1b\[[0-9;]*m/g, ''))));

const NAME = `vpc-${'n'.repeat(296)}`; // 300 characters
const LONG_VALUE = `${'v'.repeat(100)} 値${'w'.repeat(100)}`;
const PATHS = ['/spec/a', '/spec/b', '/spec/c', '/spec/d', '/spec/e'];

function report(): PrintableDriftReport {
  const differences: DriftOp[] = PATHS.map((path, i) => ({
    op: 'replace',
    path,
    actual: i === 0 ? LONG_VALUE : i,
    desired: i === 0 ? 'short' : i + 1,
  }));
  const zero = <K extends string>(keys: readonly K[]) =>
    Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  return {
    fabric: 'dc1',
    summary: {
      total: 3,
      byStatus: { ...zero(DRIFT_STATUSES), in_sync: 1, spec_drift: 1, actual_only: 1 },
      bySeverity: { ...zero(DRIFT_SEVERITIES), none: 1, high: 2 },
      unchecked: 0,
    },
    resources: [
      {
        kind: 'VPC',
        namespace: 'tenant-a',
        name: NAME,
        driftStatus: 'spec_drift',
        driftScore: 5,
        driftSeverity: 'high',
        differences,
        extras: [],
        filePath: null,
        lastDriftCheck: null,
      },
      {
        kind: 'Switch',
        namespace: 'default',
        // Hostile text: an escape sequence that would clear the screen, and a newline.
        name: 'leaf-01\u001b[2J\nx',
        driftStatus: 'actual_only',
        driftScore: 1,
        driftSeverity: 'high',
        differences: [{ op: 'remove', path: '' }],
        extras: [],
        filePath: null,
        lastDriftCheck: null,
      },
    ],
    unreadable: [{ kind: 'VPC', namespace: 'default', name: NAME, reason: `refused: ${'r'.repeat(200)}` }],
  };
}

describe('display width', () => {
  test('wide characters count two columns, colour codes none; a cut keeps within the width', () => {
    expect(visibleLength('漢字')).toBe(4);
    expect(visibleLength(colored.red('abc'))).toBe(3);
    const cut = truncate('漢字漢字漢字', 7);
    expect(stringWidth(cut)).toBeLessThanOrEqual(7);
    expect(cut).toBe('漢字漢…');
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate(colored.red('abcdef'), 4)).toBe('abc…'); // cut: the colour goes, no code is left open
    // A combining accent is one grapheme with its letter: never split from it.
    expect(truncate('e\u0301e\u0301e\u0301', 3)).toBe('e\u0301e\u0301e\u0301');
    expect(truncate('e\u0301e\u0301e\u0301', 2)).toBe('e\u0301…');
  });

  test('renderTable cuts the shrinkable columns first, widest first, and never drops a column', () => {
    const lines = renderTable(['A', 'NAME', 'B', 'TEXT'], [['x', 'n'.repeat(50), 'yy', 't'.repeat(80)]], {
      width: 40,
      shrinkable: [1, 3],
    });
    expect(widest(lines)).toBeLessThanOrEqual(40);
    expect(lines[1]).toMatch(/^x {2}n+… {2}yy {2}t+…$/);
    // Too narrow for the shrinkable columns alone: the others are cut too, down to 3 columns.
    const tiny = renderTable(['KIND', 'NAME'], [['VPCAttachment', 'n'.repeat(30)]], { width: 14, shrinkable: [1] });
    expect(widest(tiny)).toBeLessThanOrEqual(14);
    expect(tiny).toEqual(['KIND    NAME', 'VPCAt…  nnnnn…']);
    // No width: nothing cut.
    expect(renderTable(['A'], [['a'.repeat(500)]])[1]).toBe('a'.repeat(500));
  });

  test('fitLine wraps prose at spaces and cuts a word longer than the line', () => {
    expect(fitLine('one two three four', 9)).toEqual(['one two', '  three', '  four']);
    expect(fitLine(`x ${'y'.repeat(20)}`, 10)).toEqual(['x', `  ${'y'.repeat(7)}…`]);
    expect(fitLine('whatever the length', undefined)).toEqual(['whatever the length']);
    expect(fitLine('  an indented line', 12)).toEqual(['  an', '    indented', '    line']);
    // Colours: kept on a line that fits, dropped from one that is wrapped (none left open).
    expect(fitLine(colored.yellow('short'), 10)).toEqual([colored.yellow('short')]);
    expect(fitLine(colored.yellow('one two three'), 9)).toEqual(['one two', '  three']);
  });

  test("the width: a terminal's columns, else COLUMNS, else 80", () => {
    expect(terminalColumns({ write: () => true, isTTY: true, columns: 57 }, { COLUMNS: '99' })).toBe(57);
    expect(terminalColumns({ write: () => true, isTTY: false, columns: 57 }, { COLUMNS: '99' })).toBe(99);
    expect(terminalColumns({ write: () => true }, { COLUMNS: '0' })).toBe(80);
    expect(terminalColumns({ write: () => true }, { COLUMNS: '12abc' })).toBe(80);
    expect(terminalColumns({ write: () => true, isTTY: true }, {})).toBe(80);
  });
});

describe('the drift report in a width', () => {
  test.each([80, 60])('every line within %i columns, the long cells cut with …, no column dropped', (width) => {
    for (const c of [plain, colored]) {
      const lines = formatDriftReport(report(), c, { width }).split('\n');
      expect(widest(lines)).toBeLessThanOrEqual(width);
      const text = lines.join('\n');
      expect(text).toContain('…');
      expect(text).not.toContain(NAME);
      for (const h of ['KIND', 'NAMESPACE', 'NAME', 'STATUS', 'SEVERITY', 'DIFF']) expect(text).toContain(h);
      expect(text).not.toContain('\u001b[2J');
      expect(text).toMatch(/could not be read/);
    }
  });

  test('wide: the whole name, every path, the whole value; nothing cut', () => {
    const text = formatDriftReport(report(), plain, { width: 60, wide: true, maxPaths: 1 });
    expect(text).toContain(NAME);
    for (const p of PATHS) expect(text).toContain(`${p}: `);
    expect(text).toContain(JSON.stringify(LONG_VALUE));
    expect(text).toContain(`refused: ${'r'.repeat(200)}`);
    expect(text).not.toMatch(/… \d+ more/);
    expect(text).not.toContain('\u001b[2J');
  });

  test('-o name: one inert line per object, Kind/namespace/name outside default', () => {
    expect(driftNames(report())).toBe(`VPC/tenant-a/${NAME}\nSwitch/leaf-01 x\n`);
    expect(driftNames({ ...report(), resources: [] })).toBe('');
  });

  test('no width (a library caller): as before, values cut at 40 and three paths, lines as long as they are', () => {
    const text = formatDriftReport(report(), plain);
    expect(text).toContain(NAME);
    expect(text).toContain('… 2 more (-o wide)');
    expect(text).not.toContain(JSON.stringify(LONG_VALUE));
  });
});
