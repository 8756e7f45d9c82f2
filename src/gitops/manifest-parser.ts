/**
 * Pure parsing of one manifest file's bytes into desired-state observations.
 *
 * Each YAML document is judged on its own: a broken document becomes an error entry with the
 * file and the line of the offending node, and every other document of the file still lands.
 * Nothing here touches the disk, Git or a database.
 */
import { createHash } from 'node:crypto';
import { FABRIC_KINDS, kindInfo } from '../kube/catalog.js';
import type { DesiredObservation, ObjectError } from '../observations.js';
import {
  ANNOTATIONS_MAX_BYTES,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  labelValueProblem,
  qualifiedKeyProblem,
} from '../common/k8s-names.js';
import { clip, isRecord, showYamlScalar, yamlTypeName } from '../common/values.js';
import { escapeUnstorable, findUnstorablePointer } from '../json-safety.js';
import { splitYamlDocuments, YamlDocument } from './yaml-documents.js';

/** Default limit of YAML alias expansion per document (the `yaml` package's own default too). */
export const DEFAULT_MAX_ALIAS_COUNT = 100;

export interface ParseManifestOptions {
  /** Limit of YAML alias expansion per document; beyond it the document is refused. Default 100. */
  maxAliasCount?: number;
  /**
   * Schema validator hook (the CRD schema of the kind, supplied by src/crds). It receives the
   * document as parsed and returns its problems, [] when valid. A problem that starts with a JSON
   * pointer (`/spec/role: must be one of …`) is reported at that node's line.
   */
  validate?: (obj: Record<string, unknown>) => string[];
}

export interface ParsedManifestFile {
  /** Valid fabric objects, in document order. */
  observations: DesiredObservation[];
  errors: ObjectError[];
  /** Non-fabric kinds seen: "apiVersion/Kind" → count. */
  otherKinds: Record<string, number>;
  /**
   * Objects in the file, broken ones included: each non-empty YAML document, except that a List
   * (`kind: List`, `kind: VPCList`, … with `items`) counts as its items.
   */
  documents: number;
  /** Documents (or List items) refused: each is one, however many problems it has; a file refused whole is one. */
  refused: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const API_VERSION = /^(?:([^/]+)\/)?([^/]+)$/;
const KIND = /^[A-Za-z][A-Za-z0-9]*$/;
const KINDS_BY_LOWER = new Map(FABRIC_KINDS.map((k) => [k.kind.toLowerCase(), k]));
/** Fabric API groups → the versions the catalog knows. */
const FABRIC_GROUP_VERSIONS = new Map<string, Set<string>>();
for (const k of FABRIC_KINDS) {
  const versions = FABRIC_GROUP_VERSIONS.get(k.group) ?? new Set<string>();
  versions.add(k.version);
  FABRIC_GROUP_VERSIONS.set(k.group, versions);
}

/** Why `kind` is refused in fabric group `group`: the kind elsewhere, a close spelling, or the kinds it has. */
function unknownFabricKindReason(kind: string, group: string): string {
  const elsewhere = kindInfo(kind);
  if (elsewhere)
    return `${kind} is a kind of ${elsewhere.group}, not ${group}: its apiVersion is ${elsewhere.apiVersion}`;
  const near = closestKind(kind);
  if (near) {
    const where = near.group === group ? '' : ` (apiVersion ${near.apiVersion})`;
    return `kind '${kind}' is not a kind of ${group}; did you mean '${near.kind}'${where}?`;
  }
  const known = FABRIC_KINDS.filter((k) => k.group === group).map((k) => k.kind);
  return `kind '${kind}' is not a kind of ${group} known to this release (known: ${known.join(', ')})`;
}

/** The catalog kind spelt like `kind` but for letter case or at most two edits (one for short names). */
function closestKind(kind: string): (typeof FABRIC_KINDS)[number] | undefined {
  const lower = kind.toLowerCase();
  const exact = KINDS_BY_LOWER.get(lower);
  if (exact) return exact;
  const limit = lower.length <= 4 ? 1 : 2;
  let best: { k: (typeof FABRIC_KINDS)[number]; d: number } | undefined;
  for (const k of FABRIC_KINDS) {
    const d = editDistance(lower, k.kind.toLowerCase());
    if (d <= limit && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

/** Levenshtein distance (kind names are short). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** SHA-256 (hex) of a file's bytes: the `fileHash` of every object the file declares. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function parseManifestFile(
  filePath: string,
  bytes: Uint8Array,
  opts: ParseManifestOptions = {},
): ParsedManifestFile {
  const out: ParsedManifestFile = { observations: [], errors: [], otherKinds: {}, documents: 0, refused: 0 };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    const offset = firstInvalidUtf8Offset(bytes);
    out.errors.push({
      file: filePath,
      line: lineAtByte(bytes, offset),
      reason: `file is not valid UTF-8 (first invalid byte at offset ${offset}); manifests must be UTF-8 encoded`,
    });
    out.refused++;
    return out;
  }
  const fileHash = sha256Hex(bytes);
  const maxAliasCount = opts.maxAliasCount ?? DEFAULT_MAX_ALIAS_COUNT;
  for (const segment of splitYamlDocuments(text)) {
    const ctx = new DocContext(new YamlDocument(segment), filePath);
    const loaded = ctx.doc.load();
    if (!loaded.ok) {
      out.documents++;
      refuse(out, ctx.error(loaded.line, loaded.reason, ctx.bestEffortId()));
      continue;
    }
    // Empty documents (comments only, a bare `---`, a null) are not objects.
    if (loaded.value === undefined || loaded.value === null) continue;
    const aliasProblem = ctx.doc.aliasProblem(maxAliasCount);
    if (aliasProblem) {
      out.documents++;
      refuse(out, ctx.error(ctx.docLine, aliasProblem, ctx.bestEffortId()));
      continue;
    }
    // After the guard, aliases are bounded: copy so no two objects share a node.
    const value = segment.text.includes('*') ? structuredClone(loaded.value) : loaded.value;
    parseObjectOrList(ctx, value, fileHash, opts.validate, out);
  }
  return out;
}

function refuse(out: ParsedManifestFile, error: ObjectError): void {
  out.errors.push(error);
  out.refused++;
}

/**
 * A List (what `kubectl get -o yaml` writes: `kind: List`, or `kind: <Kind>List`, with `items`) is
 * read as its items, each at its own line, as `kubectl apply -f` does; anything else is one object.
 */
function parseObjectOrList(
  ctx: DocContext,
  value: unknown,
  fileHash: string,
  validate: ParseManifestOptions['validate'],
  out: ParsedManifestFile,
): void {
  if (isRecord(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
    value.items.forEach((item, i) => {
      const itemCtx = ctx.at(['items', i]);
      if (!isRecord(item)) {
        // `- null`, `- 5`, `- [a]`: an item kubectl would refuse; never skipped without a word.
        out.documents++;
        refuse(
          out,
          itemCtx.error(
            itemCtx.docLine,
            `List item ${i + 1} (items[${i}]) is not an object, found ${yamlTypeName(item)}`,
          ),
        );
        return;
      }
      parseObjectOrList(itemCtx, item, fileHash, validate, out);
    });
    return;
  }
  out.documents++;
  const before = out.errors.length;
  parseDocument(ctx, value, fileHash, validate, out);
  if (out.errors.length > before) out.refused++;
}

/** Where problems of one document (or of one item of a List document, at `prefix`) are reported. */
class DocContext {
  constructor(
    readonly doc: YamlDocument,
    readonly file: string,
    private readonly prefix: readonly (string | number)[] = [],
  ) {}

  /** The context of the node at `path` below this one (an item of a List). */
  at(path: readonly (string | number)[]): DocContext {
    return new DocContext(this.doc, this.file, [...this.prefix, ...path]);
  }

  /** Line of the object's content: the document's first key, or a List item's first line. */
  get docLine(): number {
    return this.prefix.length ? this.doc.lineOf(this.prefix) : this.doc.line;
  }

  lineOf(path: readonly (string | number)[]): number {
    return this.doc.lineOf([...this.prefix, ...path]);
  }

  /** kind/namespace/name read straight from the nodes of a document that did not load. */
  bestEffortId(): { kind?: string; namespace?: string; name?: string } {
    const name = this.doc.scalarAt(['metadata', 'name']);
    return pick(
      this.doc.scalarAt(['kind']),
      name ? (this.doc.scalarAt(['metadata', 'namespace']) ?? 'default') : undefined,
      name,
    );
  }

  /** An error entry; the reason is escaped so it can always be stored (it may quote the document's strings). */
  error(line: number, reason: string, id: { kind?: string; namespace?: string; name?: string } = {}): ObjectError {
    const safeId: typeof id = {};
    for (const [k, v] of Object.entries(id) as [keyof typeof id, string | undefined][])
      if (v !== undefined) safeId[k] = escapeUnstorable(v);
    return { ...safeId, file: this.file, line, reason: escapeUnstorable(reason) };
  }
}

type ObjectId = { kind: string; namespace: string; name: string };
/** The kind/namespace/name an early error is filed under, as far as the document tells them. */
type PartialId = { kind?: string; namespace?: string; name?: string };

/**
 * One document to at most one observation. Each step below checks one part of the object; a step that
 * finds a problem records it in `out.errors` and returns null, and the document stops there (one error
 * per document, at the line of the first thing wrong).
 */
function parseDocument(
  ctx: DocContext,
  obj: unknown,
  fileHash: string,
  validate: ParseManifestOptions['validate'],
  out: ParsedManifestFile,
): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    out.errors.push(
      ctx.error(ctx.docLine, `document must be a mapping (a Kubernetes object), found ${yamlTypeName(obj)}`),
    );
    return;
  }
  const o = obj as Record<string, unknown>;
  const typeMeta = readTypeMeta(ctx, o, out);
  if (!typeMeta || !isTrackedFabricKind(ctx, typeMeta, out)) return;
  const { apiVersion, kind } = typeMeta;
  const identity = readIdentity(ctx, o.metadata, kind, out);
  if (!identity) return;
  const { metadata, id } = identity;
  const maps = readLabelsAndAnnotations(ctx, o, metadata, id, out);
  if (!maps) return;
  const spec = readSpec(ctx, o.spec, id, out);
  if (!spec) return;
  if (validate && !passesSchema(ctx, o, validate, id, out)) return;

  out.observations.push({
    kind: id.kind,
    namespace: id.namespace,
    name: id.name,
    apiVersion,
    spec,
    labels: maps.labels,
    annotations: maps.annotations,
    filePath: ctx.file,
    line: ctx.docLine,
    fileHash,
  });
}

interface TypeMeta {
  apiVersion: string;
  kind: string;
  /** Where an error about apiVersion or kind is filed (namespace and name as the metadata has them). */
  early: PartialId;
}

/** apiVersion and kind: present and well-formed (they decide whether this is a fabric object at all). */
function readTypeMeta(ctx: DocContext, o: Record<string, unknown>, out: ParsedManifestFile): TypeMeta | null {
  const apiVersion = o.apiVersion;
  const kind = o.kind;
  const rawName = isRecord(o.metadata) ? o.metadata.name : undefined;
  const idName = typeof rawName === 'string' ? rawName : undefined;
  // The namespace an early error is filed under, so it can be tied to the object it concerns.
  const rawNamespace = isRecord(o.metadata) ? o.metadata.namespace : undefined;
  const idNs =
    idName === undefined ? undefined : typeof rawNamespace === 'string' && rawNamespace ? rawNamespace : 'default';
  if (apiVersion === undefined || apiVersion === null || apiVersion === '') {
    out.errors.push(ctx.error(ctx.lineOf(['apiVersion']), 'apiVersion is missing', pick(kind, idNs, idName)));
    return null;
  }
  if (typeof apiVersion !== 'string' || !validApiVersion(apiVersion)) {
    out.errors.push(
      ctx.error(
        ctx.lineOf(['apiVersion']),
        `apiVersion ${showYamlScalar(apiVersion)} is not a valid "group/version"`,
        pick(kind, idNs, idName),
      ),
    );
    return null;
  }
  if (kind === undefined || kind === null || kind === '') {
    out.errors.push(ctx.error(ctx.lineOf(['kind']), 'kind is missing', pick(undefined, idNs, idName)));
    return null;
  }
  if (typeof kind !== 'string' || !KIND.test(kind)) {
    out.errors.push(
      ctx.error(
        ctx.lineOf(['kind']),
        `kind ${showYamlScalar(kind)} is not a valid kind name`,
        pick(undefined, idNs, idName),
      ),
    );
    return null;
  }
  return { apiVersion, kind, early: pick(kind, idNs, idName) };
}

/**
 * True for a catalog kind at its apiVersion. A kind of another group is counted in `out.otherKinds`
 * (false, no error); a fabric group's unknown version or kind, or a catalog kind at another version, is an error.
 */
function isTrackedFabricKind(ctx: DocContext, { apiVersion, kind, early }: TypeMeta, out: ParsedManifestFile): boolean {
  const [, group = '', version = ''] = API_VERSION.exec(apiVersion)!;
  const info = kindInfo(kind);
  const groupVersions = FABRIC_GROUP_VERSIONS.get(group);
  // (A catalog kind in its group with another version gets the more precise message below.)
  if (groupVersions && !groupVersions.has(version) && info?.group !== group) {
    // A fabric group in a version this release does not know: the object would not mean what it says.
    out.errors.push(
      ctx.error(
        ctx.lineOf(['apiVersion']),
        `apiVersion ${apiVersion} is not a known version of ${group} (known: ${[...groupVersions].join(', ')})`,
        early,
      ),
    );
    return false;
  }
  if (!info || info.group !== group) {
    // A fabric group's kinds are all in the catalog: any other kind there is a mistake Kubernetes would
    // reject (or a newer release's kind this one cannot judge), never a silently untracked object.
    if (groupVersions) {
      out.errors.push(ctx.error(ctx.lineOf(['kind']), unknownFabricKindReason(kind, group), early));
      return false;
    }
    // Other groups (fabricator.githedgehog.com, core kinds, …) are counted, not errors.
    const key = `${apiVersion}/${kind}`;
    out.otherKinds[key] = (out.otherKinds[key] ?? 0) + 1;
    return false;
  }
  if (info.apiVersion !== apiVersion) {
    out.errors.push(
      ctx.error(
        ctx.lineOf(['apiVersion']),
        `${kind} must have apiVersion ${info.apiVersion}, found ${apiVersion}`,
        early,
      ),
    );
    return false;
  }
  return true;
}

/** metadata as a mapping, with a valid name and namespace (absent or empty: `default`). */
function readIdentity(
  ctx: DocContext,
  metadata: unknown,
  kind: string,
  out: ParsedManifestFile,
): { metadata: Record<string, unknown>; id: ObjectId } | null {
  if (metadata === undefined || metadata === null) {
    out.errors.push(ctx.error(ctx.lineOf(['metadata']), 'metadata.name is missing (no metadata)', { kind }));
    return null;
  }
  if (!isRecord(metadata)) {
    out.errors.push(
      ctx.error(ctx.lineOf(['metadata']), `metadata must be a mapping, found ${yamlTypeName(metadata)}`, { kind }),
    );
    return null;
  }
  const name = metadata.name;
  if (name === undefined || name === null || name === '') {
    const hint = metadata.generateName !== undefined ? ' (generateName cannot be used for declared objects)' : '';
    out.errors.push(ctx.error(ctx.lineOf(['metadata', 'name']), `metadata.name is missing${hint}`, { kind }));
    return null;
  }
  if (typeof name !== 'string') {
    out.errors.push(
      ctx.error(ctx.lineOf(['metadata', 'name']), `metadata.name must be a string, found ${yamlTypeName(name)}`, {
        kind,
      }),
    );
    return null;
  }
  const nameProblem = dns1123SubdomainProblem(name);
  if (nameProblem) {
    out.errors.push(
      ctx.error(ctx.lineOf(['metadata', 'name']), `metadata.name '${clip(name)}' ${nameProblem}`, { kind }),
    );
    return null;
  }
  const namespace = readNamespace(ctx, metadata.namespace, kind, name, out);
  if (namespace === null) return null;
  return { metadata, id: { kind, namespace, name } };
}

/** metadata.namespace: absent, null or empty is `default`; otherwise a DNS-1123 label. */
function readNamespace(
  ctx: DocContext,
  rawNs: unknown,
  kind: string,
  name: string,
  out: ParsedManifestFile,
): string | null {
  if (rawNs === undefined || rawNs === null || rawNs === '') return 'default';
  if (typeof rawNs !== 'string') {
    out.errors.push(
      ctx.error(
        ctx.lineOf(['metadata', 'namespace']),
        `metadata.namespace must be a string, found ${yamlTypeName(rawNs)}`,
        { kind, name },
      ),
    );
    return null;
  }
  const nsProblem = dns1123LabelProblem(rawNs);
  if (nsProblem) {
    out.errors.push(
      ctx.error(ctx.lineOf(['metadata', 'namespace']), `metadata.namespace '${clip(rawNs)}' ${nsProblem}`, {
        kind,
        name,
      }),
    );
    return null;
  }
  return rawNs;
}

/** Labels and annotations, once nothing in them or in the spec is a string the ledger cannot store. */
function readLabelsAndAnnotations(
  ctx: DocContext,
  o: Record<string, unknown>,
  metadata: Record<string, unknown>,
  id: ObjectId,
  out: ParsedManifestFile,
): { labels: Record<string, string>; annotations: Record<string, string> } | null {
  const unstorable = findUnstorablePointer({
    metadata: { labels: metadata.labels, annotations: metadata.annotations },
    spec: o.spec,
  });
  if (unstorable) {
    out.errors.push(ctx.error(ctx.lineOf(unstorable.segments), `${unstorable.path}: ${unstorable.problem}`, id));
    return null;
  }
  const labels = stringMap(ctx, metadata.labels, 'labels', id, out);
  if (!labels) return null;
  const annotations = stringMap(ctx, metadata.annotations, 'annotations', id, out);
  if (!annotations) return null;
  return { labels, annotations };
}

/**
 * spec: optional in these CRDs; an absent or null spec is an empty one (the API server prunes
 * nulls of non-nullable fields), anything but a mapping is refused, and so are .inf/.nan.
 */
function readSpec(
  ctx: DocContext,
  rawSpec: unknown,
  id: ObjectId,
  out: ParsedManifestFile,
): Record<string, unknown> | null {
  if (rawSpec === undefined || rawSpec === null) return {};
  if (!isRecord(rawSpec)) {
    out.errors.push(ctx.error(ctx.lineOf(['spec']), `spec must be a mapping, found ${yamlTypeName(rawSpec)}`, id));
    return null;
  }
  const bad = nonFiniteNumberPath(rawSpec, '/spec');
  if (bad) {
    out.errors.push(
      ctx.error(
        ctx.lineOf(pointerSegments(bad)),
        `${bad} is not a finite number (.inf/.nan cannot be sent as JSON)`,
        id,
      ),
    );
    return null;
  }
  return rawSpec;
}

/** The CRD schema check: every problem is an error at the line of the field it names. */
function passesSchema(
  ctx: DocContext,
  o: Record<string, unknown>,
  validate: NonNullable<ParseManifestOptions['validate']>,
  id: ObjectId,
  out: ParsedManifestFile,
): boolean {
  let problems: string[];
  try {
    problems = validate(o);
  } catch (e) {
    problems = [`schema validation failed: ${(e as Error).message}`];
  }
  for (const p of problems) {
    const segments = problemPathSegments(p);
    const line = segments ? ctx.lineOf(segments) : ctx.docLine;
    out.errors.push(ctx.error(line, `schema: ${p}`, id));
  }
  return problems.length === 0;
}

/** metadata.labels / metadata.annotations: a mapping of valid keys to string values. */
function stringMap(
  ctx: DocContext,
  raw: unknown,
  field: 'labels' | 'annotations',
  id: { kind: string; namespace: string; name: string },
  out: ParsedManifestFile,
): Record<string, string> | null {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    out.errors.push(
      ctx.error(ctx.lineOf(['metadata', field]), `metadata.${field} must be a mapping, found ${yamlTypeName(raw)}`, id),
    );
    return null;
  }
  let total = 0;
  for (const [k, v] of Object.entries(raw)) {
    const at = () => ctx.lineOf(['metadata', field, k]);
    const keyProblem = qualifiedKeyProblem(k);
    if (keyProblem) {
      out.errors.push(ctx.error(at(), `metadata.${field} key '${clip(k)}': ${keyProblem}`, id));
      return null;
    }
    if (typeof v !== 'string') {
      out.errors.push(
        ctx.error(at(), `metadata.${field}['${clip(k)}'] must be a string, found ${yamlTypeName(v)} (quote it)`, id),
      );
      return null;
    }
    if (field === 'labels') {
      const valueProblem = labelValueProblem(v);
      if (valueProblem) {
        out.errors.push(ctx.error(at(), `metadata.labels['${clip(k)}'] value '${clip(v)}' ${valueProblem}`, id));
        return null;
      }
    } else {
      total += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
  }
  if (total > ANNOTATIONS_MAX_BYTES) {
    out.errors.push(
      ctx.error(
        ctx.lineOf(['metadata', field]),
        `metadata.annotations total ${total} bytes exceed the limit of ${ANNOTATIONS_MAX_BYTES}`,
        id,
      ),
    );
    return null;
  }
  return raw as Record<string, string>;
}

function validApiVersion(v: string): boolean {
  const m = API_VERSION.exec(v);
  if (!m) return false;
  if (m[1] !== undefined && dns1123SubdomainProblem(m[1])) return false;
  return dns1123LabelProblem(m[2]!) === null;
}

function pick(kind: unknown, namespace: string | undefined, name: string | undefined) {
  const id: { kind?: string; namespace?: string; name?: string } = {};
  if (typeof kind === 'string' && kind) id.kind = kind;
  if (namespace) id.namespace = namespace;
  if (name) id.name = name;
  return id;
}

const FIELD_PATH = /^((?:[A-Za-z_$][A-Za-z0-9_$-]*|\[[^\]]*\])(?:\.[A-Za-z_$][A-Za-z0-9_$-]*|\[[^\]]*\])*): /;
const FIELD_STEP = /\.?([A-Za-z_$][A-Za-z0-9_$-]*)|\[([^\]]*)\]/g;

/**
 * The path segments of the field a validation problem is about: a JSON pointer
 * (`/spec/role: …`) or a kubectl-style field path (`spec.links[0].leaf.ip: …`, the CRD validator's
 * form); null when the problem names no field.
 */
export function problemPathSegments(problem: string): string[] | null {
  const ptr = /^(\/[^\s:]*)/.exec(problem)?.[1];
  if (ptr) return pointerSegments(ptr);
  const path = FIELD_PATH.exec(problem)?.[1];
  if (!path) return null;
  return [...path.matchAll(FIELD_STEP)].map((m) => m[1] ?? m[2]!);
}

/** JSON pointer → path segments (RFC 6901 unescaping). */
function pointerSegments(ptr: string): string[] {
  return ptr
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Path (JSON pointer) of the first Infinity or NaN under `v`, which JSON (and the API server) cannot carry. */
function nonFiniteNumberPath(v: unknown, at: string): string | null {
  const segs = findNonFinite(v);
  return segs === null ? null : [at, ...segs.map((x) => escapePointer(String(x)))].join('/');
}

// The path is only built on the way back from a hit: the walk itself allocates nothing.
function findNonFinite(v: unknown): (string | number)[] | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : [];
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const p = findNonFinite(v[i]);
      if (p) return [i, ...p];
    }
    return null;
  }
  for (const k in v) {
    const p = findNonFinite((v as Record<string, unknown>)[k]);
    if (p) return [k, ...p];
  }
  return null;
}

/** Offset of the first byte that breaks UTF-8 (only called once the strict decoder refused the file). */
export function firstInvalidUtf8Offset(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = c & (0x3f >> n);
    for (let j = 1; j <= n; j++) {
      const cc = b[i + j];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

/** 1-based line of a byte offset. */
function lineAtByte(b: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < b.length; i++) if (b[i] === 0x0a) line++;
  return line;
}
