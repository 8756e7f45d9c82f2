/**
 * The plain data that flows from the sources (Kubernetes, Git) to the writer.
 * Sources produce these; they know nothing of the database.
 */

/** The identity of a ledger object within a fabric. */
export interface ResourceKey {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * What a metadata-only list says of one object: which version of it the cluster holds. Enough to tell an
 * unchanged object (same uid and resourceVersion as the ledger's) from one whose full object must be read.
 */
export interface ObjectStamp extends ResourceKey {
  uid: string;
  resourceVersion: string;
}

/** One object of a kind's complete list: read in full, or (unchanged since the ledger's copy) by its stamp only. */
export type ListedObject = ActualObservation | ObjectStamp;

/** True when `o` carries the whole object, not just its stamp. */
export function isFullObservation(o: ListedObject): o is ActualObservation {
  return 'spec' in o;
}

/** One object as the cluster reports it. */
export interface ActualObservation extends ObjectStamp {
  apiVersion: string;
  spec: Record<string, unknown>;
  status: Record<string, unknown> | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** One object as a Git repository declares it. */
export interface DesiredObservation extends ResourceKey {
  apiVersion: string;
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Path relative to the repository root, '/'-separated. */
  filePath: string;
  /** 1-based line of the document's first line in the file. */
  line: number;
  /** SHA-256 (hex) of the whole file's bytes. */
  fileHash: string;
}

/** A problem with one object or document; the run records it and goes on with the rest. */
export interface ObjectError {
  kind?: string;
  namespace?: string;
  name?: string;
  file?: string;
  line?: number;
  reason: string;
}

/** An ObjectError with every key present (null when unknown), as the reports' JSON has it. */
export interface RefusedEntry {
  kind: string | null;
  namespace: string | null;
  name: string | null;
  file: string | null;
  line: number | null;
  reason: string;
}

export function refusedEntry(e: ObjectError): RefusedEntry {
  return {
    kind: e.kind ?? null,
    namespace: e.namespace ?? null,
    name: e.name ?? null,
    file: e.file ?? null,
    line: e.line ?? null,
    reason: e.reason,
  };
}

/** Key string used in maps: kind/namespace/name (none of the three may contain '/'). */
export function keyOf(r: ResourceKey): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}
