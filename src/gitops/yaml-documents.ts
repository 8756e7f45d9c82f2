/**
 * A YAML stream cut into its documents, each loaded on its own so one broken document never
 * hides the others.
 *
 * Two parsers, each for what it does best:
 * - js-yaml (the parser @kubernetes/client-node uses) loads the VALUES of every document: it is
 *   about ten times faster than `yaml` on manifests (10,000 objects: ~0.2 s against ~1.5 s), and
 *   values always come from it, so a document means the same whichever path it takes.
 * - `yaml` (eemeli) with a LineCounter is consulted only when something needs a position or a
 *   guard: the line of an offending node, the message and line of a syntax error, and the alias
 *   expansion limit (its `maxAliasCount`) of any document that may contain aliases.
 *
 * The two agree on manifests (test/gitops-yaml-documents.test.ts cross-checks them on the fixtures,
 * the docs corpus and generated documents). Known differences, all far from real manifests:
 * `0b101` is a number for js-yaml and a string for `yaml`; `1e999` is a string for js-yaml (as for
 * go-yaml) and Infinity for `yaml`; a compact nested empty item (`- -`) nests differently.
 *
 * Cutting is exact, not heuristic: by the YAML spec a line starting with `---` or `...` followed by
 * a space, tab or line end can only be a document marker (it is forbidden inside any scalar or
 * collection, and it ends block scalars).
 */
import jsyaml from 'js-yaml';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';

/** YAML 1.2 core schema (no timestamps, no !!binary) plus `<<` merge keys, which Kubernetes tooling honours. */
const SCHEMA = jsyaml.CORE_SCHEMA.extend({
  // js-yaml exports its built-in types as `types`; @types/js-yaml does not declare it.
  implicit: [(jsyaml as unknown as { types: { merge: jsyaml.Type } }).types.merge],
});

/** One document's slice of the file. */
export interface YamlSegment {
  text: string;
  /** 1-based file line of the segment's first line. */
  startLine: number;
  /** 1-based file line of the document's content (its first key), or null if it holds none. */
  contentLine: number | null;
}

const DIRECTIVES_END = /^---(?:[ \t]|$)/;
const DOCUMENT_END = /^\.\.\.(?:[ \t]|$)/;
const BLANK_OR_COMMENT = /^[ \t]*(?:#.*)?$/;

/**
 * Cut a YAML stream into document segments at its `---` / `...` marker lines. Directives
 * (`%YAML`, `%TAG`) stay with the document their `---` opens.
 */
export function splitYamlDocuments(text: string): YamlSegment[] {
  const segments: YamlSegment[] = [];
  let segStart = 0;
  let segStartLine = 1;
  let contentLine: number | null = null;
  let hasDirective = false;
  const close = (end: number) => {
    if (end > segStart) segments.push({ text: text.slice(segStart, end), startLine: segStartLine, contentLine });
  };
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    let l = text.slice(pos, nl);
    if (l.endsWith('\r')) l = l.slice(0, -1);
    const next = nl + 1;
    if (DIRECTIVES_END.test(l)) {
      // A new document starts here, unless only directives (and comments) precede this marker.
      if (!(contentLine === null && hasDirective)) {
        close(pos);
        segStart = pos;
        segStartLine = line;
      }
      hasDirective = false;
      contentLine = BLANK_OR_COMMENT.test(l.slice(3)) ? null : line;
    } else if (DOCUMENT_END.test(l)) {
      // The document ends with this line; whatever follows belongs to the next one.
      close(Math.min(next, text.length));
      segStart = Math.min(next, text.length);
      segStartLine = line + 1;
      contentLine = null;
      hasDirective = false;
    } else if (contentLine === null) {
      if (l.startsWith('%')) hasDirective = true;
      else if (!BLANK_OR_COMMENT.test(l)) contentLine = line;
    }
    pos = next;
    line++;
  }
  close(text.length);
  return segments;
}

export type SegmentLoad = { ok: true; value: unknown } | { ok: false; line: number; reason: string };

/** A document segment: its value from js-yaml, and positions from `yaml`, parsed only on demand. */
export class YamlDocument {
  private ast: { doc: Document.Parsed | null; lines: LineCounter } | null = null;

  constructor(readonly segment: YamlSegment) {}

  /** The line of the document, for problems of the whole object. */
  get line(): number {
    return this.segment.contentLine ?? this.segment.startLine;
  }

  /** Load the document's value; a syntax error is reported with `yaml`'s message and line when it has one. */
  load(): SegmentLoad {
    try {
      return { ok: true, value: jsyaml.load(this.segment.text, { schema: SCHEMA }) };
    } catch (e) {
      if (!(e instanceof jsyaml.YAMLException)) throw e;
      const yamlErr = this.tree().doc?.errors[0];
      const pos = yamlErr?.linePos?.[0];
      if (yamlErr && pos) {
        const msg = yamlErr.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        const line = pos.line + this.segment.startLine - 1;
        return { ok: false, line, reason: `invalid YAML: ${msg} (line ${line}, column ${pos.col})` };
      }
      const mark = e.mark as { line?: number; column?: number } | undefined;
      const line = (mark?.line ?? 0) + this.segment.startLine;
      const where = mark?.line !== undefined ? ` (line ${line}, column ${(mark.column ?? 0) + 1})` : '';
      return { ok: false, line, reason: `invalid YAML: ${e.reason || e.message}${where}` };
    }
  }

  /**
   * The alias guard: refuse a document whose alias expansion exceeds `maxAliasCount` (checked by
   * `yaml`, whose counting this limit is defined by). Only documents containing `*` can hold aliases.
   */
  aliasProblem(maxAliasCount: number): string | null {
    if (!this.segment.text.includes('*')) return null;
    const doc = this.tree().doc;
    if (!doc || doc.errors.length > 0) {
      return `cannot check YAML alias expansion: ${doc?.errors[0]?.message.split('\n')[0] ?? 'no document'}`;
    }
    try {
      doc.toJS({ maxAliasCount });
      return null;
    } catch (e) {
      const msg = (e as Error).message;
      return /alias/i.test(msg)
        ? `YAML alias expansion exceeds the limit of ${maxAliasCount} (a resource exhaustion guard); document refused`
        : `YAML document cannot be converted to data: ${msg}`;
    }
  }

  /** kind/namespace/name read from the nodes of a document that does not load, when they are plain scalars. */
  scalarAt(path: string[]): string | undefined {
    try {
      const v = this.tree().doc?.getIn(path);
      return typeof v === 'string' && v ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Line of the deepest node of `path` that exists: the key line for a map entry, the item line
   * for a sequence element; the document line when not even the first step exists.
   */
  lineOf(path: readonly (string | number)[]): number {
    const { doc, lines } = this.tree();
    const contents = doc?.contents;
    if (!doc || !contents?.range) return this.line;
    let node: unknown = contents;
    let offset = contents.range[0];
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyRange = (pair.key as YamlNode).range;
        if (keyRange) offset = keyRange[0];
        node = pair.value;
      } else if (isSeq(node) && /^\d+$/.test(String(seg))) {
        const item = node.items[Number(seg)] as YamlNode | undefined;
        if (!item?.range) break;
        offset = item.range[0];
        node = item;
      } else {
        break;
      }
    }
    return lines.linePos(offset).line + this.segment.startLine - 1;
  }

  private tree(): { doc: Document.Parsed | null; lines: LineCounter } {
    if (!this.ast) {
      const lines = new LineCounter();
      const docs = parseAllDocuments(this.segment.text, { lineCounter: lines, merge: true, logLevel: 'silent' });
      const list = Array.isArray(docs) ? docs : [];
      const doc =
        list.find(
          (d) => d.errors.length > 0 || (d.contents !== null && !(isScalar(d.contents) && d.contents.value === null)),
        ) ??
        list[0] ??
        null;
      this.ast = { doc, lines };
    }
    return this.ast;
  }
}
