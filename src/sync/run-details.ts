/**
 * What a run's `details` holds (`SyncRunReport.details`, the `sync_operation.details` jsonb column). One shape for
 * every run type, each field optional, because the record is built as the run goes and a failed run stops early:
 * which fields a run writes depends on its type and on how far it got (docs/cli.md lists them).
 */
import type { SchemaSource } from './fabric-schemas.js';
import type { DatabaseFailureKind, FailureSource } from './error-text.js';
import type { SyncPhase } from './phase-timings.js';

/** Why a run failed, classified: the source decides the CLI's exit code and hint. */
export interface RunFailure {
  source: FailureSource;
  /** For a database failure: which kind (connection, busy, migration, statement). */
  database?: DatabaseFailureKind;
  /** The error's own code (a SQLSTATE, a socket code, …), when it has a string one. */
  code?: string;
}

/** An object deleted and recreated in the cluster between two reads (a new uid under the same name). */
export interface RecreatedObject {
  kind: string;
  namespace: string;
  name: string;
  oldUid: string;
  newUid: string;
}

/** A time the ledger database was unavailable during a watch window (ISO times; `to` null while it lasts). */
export interface RunOutage {
  from: string;
  to: string | null;
  error: string;
}

// A type alias, not an interface: the CLI's JSON shapes copy it into a plain record.
export type RunDetails = {
  // Every sync run (actual and desired).
  /** Time per phase in ms. */
  timingsMs?: Partial<Record<SyncPhase | 'total', number>>;
  /** Set when the run failed. */
  failure?: RunFailure;
  /** Kinds that could not be discovered or listed; their rows were left untouched. */
  failedKinds?: { kind: string; reason: string }[];
  /** Where the CRD schemas used came from (`custom`: the host's own validate function, desired runs). */
  schemaSource?: SchemaSource | 'custom';
  /** Why the cluster's CRDs could not be read (actual runs), or why the last actual run could not (desired runs). */
  schemaProblem?: string;

  // Actual runs.
  recreated?: RecreatedObject[];
  /** Rows whose drift was recomputed without a change of their data. */
  reevaluated?: number;
  /**
   * How the kinds were read: metadata-only lists (then a GET per changed object), full lists, pages a server answered
   * in full although metadata only was asked for (it ignored the Accept header), and objects gone by their GET.
   */
  reads?: { metadataLists: number; fullLists: number; fullPages: number; gets: number; goneSinceListed: number };

  // Desired runs.
  /** Fabric kinds whose documents were checked against a CRD schema, and those that had none. */
  schemaChecked?: string[];
  schemaUnchecked?: string[];
  /** Files per other (non-fabric) kind, at most MAX_OTHER_KIND_FILES per kind. */
  otherKindFiles?: Record<string, string[]>;
  /** Objects kept as they were because the file declaring them could not be read. */
  keptFromBrokenFiles?: string[];
  conflicts?: number;
  filesRead?: number;

  // Publish runs.
  /** Where the commit went: the branch, whether it was pushed, how many rounds it took, the files it changed. */
  publish?: { branch: string; pushed: boolean; attempts: number; files: string[] };

  // Watch windows (type `watch`).
  /** Relists per kind. */
  relists?: Record<string, number>;
  batches?: number;
  events?: number;
  restarts?: number;
  /** Lag between a cluster event and its write. */
  lagMs?: { max: number; avg: number };
  outages?: RunOutage[];
  /** Object errors counted but not kept in the record. */
  errorsNotKept?: number;
};
