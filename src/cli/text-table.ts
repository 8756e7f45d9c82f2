/**
 * Aligned text columns for terminal output, fitted to the terminal's width. Widths are display widths (colour codes
 * count for nothing, a CJK character or an emoji for two), measured by string-width as terminals lay them out.
 */
import stringWidth from 'string-width';

// eslint-disable-next-line no-control-regex -- ESC introduces the colour codes this pattern removes
const ANSI = /\x1b\[[0-9;]*m/g;

/** The columns `s` takes on a terminal. */
export function visibleLength(s: string): number {
  return stringWidth(s);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Cuts a string to at most `max` display columns, marking the cut with "…". Colour codes are dropped from a string
 * that is cut (a cut could leave one open); one that fits is returned as it is.
 */
export function truncate(s: string, max: number): string {
  if (visibleLength(s) <= max) return s;
  if (max <= 0) return '';
  let kept = '';
  let width = 0;
  for (const { segment } of graphemes.segment(s.replace(ANSI, ''))) {
    const w = stringWidth(segment);
    if (width + w > max - 1) break;
    kept += segment;
    width += w;
  }
  return `${kept}…`;
}

export interface TableLayout {
  /** Display columns every line must fit in; undefined: no limit (`-o wide`). */
  width?: number;
  /**
   * The columns cut first when a line is too wide (the ones holding long names or text), widest first, each down
   * to 8 columns; then any column, down to 3.
   */
  shrinkable?: readonly number[];
  /** Spaces between columns (default 2). */
  gap?: number;
}

const SHRINK_FIRST_MIN = 8;
const SHRINK_ANY_MIN = 3;

/** Each column's width: the widest line of its cells. */
function naturalWidths(all: (string | undefined)[][], columns: number): number[] {
  return Array.from({ length: columns }, (_, i) =>
    Math.max(...all.map((r) => Math.max(...(r[i] ?? '').split('\n').map(visibleLength)))),
  );
}

/**
 * Narrows the columns until a line fits `width`: the widest shrinkable column loses a column at a time (so two long
 * columns end up sharing the room), then, if that is not enough, the widest of all. Columns are cut, never dropped.
 */
function fitWidths(widths: number[], width: number, gap: number, shrinkable: readonly number[]): number[] {
  const fitted = [...widths];
  const total = () => fitted.reduce((sum, w) => sum + w, 0) + gap * (fitted.length - 1);
  const narrowest = (candidates: readonly number[], min: number): boolean => {
    let widest = -1;
    for (const i of candidates) if (fitted[i]! > min && (widest < 0 || fitted[i]! > fitted[widest]!)) widest = i;
    if (widest < 0) return false;
    fitted[widest]!--;
    return true;
  };
  const every = fitted.map((_, i) => i);
  while (total() > width) {
    if (!narrowest(shrinkable, SHRINK_FIRST_MIN) && !narrowest(every, SHRINK_ANY_MIN)) break;
  }
  return fitted;
}

/**
 * Rows of cells → lines. The last column is not padded (it may be long); a cell may hold several lines, printed
 * below each other with the other columns left blank. With `layout.width`, cells are cut with "…" so that every
 * line fits it (header included).
 */
export function renderTable(header: string[], rows: (string | undefined)[][], layout: TableLayout = {}): string[] {
  const gap = layout.gap ?? 2;
  const all = [header, ...rows];
  const natural = naturalWidths(all, header.length);
  const widths = layout.width === undefined ? natural : fitWidths(natural, layout.width, gap, layout.shrinkable ?? []);
  const lines: string[] = [];
  for (const row of all) {
    const cells = row.map((c, i) => (c ?? '').split('\n').map((text) => truncate(text, widths[i]!)));
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

/**
 * One line of prose fitted to `width`: wrapped at spaces (continuation lines indented by `indent`), a word longer
 * than a line cut with "…". Undefined width, or a line that fits: the line as it is. A wrapped line loses its colours
 * (a colour opened on one line and closed on a cut word would spill onto what follows).
 */
export function fitLine(text: string, width: number | undefined, indent = '  '): string[] {
  if (width === undefined || visibleLength(text) <= width) return [text];
  const line = text.replace(ANSI, '');
  // The line's own indentation is kept; continuation lines are indented further.
  const lead = /^ */.exec(line)![0];
  const lines: string[] = [];
  let current = lead;
  for (const word of line.slice(lead.length).split(' ')) {
    const candidate = current.trim() === '' ? `${current}${word}` : `${current} ${word}`;
    if (visibleLength(candidate) <= width || current.trim() === '') {
      current = candidate;
      continue;
    }
    lines.push(current);
    current = `${lead}${indent}${word}`;
  }
  lines.push(current);
  return lines.map((l) => truncate(l, width));
}
