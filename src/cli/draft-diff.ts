/**
 * `hh-sync draft diff`: per drafted object, what publishing would change in Git (draft vs Git) and what Git
 * already holds that the cluster does not run (Git vs cluster), as RFC 6902-style paths with both values.
 * Pure: drafts in, differences and text out.
 *
 * Lists are compared as a whole here (no list keys): an element's pointer index can differ between the two
 * sides of a keyed list, and a value shown from the wrong element would mislead more than a long value.
 */
import { isRecord, jsonOrString } from '../common/values.js';
import { changedPaths } from '../writeback/three-way-merge.js';
import type { Draft } from '../drafts/drafts.js';
import type { DriftOp } from '../drift/types.js';
import type { Colors } from './cli-output.js';
import { shortRef } from './object-ref.js';
import { safeLine } from './terminal-text.js';
import { truncate } from './text-table.js';

export type DiffOp = 'add' | 'remove' | 'replace';

/** One difference turning `before` into `after`; path '' is the whole object (one side has none). */
export interface SpecDifference {
  op: DiffOp;
  path: string;
  before: unknown;
  after: unknown;
}

/** The differences of two specs, paths prefixed with /spec (undefined values: that side has no member). */
export function specDifferences(
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): SpecDifference[] {
  if (before === null && after === null) return [];
  if (before === null) return [{ op: 'add', path: '', before: undefined, after }];
  if (after === null) return [{ op: 'remove', path: '', before, after: undefined }];
  return changedPaths(before, after).map((pointer) => {
    const b = valueAt(before, pointer);
    const a = valueAt(after, pointer);
    const op: DiffOp = b === undefined ? 'add' : a === undefined ? 'remove' : 'replace';
    return { op, path: `/spec${pointer}`, before: b, after: a };
  });
}

/** The value an RFC 6901 pointer names, or undefined when the document has nothing there. */
export function valueAt(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let node: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return undefined;
      node = node[Number(segment)];
    } else if (isRecord(node) && Object.prototype.hasOwnProperty.call(node, segment)) {
      node = node[segment];
    } else return undefined;
  }
  return node;
}

/** One object's two comparisons. */
export interface DraftDiff {
  draft: Draft;
  /** Git → draft: what the next publish changes in Git (a delete draft: the whole object removed). */
  draftVsGit: SpecDifference[];
  /** cluster → Git: what applying Git would change in the cluster (as `hh-sync drift` shows it). */
  gitVsCluster: SpecDifference[];
}

/**
 * The two comparisons of a draft. `drift` is the ledger's drift of the object (`hh-sync drift`'s differences),
 * which knows server defaults and controller fill-ins are not drift; without it (drift never computed) the specs
 * are compared here, leaving out what only the cluster has for the same reason.
 */
export function draftDiff(draft: Draft, drift?: readonly DriftOp[]): DraftDiff {
  const drafted = draft.operation === 'delete' ? null : draft.spec;
  const gitVsCluster = drift
    ? drift.map((d) => ({ op: d.op, path: d.path, before: d.actual, after: d.desired }))
    : specDifferences(draft.actualSpec, draft.desiredSpec).filter((d) => d.op !== 'remove' || d.path === '');
  return { draft, draftVsGit: specDifferences(draft.desiredSpec, drafted), gitVsCluster };
}

const WHOLE = {
  draftVsGit: { add: 'new object: Git does not declare it yet', remove: 'publish deletes it from Git' },
  gitVsCluster: { add: 'declared in Git, not in the cluster', remove: 'in the cluster, not declared in Git' },
} as const;

function valueText(v: unknown, max: number): string {
  if (v === undefined) return '∅';
  return truncate(safeLine(typeof v === 'string' ? JSON.stringify(v) : jsonOrString(v)), max);
}

function differenceLines(
  title: string,
  diffs: SpecDifference[],
  whole: { add: string; remove: string },
  c: Colors,
): string[] {
  if (diffs.length === 0) return [`  ${title}: ${c.dim('no difference')}`];
  const lines = [`  ${title}:`];
  for (const d of diffs) {
    if (d.path === '' && d.op !== 'replace') {
      lines.push(`    ${d.op === 'add' ? c.green(whole.add) : c.red(whole.remove)}`);
      continue;
    }
    const change =
      d.op === 'add'
        ? c.green(`+ ${valueText(d.after, 50)}`)
        : d.op === 'remove'
          ? c.red(`- ${valueText(d.before, 50)}`)
          : `${valueText(d.before, 30)} → ${valueText(d.after, 30)}`;
    lines.push(`    ${d.op.padEnd(7)} ${safeLine(d.path)}: ${change}`);
  }
  return lines;
}

/** The diffs as text: a heading per object, then its two comparisons and any conflict with Git. */
export function formatDraftDiffs(diffs: DraftDiff[], c: Colors): string {
  if (diffs.length === 0) return 'No drafts.';
  const blocks = diffs.map(({ draft, draftVsGit, gitVsCluster }) => {
    const head = `${c.bold(safeLine(shortRef(draft)))}  ${draft.operation}${draft.conflictStatus === 'detected' ? c.red('  CONFLICT') : ''}`;
    const lines = [head];
    lines.push(...differenceLines('draft vs Git', draftVsGit, WHOLE.draftVsGit, c));
    lines.push(...differenceLines('Git vs cluster', gitVsCluster, WHOLE.gitVsCluster, c));
    // Conflict paths are recorded relative to the spec; shown like the paths above.
    for (const p of draft.conflict?.paths ?? []) {
      lines.push(
        c.red(
          `  conflict /spec${safeLine(p.path)}: base ${valueText(p.base, 20)}, draft ${valueText(p.ours, 20)}, Git ${valueText(p.theirs, 20)}`,
        ),
      );
    }
    return lines.join('\n');
  });
  return blocks.join('\n\n');
}
