/** Aligned text columns for terminal output (colour codes do not count towards a column's width). */

// eslint-disable-next-line no-control-regex -- ESC introduces the colour codes this pattern removes
const ANSI = /\x1b\[[0-9;]*m/g;

export function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

/** Cuts a plain (uncoloured) string to `max` characters, marking the cut with "…". */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Rows of cells → lines. The last column is not padded (it may be long); a cell may hold several lines,
 * printed below each other with the other columns left blank.
 */
export function renderTable(header: string[], rows: (string | undefined)[][], gap = 2): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) =>
    Math.max(...all.map((r) => Math.max(...(r[i] ?? '').split('\n').map(visibleLength)))),
  );
  const lines: string[] = [];
  for (const row of all) {
    const cells = row.map((c) => (c ?? '').split('\n'));
    const height = Math.max(...cells.map((c) => c.length));
    for (let h = 0; h < height; h++) {
      const parts = cells.map((c, i) => {
        const text = c[h] ?? '';
        return i === cells.length - 1 ? text : text + ' '.repeat(widths[i]! - visibleLength(text) + gap);
      });
      lines.push(parts.join('').trimEnd());
    }
  }
  return lines;
}
