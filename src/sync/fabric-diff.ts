/**
 * A read-only diff of a fabric (`ledger.diff`, `hh-sync diff`): a desired side read into memory — a local directory
 * as it is on disk, or any ref of the fabric's repository — against the cluster's actual state, either the ledger's
 * (as of the last actual sync) or read from the cluster now, through the drift engine with the fabric's ignore rules.
 *
 * Nothing is written: no run record, no lock, no row, no CRD schema. The ledger is read in one read-only
 * transaction; cluster CRDs read live are used for this diff and not stored. The comparison is src/sync/diff-sides.ts.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { IsolationLevel, type EntityManager } from '@mikro-orm/core';
import type { HedgehogFabric } from '../entities/index.js';
import {
  conflictError,
  DesiredSourceError,
  readDesiredDirectory,
  type DesiredReadOptions,
  type DesiredReadResult,
  type GitSource,
} from '../gitops/desired-state-reader.js';
import { redactUrl } from '../gitops/git-cli.js';
import { normalizeSubPath } from '../gitops/source-files.js';
import { FABRIC_KINDS } from '../kube/catalog.js';
import { keyOf, refusedEntry, type RefusedEntry } from '../observations.js';
import { lastActualSync } from '../store/fabrics.js';
import { selectUnreadableRows } from '../store/resource-reads.js';
import { loadStoredResources, type StoredResource } from '../store/stored-resources.js';
import { driftContextFor } from './actual-kind-writer.js';
import { diffSides, type ActualSide, type DiffSidesResult } from './diff-sides.js';
import { defaultsOf, validatorOf, type FabricSchemas, type SchemaSource } from './fabric-schemas.js';
import type { ActualSource } from './sources.js';
import type { CrdSchemas } from '../crds/crd-schemas.js';
import type { SchemaDefaults } from '../drift/types.js';
import { ClusterUnreachableError } from './sync-errors.js';

export interface FabricDiffOptions {
  /**
   * A directory of manifests, read as it is on disk (uncommitted work included, even in a Git checkout). It stands
   * for what the fabric's path holds: the fabric's `--path` is not applied to it.
   */
  local?: string;
  /** A branch, tag or commit of the fabric's repository, read under the fabric's path; default the fabric's ref. */
  ref?: string;
  /** Read the cluster now instead of using the ledger's actual state as of the last actual sync. */
  live?: boolean;
  /** Only these kinds (names as the catalog spells them). */
  kinds?: readonly string[];
  /** Only these namespaces. */
  namespaces?: readonly string[];
  /** When the diff is made (the age of the ledger's actual state is measured from it); default now. */
  now?: Date;
}

/** What the desired side was read from. */
export type DiffDesiredSource =
  | { type: 'local'; directory: string }
  | { type: 'git'; repository: string; ref: string | null; commit: string | null; path: string };

/** What the actual side was. `ledger`: as of the last actual sync, `ageSeconds` before the diff was made. */
export type DiffActualSource =
  | { type: 'ledger'; asOf: string; ageSeconds: number }
  | { type: 'live'; readAt: string; failedKinds: { kind: string; reason: string }[] };

export interface FabricDiffReport extends DiffSidesResult {
  fabric: string;
  desired: DiffDesiredSource;
  actual: DiffActualSource;
  /** Problems of the desired read: files and documents refused (file, line, reason), duplicate declarations. */
  refused: RefusedEntry[];
  /** Where the CRD schemas (validation, server defaults) came from. */
  schemaSource: SchemaSource;
}

/** A file, document or declaration the desired read refused: where (what is known of it) and why. */
export type { RefusedEntry };

/** A diff asked for something that is not there: a missing `local` directory, an unknown `ref`, no Git source. */
export class DiffInputError extends Error {
  override name = 'DiffInputError';
  constructor(
    message: string,
    /** The option at fault, when one is. */
    readonly option?: 'local' | 'ref',
  ) {
    super(message);
  }
}

/** The ledger holds no actual state of the fabric (never actually synced) and the cluster was not to be read. */
export class NoActualStateError extends Error {
  override name = 'NoActualStateError';
  constructor(readonly fabric: string) {
    super(`fabric "${fabric}" was never read from its cluster, so the ledger holds no actual state to compare with`);
  }
}

/** What a diff reads through: the sync service's sources and settings. */
export interface FabricDiffDeps {
  /** CRD schemas that are never stored (a diff writes nothing). */
  schemas: FabricSchemas;
  readGit(source: GitSource, options: DesiredReadOptions): Promise<DesiredReadResult>;
  desiredOptions?: DesiredReadOptions;
  /** The fabric's configured Git source; null when it has none. */
  gitSource: GitSource | null;
  actualSource(): ActualSource;
}

export async function diffFabric(
  em: EntityManager,
  fabric: HedgehogFabric,
  options: FabricDiffOptions,
  deps: FabricDiffDeps,
): Promise<FabricDiffReport> {
  if (options.local !== undefined && options.ref !== undefined)
    throw new DiffInputError('a local directory and a ref exclude each other: compare one of them');
  const now = options.now ?? new Date();
  // The ledger first: a fabric never read from its cluster is refused before a repository is fetched.
  const ledger = await readLedger(em, fabric, options.kinds);
  if (!options.live && !ledger.lastActual) throw new NoActualStateError(fabric.name);
  const { desired, read } = await readDesiredSide(fabric, options, deps);
  const kinds = options.kinds?.length ? new Set(options.kinds) : null;
  const namespaces = options.namespaces?.length ? new Set(options.namespaces) : null;
  const cluster = options.live
    ? await liveSide(fabric, deps, kinds, read, now)
    : ledgerSide(ledger, ledger.lastActual!, read, now);
  const skip = refusedFileObjects(read, ledger.stored, options.local !== undefined ? fabric.gitPath : '');
  for (const [key, reason] of cluster.skip) skip.set(key, reason);
  const result = diffSides({
    desired: read.observations,
    stored: ledger.stored,
    actual: cluster.sides,
    skip,
    keep: (k) => (!kinds || kinds.has(k.kind)) && (!namespaces || namespaces.has(k.namespace)),
    ctx: driftContextFor(fabric, cluster.defaults, cluster.lastRead, now),
  });
  const { schemaSource } = cluster;
  return { fabric: fabric.name, desired, actual: cluster.source, refused: read.refusedList, schemaSource, ...result };
}

/** The cluster's side of a diff, whichever it came from. */
interface ClusterSide {
  source: DiffActualSource;
  sides: Map<string, ActualSide>;
  /** Objects not to compare, with why. */
  skip: Map<string, string>;
  schemaSource: SchemaSource;
  defaults: Map<string, SchemaDefaults | null>;
  /** When the cluster was read: a declaration newer than that is pending, as in a sync's drift. */
  lastRead: Date;
}

/** The ledger's actual state, as of the last actual sync; rows whose object could not be read then are not compared. */
function ledgerSide(ledger: LedgerState, lastActual: Date, read: DesiredSide, now: Date): ClusterSide {
  const skip = new Map<string, string>();
  for (const u of ledger.unreadable)
    skip.set(keyOf(u), `its current version could not be read from the cluster at the last sync: ${u.reason}`);
  const ageMs = Math.max(0, now.getTime() - lastActual.getTime());
  return {
    source: { type: 'ledger', asOf: lastActual.toISOString(), ageSeconds: Math.floor(ageMs / 1000) },
    sides: ledgerSides(ledger.stored),
    skip,
    schemaSource: read.schemaSource,
    defaults: defaultsOf(read.schemas),
    lastRead: lastActual,
  };
}

/** The cluster read now; declared objects of a kind that could not be read are not compared. */
async function liveSide(
  fabric: HedgehogFabric,
  deps: FabricDiffDeps,
  kinds: ReadonlySet<string> | null,
  read: DesiredSide,
  now: Date,
): Promise<ClusterSide> {
  const live = await readLive(fabric, deps, kinds);
  for (const o of read.observations) {
    const unread = live.unread.get(o.kind);
    if (unread) live.skip.set(keyOf(o), unread);
  }
  return {
    source: { type: 'live', readAt: now.toISOString(), failedKinds: live.failedKinds },
    sides: live.sides,
    skip: live.skip,
    schemaSource: live.schemaSource,
    defaults: live.defaults,
    lastRead: now, // read just now: nothing declared is newer than the read
  };
}

interface DesiredSide extends DesiredReadResult {
  schemas: CrdSchemas | null;
  schemaSource: SchemaSource;
  refusedList: RefusedEntry[];
}

/** The desired side, read as a desired sync reads it (same parser, validation and limits) but into memory. */
async function readDesiredSide(
  fabric: HedgehogFabric,
  options: FabricDiffOptions,
  deps: FabricDiffDeps,
): Promise<{ desired: DiffDesiredSource; read: DesiredSide }> {
  const schemaSet = await deps.schemas.schemaSetFor(fabric);
  const validate = validatorOf(schemaSet.schemas) ?? deps.desiredOptions?.validate;
  const readOptions = { ...deps.desiredOptions, validate };
  let desired: DiffDesiredSource;
  let read: DesiredReadResult;
  if (options.local !== undefined) {
    const directory = path.resolve(options.local);
    await requireDirectory(directory);
    read = await readDesiredDirectory(directory, readOptions);
    desired = { type: 'local', directory };
  } else {
    if (!deps.gitSource)
      throw new DiffInputError(`fabric "${fabric.name}" has no Git source to read (compare a local directory instead)`);
    const source = { ...deps.gitSource, ref: options.ref ?? deps.gitSource.ref };
    read = await deps.readGit(source, readOptions).catch((err: unknown) => {
      if (
        options.ref !== undefined &&
        err instanceof DesiredSourceError &&
        /is not a branch, tag or commit/.test(err.message)
      )
        throw new DiffInputError(err.message.replace(/^cannot read repository \S+: /, ''), 'ref');
      throw err;
    });
    desired = {
      type: 'git',
      repository: redactUrl(source.repository),
      ref: read.ref ?? source.ref ?? null,
      commit: read.commit,
      path: source.path ?? '',
    };
  }
  const refusedList = [...read.errors, ...read.conflicts.map(conflictError)].map(refusedEntry);
  return { desired, read: { ...read, schemas: schemaSet.schemas, schemaSource: schemaSet.source, refusedList } };
}

async function requireDirectory(directory: string): Promise<void> {
  const st = await fs.stat(directory).catch(() => null);
  if (!st) throw new DiffInputError(`no such directory: ${directory}`, 'local');
  if (!st.isDirectory()) throw new DiffInputError(`not a directory: ${directory}`, 'local');
}

/**
 * Objects the ledger's Git declared in a file this read refused, and this read does not declare: the refused file
 * may still declare them, so comparing them as removed would be wrong. Stored paths are relative to the repository
 * root; a local directory stands for the fabric's path, so its paths lack that prefix.
 */
function refusedFileObjects(
  read: DesiredReadResult,
  stored: ReadonlyMap<string, StoredResource>,
  localPrefix: string,
): Map<string, string> {
  const skip = new Map<string, string>();
  const broken = new Set(read.errors.map((e) => e.file).filter((f): f is string => !!f));
  if (broken.size === 0) return skip;
  const declared = new Set(read.observations.map(keyOf));
  const prefix = localPrefix ? `${normalizeSubPath(localPrefix)}/` : '';
  for (const [key, s] of stored) {
    if (declared.has(key) || !s.desiredFilePath) continue;
    const file =
      prefix && s.desiredFilePath.startsWith(prefix) ? s.desiredFilePath.slice(prefix.length) : s.desiredFilePath;
    if (broken.has(file)) skip.set(key, `not compared: ${file}, which declared it, was refused in this read`);
  }
  return skip;
}

interface LedgerState {
  lastActual: Date | null;
  stored: Map<string, StoredResource>;
  unreadable: { kind: string; namespace: string; name: string; reason: string }[];
}

/** The ledger's side, in one read-only snapshot (a sync committing meanwhile is seen whole or not at all). */
function readLedger(em: EntityManager, fabric: HedgehogFabric, kinds?: readonly string[]): Promise<LedgerState> {
  return em.fork().transactional(
    async (tem) => ({
      lastActual: await lastActualSync(tem, fabric.id),
      stored: await loadStoredResources(tem, fabric.id),
      unreadable: await selectUnreadableRows(tem, fabric.id, { kind: kinds }),
    }),
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );
}

function ledgerSides(stored: ReadonlyMap<string, StoredResource>): Map<string, ActualSide> {
  const sides = new Map<string, ActualSide>();
  for (const [key, s] of stored) {
    if (s.actualSpec === null) continue;
    sides.set(key, {
      kind: s.kind,
      namespace: s.namespace,
      name: s.name,
      spec: s.actualSpec,
      labels: s.labels,
      annotations: s.annotations,
    });
  }
  return sides;
}

interface LiveState {
  sides: Map<string, ActualSide>;
  /** Objects the cluster listed but refused (invalid): not compared. */
  skip: Map<string, string>;
  /** Kinds not read (not served, discovery or list failed), with why: their declared objects are not compared. */
  unread: Map<string, string>;
  failedKinds: { kind: string; reason: string }[];
  schemaSource: SchemaSource;
  /** Schema defaults from the CRDs read now (else the stored ones). */
  defaults: Map<string, SchemaDefaults | null>;
}

/**
 * The cluster now, through the actual sync's source: discovery, the CRDs (used, not stored) and each served kind's
 * complete list. A cluster that serves none of the fabric kinds, or lists none, fails as an actual sync does.
 */
async function readLive(
  fabric: HedgehogFabric,
  deps: FabricDiffDeps,
  kinds: ReadonlySet<string> | null,
): Promise<LiveState> {
  const reader = deps.actualSource();
  const wanted = FABRIC_KINDS.filter((k) => !kinds || kinds.has(k.kind));
  const [discovery, schemaSet] = await Promise.all([
    reader.discover(wanted),
    deps.schemas.schemaSetFor(fabric, () => reader.readCrds()),
  ]);
  if (discovery.served.length === 0) {
    const reasons = [...new Set(discovery.skipped.map((k) => k.reason))];
    throw new ClusterUnreachableError(reasons.slice(0, 2).join('; ') || 'discovery returned no kinds');
  }
  const state: LiveState = {
    sides: new Map(),
    skip: new Map(),
    unread: new Map(discovery.skipped.map((k) => [k.kind, `the cluster did not serve ${k.kind}: ${k.reason}`])),
    failedKinds: [...discovery.failed],
    schemaSource: schemaSet.source,
    defaults: defaultsOf(schemaSet.schemas),
  };
  let listed = 0;
  for (const kind of discovery.served) {
    const list = await reader.listKind(kind);
    if (!list.complete) {
      const reason = list.failure ?? 'list did not complete';
      state.failedKinds.push({ kind: kind.kind, reason });
      state.unread.set(kind.kind, `the list of ${kind.kind} failed: ${reason}`);
      continue;
    }
    listed++;
    for (const o of list.observations) state.sides.set(keyOf(o), o);
    for (const e of list.errors)
      if (e.kind && e.name)
        state.skip.set(
          keyOf({ kind: e.kind, namespace: e.namespace ?? '', name: e.name }),
          `the cluster's object was refused: ${e.reason}`,
        );
  }
  if (listed === 0) {
    const reasons = [...new Set(state.failedKinds.map((k) => k.reason))];
    throw new ClusterUnreachableError(`every list failed: ${reasons.slice(0, 2).join('; ')}`);
  }
  return state;
}
