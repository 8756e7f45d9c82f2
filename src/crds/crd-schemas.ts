/**
 * Loading the OpenAPI v3 schemas of CustomResourceDefinitions, from a directory of CRD files or from CRD
 * objects read from a cluster's apiextensions.k8s.io/v1 API. The result maps "group/version/Kind" to the
 * version's `openAPIV3Schema`; defaults (schema-defaults.ts) and validation (validator.ts) build on it.
 * No database code, no network.
 */
import { kindInfo } from '../kube/catalog.js';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { isRecord } from '../common/values.js';

/** An OpenAPI v3 schema object as a CRD carries it (structural schema, x-kubernetes-* extensions). */
export type OpenApiSchema = { readonly [keyword: string]: unknown };

/** "group/version/Kind" (e.g. "wiring.githedgehog.com/v1beta1/Switch") → that version's openAPIV3Schema. */
export type CrdSchemas = ReadonlyMap<string, OpenApiSchema>;

/** One CRD document or object that could not be used. */
export interface CrdProblem {
  /** File path (directory loading) or CRD name (objects). */
  source: string;
  /** 1-based line of the document in its file, when known. */
  line?: number;
  reason: string;
}

export interface CrdLoadOptions {
  /**
   * Called for every unusable CRD document; loading then goes on with the others. Without it, any problem
   * makes the loader throw a CrdLoadError listing them all (after reading everything).
   */
  onProblem?: (problem: CrdProblem) => void;
}

export class CrdLoadError extends Error {
  constructor(readonly problems: readonly CrdProblem[]) {
    super(
      `${problems.length} unusable CRD document(s):\n` +
        problems.map((p) => `  ${p.source}${p.line ? `:${p.line}` : ''}: ${p.reason}`).join('\n'),
    );
    this.name = 'CrdLoadError';
  }
}

/** The CrdSchemas key of an apiVersion ("group/version") and kind. */
export function crdSchemaKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

const CRD_API_VERSION = 'apiextensions.k8s.io/v1';

/**
 * Adds the schemas of one CRD object to `into`. Objects that are not CustomResourceDefinitions are
 * skipped without a word (a directory of CRDs may hold a kustomization or other manifests).
 */
function addCrd(
  obj: unknown,
  into: Map<string, OpenApiSchema>,
  where: { source: string; line?: number },
  problem: (p: CrdProblem) => void,
): void {
  if (!isRecord(obj) || obj.kind !== 'CustomResourceDefinition') return;
  const name = isRecord(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '(unnamed CRD)';
  const report = (reason: string) => problem({ ...where, reason: `CRD ${name}: ${reason}` });
  if (obj.apiVersion !== CRD_API_VERSION) {
    report(`apiVersion ${JSON.stringify(obj.apiVersion)} is not supported (only ${CRD_API_VERSION})`);
    return;
  }
  const spec = obj.spec;
  if (!isRecord(spec)) {
    report('spec is missing or not an object');
    return;
  }
  const group = spec.group;
  const kind = isRecord(spec.names) ? spec.names.kind : undefined;
  if (typeof group !== 'string' || !group) {
    report('spec.group is missing');
    return;
  }
  if (typeof kind !== 'string' || !kind) {
    report('spec.names.kind is missing');
    return;
  }
  if (!Array.isArray(spec.versions) || spec.versions.length === 0) {
    report('spec.versions is missing or empty');
    return;
  }
  for (const [i, version] of (spec.versions as unknown[]).entries()) {
    const vname = isRecord(version) ? version.name : undefined;
    if (!isRecord(version) || typeof vname !== 'string' || !vname) {
      report(`spec.versions[${i}].name is missing`);
      continue;
    }
    const schema = isRecord(version.schema) ? version.schema.openAPIV3Schema : undefined;
    if (!isRecord(schema)) {
      report(`version ${vname} has no schema.openAPIV3Schema`);
      continue;
    }
    const key = crdSchemaKey(`${group}/${vname}`, kind);
    if (into.has(key)) {
      report(`${key} is defined more than once; the first definition is kept`);
      continue;
    }
    into.set(key, schema);
  }
}

function finish(schemas: Map<string, OpenApiSchema>, problems: CrdProblem[], opts?: CrdLoadOptions): CrdSchemas {
  if (problems.length && !opts?.onProblem) throw new CrdLoadError(problems);
  return schemas;
}

/**
 * Schemas from CRD objects, e.g. the items of `GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions`.
 * Every served or stored version with a schema is included.
 */
export function crdSchemasFromObjects(crdObjects: readonly object[], opts?: CrdLoadOptions): CrdSchemas {
  const schemas = new Map<string, OpenApiSchema>();
  const problems: CrdProblem[] = [];
  const problem = (p: CrdProblem) => (opts?.onProblem ? opts.onProblem(p) : problems.push(p));
  crdObjects.forEach((obj, i) => {
    const name = isRecord(obj) && isRecord(obj.metadata) ? obj.metadata.name : undefined;
    addCrd(obj, schemas, { source: typeof name === 'string' ? name : `object #${i}` }, problem);
  });
  return finish(schemas, problems, opts);
}

const CRD_FILE = /\.(ya?ml|json)$/i;

/**
 * Schemas from every `*.yaml`, `*.yml` and `*.json` file under `dir` (recursively, multi-document YAML).
 * Documents that are not CRDs are skipped; broken YAML and malformed CRDs are problems (see CrdLoadOptions).
 */
export async function loadCrdSchemasFromDir(dir: string, opts?: CrdLoadOptions): Promise<CrdSchemas> {
  const info = await stat(dir).catch((err: unknown) => {
    // fs rejects with an ErrnoException (code may be absent, e.g. for an invalid argument).
    const { code, message } = err as NodeJS.ErrnoException;
    throw new Error(`CRD directory ${dir} cannot be read: ${code ?? message}`);
  });
  if (!info.isDirectory()) throw new Error(`CRD directory ${dir} is not a directory`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && CRD_FILE.test(e.name))
    // Dirent.parentPath is typed as always there but only exists from Node 20.12; earlier 20.x has only `path`.
    .map((e) => path.join((e.parentPath as string | undefined) ?? (e as unknown as { path: string }).path, e.name))
    .sort();

  const schemas = new Map<string, OpenApiSchema>();
  const problems: CrdProblem[] = [];
  const problem = (p: CrdProblem) => (opts?.onProblem ? opts.onProblem(p) : problems.push(p));
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const lineCounter = new LineCounter();
    // JSON is YAML; one parser for both keeps line numbers for every problem.
    const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
    const list = Array.isArray(docs) ? docs : [docs];
    for (const doc of list) {
      // The line of the document's first content, not of its `---` marker.
      // Parsed documents and nodes always carry a range.
      const start = doc.contents?.range[0] ?? doc.range[0];
      const line = lineCounter.linePos(start).line;
      if (doc.errors.length) {
        const err = doc.errors[0]!;
        problem({
          source: file,
          line: err.linePos?.[0]?.line ?? line,
          reason: `invalid YAML: ${err.message.split('\n')[0]}`,
        });
        continue;
      }
      let obj: unknown;
      try {
        obj = doc.toJS({ maxAliasCount: 100 });
      } catch (err) {
        problem({ source: file, line, reason: `cannot read document: ${(err as Error).message}` });
        continue;
      }
      addCrd(obj, schemas, { source: file, line }, problem);
    }
  }
  return finish(schemas, problems, opts);
}

/** The whole-object schema of a fabric kind in `schemas` (its catalog apiVersion), or null. */
export function crdSchemaOf(schemas: CrdSchemas | null, kind: string): Record<string, unknown> | null {
  const info = kindInfo(kind);
  if (!schemas || !info) return null;
  return schemas.get(crdSchemaKey(info.apiVersion, kind)) ?? null;
}
