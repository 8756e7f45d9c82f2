/**
 * Editing fabric objects inside one YAML manifest file for write-back. Pure: text in, text out
 * (no file system, no Git, no database).
 *
 * The file is cut into its documents with `splitYamlDocuments`, which keeps each document's exact
 * text, and put back together by concatenation: a document no edit touches is byte-identical.
 * Within the document that holds an edited object:
 * - only the values that differ (apiVersion, metadata.labels, metadata.annotations, spec) change;
 * - single-line scalar changes are spliced into the source text (every other byte stays);
 * - anything else goes through the `yaml` Document API (see yaml-value-edit.ts, which also says how
 *   anchors, aliases and merge keys are handled), and the lines that edit changes are carried back
 *   onto the source (line-patch.ts), so the other lines stay as written; only when a change falls
 *   on a line `yaml`'s writer would re-space is that document written whole by `yaml` (comments,
 *   key order and quoting still survive; indent and sequence style are taken from the source);
 * - the document's line endings (CRLF stays CRLF) and trailing newlines are kept; a file's UTF-8 BOM
 *   stays at the start of the file.
 * Every edited document is read back (with the loader the desired-state source uses) and must equal
 * the intended value exactly; otherwise the edit is refused rather than written.
 *
 * Objects inside a `kind: List` / `kind: <X>List` document's `items` are edited or removed in place.
 *
 * Deleting a document removes its text, except two comment blocks that belong to the file rather
 * than the object: the first document's file header (its leading lines up to the last blank line
 * before the content, when they hold a comment) and a trailing block of column-0 comments after the
 * content when another document follows (generated wiring files put the NEXT document's heading
 * there). A List document whose last item is deleted is removed like a document.
 */
import { parseDocument, stringify } from 'yaml';
import { isRecord } from '../common/values.js';
import { jsonEqual } from '../crds/schema-defaults.js';
import { splitYamlDocuments, YamlDocument, type YamlSegment } from '../gitops/yaml-documents.js';
import { carryOver } from './line-patch.js';
import {
  applyValueOp,
  diffValues,
  MAX_ALIAS_COUNT,
  sortKeysDeep,
  spliceScalarOps,
  toStringOptionsLike,
  type ValueOp,
} from './yaml-value-edit.js';

/** An object's identity in a file; `namespace` is 'default' when a document has none. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

export interface FabricObjectDoc {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
}

export type ManifestEdit = { op: 'put'; object: FabricObjectDoc } | { op: 'delete'; ref: ObjectRef };

export type EditResult = 'updated' | 'unchanged' | 'appended' | 'deleted' | 'not-found';

export interface EditOutcome {
  /**
   * The new file text; null when a delete left no document with content (delete the file), or when
   * `text` was null and nothing was added. A file that held no object and lost none stays as it is.
   */
  text: string | null;
  results: { ref: ObjectRef; outcome: EditResult }[];
}

const BOM = '\uFEFF';

/**
 * Apply `edits` in order to one manifest file (`text` null: the file does not exist yet).
 * Throws when a document does not parse or an object is declared twice in the file.
 */
export function editManifestFile(
  text: string | null,
  edits: readonly ManifestEdit[],
  opts: { file?: string } = {},
): EditOutcome {
  const file = opts.file ?? 'manifest';
  const bom = text?.startsWith(BOM) ? BOM : '';
  let body = text === null ? null : text.slice(bom.length);
  let deletedAny = false;
  const results: EditOutcome['results'] = [];
  // Parsing every document of the file is the cost of an edit: the index is kept across edits of the same file
  // (an in-place update keeps its documents where they were), and rebuilt only after an append or a delete.
  let index: FileIndex | null | undefined;
  for (const edit of edits) {
    index ??= body === null ? null : indexFile(body, file);
    const step =
      edit.op === 'put' ? putObject(body, edit.object, file, index) : deleteObject(body, edit.ref, file, index);
    body = step.text;
    index = step.index;
    deletedAny ||= step.outcome === 'deleted';
    results.push({ ref: edit.op === 'put' ? refOfObject(edit.object) : edit.ref, outcome: step.outcome });
  }
  if (body === null || ((deletedAny || text === null) && !hasContent(body))) return { text: null, results };
  return { text: bom + body, results };
}

/** A new manifest document: apiVersion, kind, metadata, spec; maps' keys sorted; 2-space indent. */
export function renderNewManifest(object: FabricObjectDoc): string {
  const { name, namespace, labels, annotations } = object.metadata;
  const metadata: Record<string, unknown> = { name };
  if (namespace && namespace !== 'default') metadata.namespace = namespace;
  if (labels && Object.keys(labels).length > 0) metadata.labels = sortKeysDeep(jsonCopy(labels));
  if (annotations && Object.keys(annotations).length > 0) metadata.annotations = sortKeysDeep(jsonCopy(annotations));
  const doc = { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: sortKeysDeep(jsonCopy(object.spec)) };
  // compat yaml-1.1 quotes strings a YAML 1.1 reader (go-yaml, hence kubectl) would take for booleans: on, yes, n.
  return stringify(doc, { indent: 2, lineWidth: 0, compat: 'yaml-1.1' });
}

export const DEFAULT_MANAGED_FILE_TEMPLATE = 'managed/{plural}/{name}.yaml';

/**
 * The repository path of an object's managed file: `template` with {plural} {kind} {namespace}
 * {name} filled in, under `basePath` ('' is the repository root). Both are user configuration, so a
 * result outside `basePath`, with '..' segments, absolute, with NUL or backslashes, or not ending
 * in .yaml/.yml is refused.
 */
export function managedFilePath(
  template: string,
  basePath: string,
  o: { kind: string; plural: string; namespace: string; name: string },
): string {
  const values: Record<string, string> = { plural: o.plural, kind: o.kind, namespace: o.namespace, name: o.name };
  const filled = template.replace(/\{([^{}]*)\}/g, (_m, key: string) => {
    const where = `managed file template ${JSON.stringify(template)}`;
    // hasOwn: a template saying {constructor} must not reach Object.prototype.
    if (!Object.hasOwn(values, key)) throw new Error(`${where}: unknown placeholder {${key}}`);
    const value = values[key]!;
    if (value === '' || /[/\\\0]/.test(value) || value === '.' || value === '..')
      throw new Error(`${where}: {${key}} value ${JSON.stringify(value)} is not a path segment`);
    return value;
  });
  const base = relativeSegments('base path', basePath);
  const joined = [...base, ...relativeSegments('managed file path', filled)].join('/');
  if (!/\.ya?ml$/.test(joined) || joined.length <= base.join('/').length + 1)
    throw new Error(
      `managed file path ${JSON.stringify(joined)} must name a .yaml/.yml file inside ${JSON.stringify(basePath)}`,
    );
  return joined;
}

/**
 * The segments of a relative posix path, '' and '.' dropped. Refused: absolute, '..' (so nothing
 * can climb out of the base path), backslashes (a Windows separator) and NUL.
 */
function relativeSegments(what: string, p: string): string[] {
  if (/[\\\0]/.test(p) || p.startsWith('/') || p.split('/').includes('..'))
    throw new Error(`${what} ${JSON.stringify(p)} must be a relative path without '..', backslashes or NUL`);
  return p.split('/').filter((s) => s !== '' && s !== '.');
}

// ---------------------------------------------------------------------------------------------
// Locating objects

interface Located {
  segment: number;
  /** Index in a List document's `items`; null for an object document. */
  item: number | null;
  line: number;
}

interface FileIndex {
  segments: YamlSegment[];
  values: unknown[];
  objects: Map<string, Located>;
}

function refKey(ref: ObjectRef): string {
  return JSON.stringify([ref.kind, ref.namespace, ref.name]);
}

function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

function refOfObject(o: FabricObjectDoc): ObjectRef {
  return { kind: o.kind, namespace: o.metadata.namespace || 'default', name: o.metadata.name };
}

function refOfValue(v: unknown): ObjectRef | null {
  if (!isRecord(v) || typeof v.kind !== 'string' || !isRecord(v.metadata)) return null;
  const { name, namespace } = v.metadata;
  if (typeof name !== 'string' || name === '') return null;
  return { kind: v.kind, namespace: typeof namespace === 'string' && namespace ? namespace : 'default', name };
}

function isListDocument(v: unknown): v is { kind: string; items: unknown[] } {
  return isRecord(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

function indexFile(body: string, file: string): FileIndex {
  const segments = splitYamlDocuments(body);
  const values: unknown[] = [];
  const objects = new Map<string, Located>();
  const add = (ref: ObjectRef | null, at: Located) => {
    if (!ref) return;
    const seen = objects.get(refKey(ref));
    if (seen)
      throw new Error(
        `${file}: ${describe(ref)} is declared twice (lines ${seen.line} and ${at.line}); refusing to edit`,
      );
    objects.set(refKey(ref), at);
  };
  segments.forEach((segment, s) => {
    const doc = new YamlDocument(segment);
    const loaded = doc.load();
    if (!loaded.ok)
      throw new Error(`${file}: cannot edit, the document at line ${loaded.line} does not parse: ${loaded.reason}`);
    values.push(loaded.value);
    if (isListDocument(loaded.value))
      loaded.value.items.forEach((item, i) =>
        add(refOfValue(item), { segment: s, item: i, line: doc.lineOf(['items', i]) }),
      );
    else add(refOfValue(loaded.value), { segment: s, item: null, line: doc.line });
  });
  return { segments, values, objects };
}

function hasContent(text: string): boolean {
  return splitYamlDocuments(text).some((s) => s.contentLine !== null);
}

// ---------------------------------------------------------------------------------------------
// put / delete

interface Step {
  text: string | null;
  outcome: EditResult;
  /** The index of `text` when the step could keep it up to date; undefined: rebuild it. */
  index: FileIndex | null | undefined;
}

function putObject(body: string | null, object: FabricObjectDoc, file: string, index: FileIndex | null): Step {
  const ref = refOfObject(object);
  const at = index?.objects.get(refKey(ref));
  if (!index || !at) return { text: appendDocument(body, object), outcome: 'appended', index: undefined };
  const segment = index.segments[at.segment]!;
  const where = `${file}: ${describe(ref)} (line ${at.line})`;
  guardAliases(segment, where);
  const docValue = index.values[at.segment];
  const prefix = at.item === null ? [] : ['items', String(at.item)];
  const current = at.item === null ? docValue : (docValue as { items: unknown[] }).items[at.item];
  const wanted = withManagedFields(current as Record<string, unknown>, object);
  const ops: ValueOp[] = [];
  diffValues(current, wanted, prefix, ops);
  if (ops.length === 0) return { text: body, outcome: 'unchanged', index };
  const expected = at.item === null ? wanted : replaceItem(docValue, at.item, wanted);
  const edited = rewriteDocument(segment, ops, expected, where);
  const joined = joinChecked(index.segments, at.segment, edited, where);
  // Same documents in the same places: only the edited one's text and value changed.
  const values = index.values.map((v, i) => (i === at.segment ? expected : v));
  return { text: joined.text, outcome: 'updated', index: { ...index, segments: joined.segments, values } };
}

function deleteObject(body: string | null, ref: ObjectRef, file: string, index: FileIndex | null): Step {
  const at = index?.objects.get(refKey(ref));
  if (!index || !at) return { text: body, outcome: 'not-found', index };
  const docValue = index.values[at.segment] as { items: unknown[] };
  if (at.item === null || docValue.items.length === 1)
    return {
      text: joinSegments(index.segments, at.segment, keptOfDeleted(index.segments, at.segment)),
      outcome: 'deleted',
      index: undefined,
    };
  const where = `${file}: ${describe(ref)} (line ${at.line})`;
  guardAliases(index.segments[at.segment]!, where);
  const expected = { ...docValue, items: docValue.items.filter((_, i) => i !== at.item) };
  const ops: ValueOp[] = [{ path: ['items', String(at.item)], remove: true }];
  const edited = rewriteDocument(index.segments[at.segment]!, ops, expected, where);
  return { text: joinChecked(index.segments, at.segment, edited, where).text, outcome: 'deleted', index: undefined };
}

/**
 * Refuse a document whose aliases expand past the limit before any of its values is copied or
 * compared: js-yaml shares aliased values, so a copy of an alias bomb would be the explosion.
 */
function guardAliases(segment: YamlSegment, where: string): void {
  const problem = new YamlDocument(segment).aliasProblem(MAX_ALIAS_COUNT);
  if (problem) throw new Error(`${where}: ${problem}`);
}

/** The current object with the managed fields (apiVersion, labels, annotations, spec) taken from `object`. */
function withManagedFields(current: Record<string, unknown>, object: FabricObjectDoc): Record<string, unknown> {
  const out = copyValue(current) as Record<string, unknown>;
  out.apiVersion = object.apiVersion;
  const metadata = isRecord(out.metadata) ? out.metadata : (out.metadata = {});
  const setOrRemove = (field: 'labels' | 'annotations') => {
    const want = object.metadata[field];
    if (want && Object.keys(want).length > 0) metadata[field] = jsonCopy(want);
    // An empty map already written stays: it means the same as none.
    else if (!(isRecord(metadata[field]) && Object.keys(metadata[field]).length === 0))
      Reflect.deleteProperty(metadata, field);
  };
  setOrRemove('labels');
  setOrRemove('annotations');
  out.spec = jsonCopy(object.spec);
  return out;
}

/** A deep copy of a loaded YAML value (not structuredClone: its objects may come from another realm under test VMs). */
function copyValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyValue);
  if (!isRecord(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyValue(v)]));
}

function replaceItem(listValue: unknown, item: number, wanted: unknown): unknown {
  const list = listValue as { items: unknown[] };
  return { ...list, items: list.items.map((v, i) => (i === item ? wanted : v)) };
}

/** A JSON copy: what the ledger stores, without undefined members. */
function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function joinSegments(segments: readonly YamlSegment[], replaced: number, text: string): string {
  return segments.map((s, i) => (i === replaced ? text : s.text)).join('');
}

/** Join with one document rewritten, refusing a result in which that document would not stand alone. */
function joinChecked(
  segments: readonly YamlSegment[],
  replaced: number,
  text: string,
  where: string,
): { text: string; segments: YamlSegment[] } {
  const joined = joinSegments(segments, replaced, text);
  const after = splitYamlDocuments(joined);
  if (after.length !== segments.length || after[replaced]?.text !== text)
    throw new Error(`${where}: the edited document would run into its neighbours; not written`);
  return { text: joined, segments: after };
}

function eolOf(text: string): string {
  const nl = text.indexOf('\n');
  return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
}

function appendDocument(body: string | null, object: FabricObjectDoc): string {
  const eol = body === null ? '\n' : eolOf(body);
  const rendered = renderNewManifest(object).replace(/\n/g, eol);
  if (body === null || body === '') return rendered;
  const before = body.endsWith('\n') ? body : body + eol;
  return hasContent(before) ? `${before}---${eol}${rendered}` : before + rendered;
}

// ---------------------------------------------------------------------------------------------
// Rewriting one document

/** The document `segment` with `ops` applied; refused unless it reads back as `expected`. */
function rewriteDocument(segment: YamlSegment, ops: readonly ValueOp[], expected: unknown, where: string): string {
  // The trailing comment block is kept verbatim: `yaml` would re-space it, and it often heads the next document.
  const { body, trailer } = splitTrailer(segment.text);
  const parse = () => parseDocument(body, { merge: true, logLevel: 'silent' });
  const first = parse();
  if (first.errors.length > 0) throw new Error(`${where}: cannot edit, ${first.errors[0]!.message.split('\n')[0]}`);
  const spliced = spliceScalarOps(body, first, ops);
  if (spliced !== null && readsAs(spliced + trailer, expected)) return spliced + trailer;
  const doc = parse();
  for (const op of ops) applyValueOp(doc, op, where);
  const options = toStringOptionsLike(body);
  // Prefer the source with only the changed lines replaced; the writer's whole document otherwise.
  const patched = carryOver(body, first.toString(options), doc.toString(options));
  if (patched !== null && readsAs(patched + trailer, expected)) return patched + trailer;
  const eol = body.includes('\r\n') ? '\r\n' : '\n';
  const trailing = /(?:\r?\n)*$/.exec(body)![0];
  const rendered = doc.toString(options).replace(/\n+$/, '').replace(/\n/g, eol) + trailing + trailer;
  if (!readsAs(rendered, expected))
    throw new Error(`${where}: the edited document does not read back as the requested object; not written`);
  return rendered;
}

function readsAs(text: string, expected: unknown): boolean {
  const loaded = new YamlDocument({ text, startLine: 1, contentLine: null }).load();
  return loaded.ok && jsonEqual(loaded.value, expected);
}

const BLANK_OR_COLUMN0_COMMENT = /^(?:#.*|[ \t]*)\r?\n?$/;

/**
 * A document's text cut before its trailer: the trailing block of column-0 comments after the last
 * content line, and a closing `...` marker. Column 0 cannot be inside the content of an object
 * document (its block scalars are indented under their keys), so the cut never splits a value.
 */
function splitTrailer(text: string): { body: string; trailer: string } {
  const lines = text.split(/(?<=\n)/);
  const last = lines.at(-1);
  // splitYamlDocuments ends a segment at its `...` line, so a marker can only be the last line.
  const end = last !== undefined && /^\.\.\.(?:[ \t]|\r?\n?$)/.test(last) ? lines.length - 1 : lines.length;
  const lastContent = lines.slice(0, end).findLastIndex((l) => !BLANK_OR_COLUMN0_COMMENT.test(l));
  if (lastContent < 0) return { body: text, trailer: '' };
  const firstComment = lines.findIndex((l, i) => i > lastContent && i < end && l.startsWith('#'));
  const cut = firstComment >= 0 ? firstComment : end;
  return { body: lines.slice(0, cut).join(''), trailer: lines.slice(cut).join('') };
}

/** What stays of a deleted document: its file header (first document) and a trailing heading of the next one. */
function keptOfDeleted(segments: readonly YamlSegment[], s: number): string {
  const segment = segments[s]!;
  let kept = '';
  if (s === 0 && segment.contentLine !== null && !segment.text.startsWith('---')) {
    const leading = segment.text.split(/(?<=\n)/).slice(0, segment.contentLine - segment.startLine);
    const lastBlank = leading.findLastIndex((l) => /^[ \t]*\r?\n?$/.test(l));
    const header = leading.slice(0, lastBlank + 1);
    if (header.some((l) => /^[ \t]*#/.test(l))) kept += header.join('');
  }
  // Kept when a document follows: the comments head it, and a `...` keeps it from joining the previous document.
  if (s < segments.length - 1) kept += splitTrailer(segment.text).trailer;
  return kept;
}
