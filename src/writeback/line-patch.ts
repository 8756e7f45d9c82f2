/**
 * Carry a re-rendered edit back onto the original text, line by line (a small diff3).
 *
 * The `yaml` writer re-spaces a whole document (`key:  value`, comments after a key, odd indents),
 * so an edited document written by it differs from its source in lines the edit never touched.
 * Given the source O, the writer's rendering R0 of the UNEDITED document and its rendering R1 of
 * the edited one, the lines R1 changes relative to R0 are exactly the edit; when those lines (and
 * the place of an insertion) appear unchanged in O, the same change is applied to O and every
 * other line of O stays as written. When they do not (the edit touches a line the writer
 * re-spaced) there is no safe place: null, and the caller uses R1.
 *
 * The result is not trusted blindly: the caller reads it back and compares values.
 */

/** Above this many lines per side, skip the quadratic line matching (the caller falls back to R1). */
const MAX_LINES = 3000;

/** Pairs [i, j] of equal lines a[i] === b[j] forming a longest common subsequence, in order. */
function commonLines(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  // lengths[i * (m + 1) + j]: LCS length of a[i..] and b[j..].
  const lengths = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lengths[i * (m + 1) + j] =
        a[i] === b[j]
          ? lengths[(i + 1) * (m + 1) + j + 1]! + 1
          : Math.max(lengths[(i + 1) * (m + 1) + j]!, lengths[i * (m + 1) + j + 1]!);
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if (lengths[(i + 1) * (m + 1) + j]! >= lengths[i * (m + 1) + j + 1]!) i++;
    else j++;
  }
  return pairs;
}

interface Hunk {
  /** R0 lines [start, end) are replaced by `lines` (from R1). */
  start: number;
  end: number;
  lines: string[];
}

function hunks(r0: readonly string[], r1: readonly string[]): Hunk[] {
  const out: Hunk[] = [];
  let i = 0;
  let j = 0;
  for (const [mi, mj] of [...commonLines(r0, r1), [r0.length, r1.length] as [number, number]]) {
    if (mi > i || mj > j) out.push({ start: i, end: mi, lines: r1.slice(j, mj) });
    i = mi + 1;
    j = mj + 1;
  }
  return out;
}

/** Where a hunk lands in O: O lines [from, to) to replace, or null when its place in O is not certain. */
function placeInOriginal(h: Hunk, toOriginal: Map<number, number>): { from: number; to: number } | null {
  if (h.end > h.start) {
    const from = toOriginal.get(h.start);
    if (from === undefined) return null;
    for (let k = h.start; k < h.end; k++) if (toOriginal.get(k) !== from + (k - h.start)) return null;
    return { from, to: from + (h.end - h.start) };
  }
  // An insertion goes right before the R0 line that follows it, or after the one before it. Verified by the caller.
  const after = toOriginal.get(h.start);
  if (after !== undefined) return { from: after, to: after };
  const before = h.start > 0 ? toOriginal.get(h.start - 1) : undefined;
  return before === undefined ? null : { from: before + 1, to: before + 1 };
}

/**
 * O with the change from R0 to R1 applied where its lines are unchanged in O; null when some
 * change has no certain place. CRLF in O is kept, inserted lines included. R0 and R1 use '\n'.
 */
export function carryOver(source: string, rendered0: string, rendered1: string): string | null {
  // The writer always ends with a newline; so must the source while lines are matched.
  const original = source.endsWith('\n') ? source : `${source}\n`;
  const o = original.split('\n');
  const r0 = rendered0.split('\n');
  const r1 = rendered1.split('\n');
  if (Math.max(o.length, r0.length, r1.length) > MAX_LINES) return null;
  const crlf = original.includes('\r\n');
  const plain = o.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const toOriginal = new Map(commonLines(r0, plain));
  const placed: { from: number; to: number; lines: string[] }[] = [];
  for (const h of hunks(r0, r1)) {
    const at = placeInOriginal(h, toOriginal);
    if (!at) return null;
    placed.push({ ...at, lines: h.lines });
  }
  const out = [...o];
  for (const p of placed.reverse()) {
    // The last line of a text ending in a newline is '' and carries no '\r'.
    const lines = p.lines.map((l, k) => (crlf && !(p.from + k === o.length - 1 && l === '') ? `${l}\r` : l));
    out.splice(p.from, p.to - p.from, ...lines);
  }
  const patched = out.join('\n');
  return original === source ? patched : patched.replace(/\r?\n$/, '');
}
