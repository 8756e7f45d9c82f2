/**
 * FabricSyncService: the thin orchestrator that replaces the old `sync_actual_state` / `sync_desired_state`.
 *
 *   source (ClusterReader | readDesiredState) → observations → planner (pure) → writer (set-based SQL)
 *
 * The sources sit behind small interfaces (src/sync/sources.ts): ActualSource (default ClusterReader) and
 * DesiredSource (default the Git reader). The actual side's writes go through one ActualKindWriter, which the
 * watch shares.
 *
 * Each run: a `sync_operation` record committed first (it survives a rolled-back run), then ONE data
 * transaction holding the fabric's advisory lock, then the record is closed. One bad object becomes an
 * error entry; every good one still lands. A kind whose list fails is left untouched.
 */
import { EventEmitter } from 'node:events';
import type { EntityManager } from '@mikro-orm/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { HedgehogFabric } from '../entities/index.js';
import { FABRIC_KINDS, type KindInfo } from '../kube/catalog.js';
import type { SchemaDefaults } from '../crds/schema-defaults.js';
import { DEFAULT_PAGE_SIZE, type ClusterReaderOptions, type DiscoveryResult } from '../kube/cluster-reader.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { conflictError, type DesiredReadOptions } from '../gitops/desired-state-reader.js';
import { defaultCacheDir } from '../gitops/git-source.js';
import { keyOf, type DesiredObservation, type ListedObject, type ObjectError } from '../observations.js';
import type { GitSource } from '../gitops/desired-state-reader.js';
import type { StoredResource } from '../store/stored-resources.js';
import { listKeysFor } from '../writeback/list-keys.js';
import { crdSchemaOf } from '../crds/crd-schemas.js';
import {
  lastActualSync,
  markActualSynced,
  markDesiredSynced,
  refreshFabricSummary,
  resourceRowWriteCount,
  writeFabricSummary,
  type SummaryGroup,
} from '../store/fabrics.js';
import { commitsPushedByPublish, lastCrdReadProblem } from '../store/runs.js';
import {
  loadActualIndexTexts,
  loadStoredResources,
  parseActualIndex,
  type ActualIndexEntry,
} from '../store/stored-resources.js';
import {
  crdProblemError,
  crdReadFailureError,
  defaultsOf,
  FabricSchemas,
  trackSchemaCoverage,
  validatorOf,
} from './fabric-schemas.js';
import { loadCrdSchemas, saveCrdSchemas } from './crd-schema-store.js';
import { ActualKindWriter, driftContextFor, type KindWriteResult } from './actual-kind-writer.js';
import type { DriftContext } from './drift-evaluation.js';
import { DEFAULT_HOLD_OBJECTS, StartedKindList, type StreamedKindContext } from './streamed-kind.js';
import { DESIRED_COLUMNS, planDesiredWrites } from './desired-plan.js';
import { lockFabricForTransaction } from './fabric-lock.js';
import { KindReads, noteKindRead } from './kind-read.js';
import { silentLogger, type Logger } from './logger.js';
import { applyWritePlan, type ResourceWriter } from './resource-writer.js';
import { addCounts, closeAbandonedRuns, type RunType, type SyncRunReport } from './run-recorder.js';
import { runEnvelope, type RunAccumulator } from './run-envelope.js';
import {
  clusterActualSource,
  gitDesiredSource,
  type ActualSource,
  type ActualSourceFactory,
  type DesiredSource,
  type FileCommit,
} from './sources.js';
import { ClusterUnreachableError, FabricNotFoundError } from './sync-errors.js';
import { errorText } from './error-text.js';
import type { ResourceChange } from './write-plan.js';
import { driftReport, type DriftReport, type DriftReportFilter } from './drift-report.js';
import { diffFabric, type FabricDiffOptions, type FabricDiffReport } from './fabric-diff.js';
import { checkLedgerSchema, LedgerSchemaUnhealthyError } from '../db/schema-preflight.js';

export interface FabricSyncServiceOptions {
  logger?: Logger;
  /** How to build a KubeConfig for a fabric; default: its kubeconfig path + context, or in-cluster. */
  kubeConfigFor?: (fabric: HedgehogFabric) => KubeConfig;
  /** Options for the cluster reader (page size, retries, …). */
  reader?: Omit<ClusterReaderOptions, 'namespaces'>;
  /** Options for the Git reader (size limits, …). */
  desired?: DesiredReadOptions;
  /** Where remote repositories are cloned; default .hh-sync/git-cache under the working directory. */
  gitCacheDir?: string;
  /** How long a run waits for another run of the same fabric; default 30 s. */
  lockTimeoutMs?: number;
  /** Rows per write statement (and per plan chunk); default WRITE_BATCH_ROWS (1,000), measured best. A tuning knob. */
  writeBatchRows?: number;
  /**
   * Objects of one kind an actual run holds in memory whole; a kind listed in full that has more is written as its
   * pages arrive, in a savepoint of its own (src/sync/streamed-kind.ts). Default 5,000. A tuning knob: memory
   * against the cross-kind batching of small kinds.
   */
  holdObjects?: number;
  /**
   * Check the ledger's schema (NOT NULL columns without a default, pending migrations) before every run; an
   * unhealthy schema fails the run before anything is written (LedgerSchemaUnhealthyError). Default true;
   * false for hosts that check their schema themselves.
   */
  preflight?: boolean;
  /** Where actual runs read a fabric's cluster; default its API server (ClusterReader). */
  actualSource?: ActualSourceFactory;
  /** Where desired runs read a fabric's Git source; default the Git reader (readDesiredState). */
  desiredSource?: DesiredSource;
}

export type FabricRef = HedgehogFabric | string | number;

/** An actual run's whole-run list deadline unless `reader.listDeadlineMs` says otherwise: 10 minutes. */
export const DEFAULT_LIST_DEADLINE_MS = 10 * 60_000;

/** What a `resource` event says: one ledger object changed in a run. */
export interface ResourceEvent extends ResourceChange {
  fabric: string;
}

export interface SyncServiceEvents {
  'run:start': [{ fabric: string; type: RunType; id: number }];
  'run:end': [SyncRunReport];
  resource: [ResourceEvent];
  error: [Error];
}

export class FabricSyncService extends EventEmitter<SyncServiceEvents> {
  private readonly log: Logger;
  /** CRD schemas per fabric (validation of Git documents, server defaults); shared with the watch. */
  readonly schemas: FabricSchemas;
  /**
   * @internal How actual observations are written (one kind at a time), shared with the watch so both write
   * alike; its writes are this service's `resource` events.
   */
  readonly actualKindWriter: ActualKindWriter;

  constructor(
    private readonly em: EntityManager,
    private readonly options: FabricSyncServiceOptions = {},
  ) {
    super();
    this.log = options.logger ?? silentLogger;
    this.schemas = new FabricSchemas(
      {
        save: (fabricId, objs) => saveCrdSchemas(this.em.fork(), fabricId, objs),
        load: async (fabricId) => (await loadCrdSchemas(this.em.fork(), fabricId)).objects,
      },
      this.log,
    );
    const hold = options.holdObjects;
    if (hold !== undefined && !(Number.isInteger(hold) && hold >= 0))
      throw new RangeError(`holdObjects must be a whole number of objects (0 or more), got ${hold}`);
    this.actualKindWriter = new ActualKindWriter({ writeBatchRows: options.writeBatchRows });
  }

  /** Find a fabric by entity, name or id. */
  async resolveFabric(ref: FabricRef): Promise<HedgehogFabric> {
    if (ref instanceof HedgehogFabric) return ref;
    const em = this.em.fork();
    const fabric = await em.findOne(HedgehogFabric, typeof ref === 'number' ? { id: ref } : { name: ref });
    if (!fabric) throw new FabricNotFoundError(ref);
    return fabric;
  }

  kubeConfigFor(fabric: HedgehogFabric): KubeConfig {
    if (this.options.kubeConfigFor) return this.options.kubeConfigFor(fabric);
    return loadKubeConfig({
      kubeconfigPath: fabric.kubeconfigPath,
      context: fabric.kubeContext,
      inCluster: fabric.inCluster,
    });
  }

  // ---------------------------------------------------------------- actual state

  /** Read every served fabric kind from the cluster into the ledger. */
  async syncActualState(
    ref: FabricRef,
    opts: { kubeConfig?: KubeConfig; signal?: AbortSignal } = {},
  ): Promise<SyncRunReport> {
    const fabric = await this.resolveFabric(ref);
    return this.run(fabric, 'actual', async (em, rec) => {
      // Whatever the run started and did not await — a list started ahead of its kind's turn, the metadata lists of
      // kinds it never reached — ends with it: its requests in flight are aborted, and none is retried after.
      // (The caller's signal is relayed by a listener removed at the end, not AbortSignal.any: a long-lived caller
      // signal — a watch's, the CLI's — would otherwise keep every run's combined signal.)
      const runEnded = new AbortController();
      const relayAbort = () => runEnded.abort(opts.signal?.reason);
      if (opts.signal?.aborted) relayAbort();
      else opts.signal?.addEventListener('abort', relayAbort, { once: true });
      const signal = runEnded.signal;
      try {
        // The run holds the fabric lock while it lists: its lists get a deadline, so a wedged server cannot hold it for long.
        const reader = (this.options.actualSource ?? clusterActualSource)(fabric, {
          kubeConfig: () => opts.kubeConfig ?? this.kubeConfigFor(fabric),
          signal,
          reader: {
            ...this.options.reader,
            listDeadlineMs: this.options.reader?.listDeadlineMs ?? DEFAULT_LIST_DEADLINE_MS,
          },
        });
        const { discovery, schemaDefaults } = await this.discoverActual(fabric, reader, rec);
        const changes = await em.transactional((tem) =>
          this.writeActualKinds(tem, fabric, reader, discovery.served, schemaDefaults, rec),
        );
        this.emitChanges(fabric, changes); // committed: a run rolled back tells no change
      } finally {
        opts.signal?.removeEventListener('abort', relayAbort);
        runEnded.abort(new Error('the run ended'));
      }
    });
  }

  /**
   * Discovery and the CRD schemas of an actual run. Schema problems and kinds the cluster does not serve (or could
   * not say) go to the run record; a cluster that serves none of the fabric kinds fails the run.
   */
  private async discoverActual(
    fabric: HedgehogFabric,
    reader: ActualSource,
    rec: RunAccumulator,
  ): Promise<{ discovery: DiscoveryResult; schemaDefaults: Map<string, SchemaDefaults | null> }> {
    // Discovery and the CRD read at once; both settle before the run goes on (a failed discovery leaves no CRD save behind).
    const { discovery, schemaSet } = await rec.timer.time('discover', async () => {
      const [d, s] = await Promise.allSettled([
        reader.discover(FABRIC_KINDS),
        this.schemas.schemaSetFor(fabric, () => reader.readCrds()),
      ]);
      if (d.status === 'rejected') throw d.reason;
      if (s.status === 'rejected') throw s.reason;
      return { discovery: d.value, schemaSet: s.value };
    });
    rec.details.schemaSource = schemaSet.source;
    rec.errors.push(...(schemaSet.problems ?? []).map(crdProblemError));
    if (schemaSet.readFailure) {
      // The objects still land, but drift without the CRDs' defaults can differ: partial, and said why.
      rec.details.schemaProblem = schemaSet.readFailure;
      rec.errors.push(crdReadFailureError(schemaSet));
    }
    // A kind whose discovery failed (403, 5xx, …) may well exist: it is a failed kind, not a skipped one.
    const discoveryFailed = new Set(discovery.failed.map((k) => k.kind));
    rec.skippedKinds.push(...discovery.skipped.filter((k) => !discoveryFailed.has(k.kind)));
    for (const k of discovery.failed) this.noteFailedKind(rec, 'discovery', k.kind, k.reason);
    if (discovery.served.length === 0) {
      // Reading nothing is not a successful read of an empty fabric: never sweep, never report "connected".
      const reasons = [...new Set(discovery.skipped.map((k) => k.reason))];
      throw new ClusterUnreachableError(reasons.slice(0, 2).join('; ') || 'discovery returned no kinds');
    }
    return { discovery, schemaDefaults: defaultsOf(schemaSet.schemas) };
  }

  /** The data transaction of an actual run: under the fabric lock, list each served kind and write it. */
  private async writeActualKinds(
    tem: EntityManager,
    fabric: HedgehogFabric,
    reader: ActualSource,
    served: readonly KindInfo[],
    schemaDefaults: Map<string, SchemaDefaults | null>,
    rec: RunAccumulator,
  ): Promise<ResourceChange[]> {
    await lockFabricForTransaction(tem, fabric.id, fabric.name, this.lockTimeout);
    await closeAbandonedRuns(tem, fabric.id, rec.runId, this.lockTimeout);
    const now = new Date();
    const ctx = driftContextFor(fabric, schemaDefaults, now, now);
    const changes: ResourceChange[] = []; // held for the `resource` events only while someone listens
    // A fabric read before: metadata first (every kind's list at once, started now, while the index loads), full
    // objects only for what changed; a first read lists in full (src/sync/kind-read.ts).
    const readBefore = (await lastActualSync(tem, fabric.id)) !== null;
    // Each kind's index stays the server's JSON text until the kind's turn, and is dropped once the kind is written:
    // a run over 100,000 objects holds one kind's index as objects, not all of them.
    let indexTexts = new Map<string, string[]>();
    const indexes = new Map<string, Map<string, ActualIndexEntry>>();
    const indexOf = (kind: KindInfo) => {
      let index = indexes.get(kind.kind);
      if (!index) {
        const text = indexTexts.get(kind.kind);
        indexTexts.delete(kind.kind);
        indexes.set(
          kind.kind,
          (index = text === undefined ? new Map<string, ActualIndexEntry>() : parseActualIndex(text)),
        );
      }
      return index;
    };
    const pageSize = this.options.reader?.pageSize ?? DEFAULT_PAGE_SIZE;
    const reads = new KindReads(reader, served, indexOf, pageSize, readBefore ? 'metadata-first' : 'full');
    const writer = this.actualKindWriter.runWriter(tem, 'sync_actual', now, rec.runId);
    const fullLists = new FullListsAhead(reader, reads, served, (kind, i) => ({
      em: tem,
      writer,
      holdObjects: this.options.holdObjects ?? DEFAULT_HOLD_OBJECTS,
      savepoint: `hh_sync_kind_${i}`,
      begin: () => this.actualKindWriter.begin(tem, fabric, kind, indexOf(kind), ctx, 'sync_actual', writer),
      timeWrite: (work) => rec.timer.time('write', work),
    }));
    let listed = 0;
    /** The index's summary counts, and the resource-row write count just before they were taken. */
    let summaryGroups: SummaryGroup[] = [];
    let writesBeforeIndex: number | null = null;
    try {
      fullLists.startAfter(-1); // the first kind's full list runs while the index loads
      // A re-read usually writes nothing. The index's scan also counts the rows for the summary, under the lock; when
      // no row is written from before that scan to the end, those counts are the summary of the rows the run leaves,
      // and the end needs no second scan of every row. Every writer of the rows takes the fabric lock; a writer that
      // does not (a hand edit) and commits during the run is counted by the next run, not this one.
      writesBeforeIndex = await resourceRowWriteCount(tem);
      const loaded = await rec.timer.time('write', () => loadActualIndexTexts(tem, fabric.id));
      indexTexts = loaded.texts;
      summaryGroups = loaded.summaryGroups;
      for (const [i, kind] of served.entries()) {
        const step = { em: tem, fabric, reader, reads, ctx, writer, rec, fullLists, position: i };
        const r = await this.readAndWriteKind(kind, step, indexOf(kind));
        indexes.delete(kind.kind); // written (or left as it was): its index is not needed again
        if (!r) continue;
        listed++;
        if (this.listenerCount('resource') > 0) for (const c of r.changes) changes.push(c);
        rec.counts = addCounts(rec.counts, r.counts);
        rec.recreated.push(...r.recreated);
        if (r.reevaluated) rec.details.reevaluated = (rec.details.reevaluated ?? 0) + r.reevaluated;
      }
      if (listed === 0) {
        // Not one kind read: the run failed (rolled back, nothing swept) and the fabric is not "connected".
        const reasons = [...new Set(rec.failedKinds.map((k) => k.reason))];
        throw new ClusterUnreachableError(`every list failed: ${reasons.slice(0, 2).join('; ')}`);
      }
      await rec.timer.time('write', () => writer.flush());
    } finally {
      reads.stop(); // a run ended early starts no further list
      fullLists.cancel();
    }
    await rec.timer.time('write', async () => {
      const unwritten = writesBeforeIndex !== null && (await resourceRowWriteCount(tem)) === writesBeforeIndex;
      if (unwritten) await writeFabricSummary(tem, fabric.id, summaryGroups);
      else await refreshFabricSummary(tem, fabric.id);
      const listFailures = rec.failedKinds.length
        ? `kinds not listed: ${rec.failedKinds.map((k) => k.kind).join(', ')}`
        : null;
      await markActualSynced(tem, fabric.id, now, listFailures);
    });
    return changes;
  }

  /**
   * One kind of an actual run: read (by its metadata list, in full, or page by page when the source can and the kind
   * is large: src/sync/streamed-kind.ts) and written with the run's writer. Undefined when the kind could not be read:
   * it is noted as failed, and its rows are as the run found them.
   */
  private async readAndWriteKind(
    kind: KindInfo,
    step: {
      em: EntityManager;
      fabric: HedgehogFabric;
      reader: ActualSource;
      reads: KindReads;
      ctx: DriftContext;
      writer: ResourceWriter;
      rec: RunAccumulator;
      fullLists: FullListsAhead;
      /** The kind's place in the run's list of kinds. */
      position: number;
    },
    index: Map<string, ActualIndexEntry>,
  ): Promise<KindWriteResult | undefined> {
    const { em, fabric, reader, reads, ctx, writer, rec, fullLists } = step;
    const read = await rec.timer.time('list', () => reads.read(kind));
    noteKindRead(rec, read.stats);
    let list: { complete: boolean; failure?: string; errors: ObjectError[]; namespaces: string[] | null };
    let listed: readonly ListedObject[];
    let unchanged: readonly ActualIndexEntry[] = [];
    if ('fullListNeeded' in read && reader.listKindPages) {
      const streamed = await rec.timer.time('list', () => fullLists.take(kind, step.position).finish());
      // This kind is listed: the next one's full list, if it needs one, fills the wait for this kind's writes.
      fullLists.startAfter(step.position);
      if (!this.noteKindListed(rec, kind, streamed.list)) return undefined;
      if (streamed.written) return streamed.written;
      list = streamed.list;
      listed = streamed.held ?? [];
    } else {
      const whole =
        'fullListNeeded' in read ? await rec.timer.time('list', () => reads.listInFull(kind, read.stats)) : read;
      fullLists.startAfter(step.position);
      if (!this.noteKindListed(rec, kind, whole)) return undefined;
      list = whole;
      listed = whole.listed;
      unchanged = whole.unchanged;
    }
    const scope = { sweep: true as const, namespaces: list.namespaces, index, refused: list.errors, unchanged };
    return rec.timer.time('write', () =>
      this.actualKindWriter.write(em, fabric, kind, listed, scope, ctx, 'sync_actual', writer),
    );
  }

  /** A kind's list in the run's record: its refused objects, and whether it completed (a failed kind is noted). */
  private noteKindListed(
    rec: RunAccumulator,
    kind: KindInfo,
    list: { complete: boolean; failure?: string; errors: readonly ObjectError[] },
  ): boolean {
    // counts.failed counts refused objects; a failed kind is an error entry, not an object.
    rec.errors.push(...list.errors);
    rec.counts.failed += list.errors.length;
    if (list.complete) return true;
    this.noteFailedKind(rec, 'list', kind.kind, list.failure ?? 'list did not complete');
    return false;
  }

  /** A desired run without schemas says why when it can: the last actual sync could not read the CRDs. */
  private async noteWhyNoSchemas(em: EntityManager, fabric: HedgehogFabric, rec: RunAccumulator): Promise<void> {
    const problem = await lastCrdReadProblem(em, fabric.id).catch((err: unknown) => {
      this.log.warn(
        { fabric: fabric.name, err: (err as Error).message },
        "could not read the last actual sync's CRD read problem",
      );
      return null;
    });
    if (problem) rec.details.schemaProblem = problem;
  }

  /** A kind that could not be read: named with the reason; its rows are left untouched. */
  private noteFailedKind(rec: RunAccumulator, step: 'list' | 'discovery', kind: string, reason: string): void {
    rec.failedKinds.push({ kind, reason });
    rec.errors.push({ kind, reason: `${step} failed, rows of this kind left untouched: ${reason}` });
  }

  // ---------------------------------------------------------------- desired state

  /**
   * Read the fabric's Git source at its configured ref into the ledger's desired state. `opts.ref` is
   * accepted only when it is that ref: the desired state of another (unmerged) ref would replace the
   * fabric's while every listing still shows the configured ref.
   */
  async syncDesiredState(ref: FabricRef, opts: { ref?: string } = {}): Promise<SyncRunReport> {
    const fabric = await this.resolveFabric(ref);
    const refProblem = otherRefProblem(fabric, opts.ref);
    if (refProblem) throw new Error(refProblem);
    return this.run(fabric, 'desired', async (em, rec) => {
      if (!fabric.gitRepository) {
        throw new Error(
          `fabric "${fabric.name}" has no Git source; set one with \`hh-sync fabric set ${fabric.name} --git <path-or-url>\``,
        );
      }
      const schemaSet = await this.schemas.schemaSetFor(fabric);
      const validate = validatorOf(schemaSet.schemas);
      const custom = !validate && this.options.desired?.validate;
      // Said in every desired run, so "no problems" is never mistaken for "checked and valid".
      rec.details.schemaSource = validate ? schemaSet.source : custom ? 'custom' : 'none';
      if (!validate && !custom) await this.noteWhyNoSchemas(em, fabric, rec);
      // Per kind: a schema source lacking some kinds must not pass for having checked their documents.
      const coverage = custom ? undefined : trackSchemaCoverage(schemaSet.schemas, validate);
      const read = await rec.timer.time('read', () =>
        (this.options.desiredSource ?? gitDesiredSource).read(this.gitSourceOf(fabric), {
          ...this.options.desired,
          validate: coverage?.validate ?? this.options.desired?.validate,
        }),
      );
      if (coverage) {
        const { checked, unchecked } = coverage.coverage();
        rec.details.schemaChecked = checked;
        rec.details.schemaUnchecked = unchecked;
      }
      rec.commit = read.commit;
      rec.otherKinds = read.otherKinds;
      if (Object.keys(read.otherKindFiles).length) rec.details.otherKindFiles = read.otherKindFiles;
      rec.errors.push(...read.errors);
      for (const c of read.conflicts) rec.errors.push(conflictError(c));
      rec.counts.failed = read.refused;
      rec.counts.listed = read.observations.length;
      const schemaDefaults = defaultsOf(schemaSet.schemas);
      const changes = await rec.timer.time('write', () =>
        em.transactional(async (tem) => {
          await lockFabricForTransaction(tem, fabric.id, fabric.name, this.lockTimeout);
          await closeAbandonedRuns(tem, fabric.id, rec.runId, this.lockTimeout);
          const now = new Date();
          const lastActual = await lastActualSync(tem, fabric.id);
          const ctx = driftContextFor(fabric, schemaDefaults, lastActual, now);
          const stored = await loadStoredResources(tem, fabric.id);
          const gitSource = this.gitSourceOf(fabric);
          const plan = planDesiredWrites(
            {
              fabricId: fabric.id,
              commit: read.commit,
              observations: read.observations,
              conflicts: read.conflicts,
              filesWithErrors: new Set(read.errors.map((e) => e.file).filter((f): f is string => !!f)),
              stored,
              externalEdits: await this.externalEdits(tem, fabric.id, gitSource, read, stored),
              listKeys: (kind) => listKeysFor(kind, crdSchemaOf(schemaSet.schemas, kind)),
            },
            ctx,
          );
          await applyWritePlan(
            tem,
            plan,
            DESIRED_COLUMNS,
            'sync_desired',
            now,
            this.actualKindWriter.writeBatchRows,
            rec.runId,
          );
          rec.counts.created = plan.created;
          rec.counts.updated = plan.updated;
          rec.counts.unchanged = plan.unchanged;
          rec.counts.cleared = plan.cleared;
          if (plan.keptFromBrokenFiles.length) rec.details.keptFromBrokenFiles = plan.keptFromBrokenFiles;
          rec.details.conflicts = read.conflicts.length;
          rec.details.filesRead = read.filesRead;
          await refreshFabricSummary(tem, fabric.id);
          await markDesiredSynced(tem, fabric.id, now, read.commit);
          return plan.changes;
        }),
      );
      this.emitChanges(fabric, changes); // committed: a run rolled back tells no change
    });
  }

  /** Where a fabric's desired state is read from. */
  private gitSourceOf(fabric: HedgehogFabric): GitSource {
    return {
      repository: fabric.gitRepository!,
      ref: fabric.gitRef,
      path: fabric.gitPath,
      cacheDir: this.mirrorDir(fabric.gitRepository!),
    };
  }

  /**
   * The files whose content differs from the hash the ledger last read or wrote (the ledger's own publishes update
   * it), with the commit that changed each: external modifications of the objects they declare.
   */
  private async externalEdits(
    em: EntityManager,
    fabricId: number,
    source: GitSource,
    read: { commit: string | null; observations: readonly DesiredObservation[] },
    stored: Map<string, StoredResource>,
  ): Promise<Map<string, FileCommit>> {
    const changed = new Set<string>();
    for (const o of read.observations) {
      const s = stored.get(keyOf(o));
      if (s?.fileHash && s.desiredFilePath === o.filePath && s.fileHash !== o.fileHash) changed.add(o.filePath);
    }
    if (changed.size === 0) return new Map();
    const desired = this.options.desiredSource ?? gitDesiredSource;
    if (!read.commit || !desired.fileCommits)
      return new Map([...changed].map((p) => [p, { commit: read.commit, author: null, date: null }]));
    const edits = await desired.fileCommits(source, read.commit, [...changed]);
    // A publish that pushed but could not record its commit left the old hashes: its commit is still the ledger's.
    const commits = [...new Set([...edits.values()].map((e) => e.commit).filter((c): c is string => !!c))];
    const ours = await commitsPushedByPublish(em, fabricId, commits);
    for (const [file, e] of edits) if (e.commit && ours.has(e.commit)) edits.delete(file);
    return edits;
  }

  // ---------------------------------------------------------------- write-back

  /**
   * @internal A publish (src/writeback/publish.ts) as a run of this service: the same record, pre-flight, outcome and
   * events as the syncs.
   */
  runPublish(
    fabric: HedgehogFabric,
    work: (em: EntityManager, rec: RunAccumulator) => Promise<void>,
  ): Promise<SyncRunReport> {
    return this.run(fabric, 'publish', work);
  }

  /**
   * @internal `resource` events for changes written by this service or another module (publish, the watch): called
   * once the transaction that wrote them has committed, never before — a rolled-back write changed nothing.
   */
  emitChanges(fabric: HedgehogFabric, changes: readonly ResourceChange[]): void {
    if (this.listenerCount('resource') === 0) return;
    // The changes are committed: a listener's fault must not make the run (or the watch's write) look failed, nor
    // keep the changes after it from being told. One warning per batch, not one per change.
    let faults = 0;
    let first: unknown;
    for (const c of changes) {
      try {
        this.emit('resource', { fabric: fabric.name, ...c });
      } catch (err) {
        if (faults++ === 0) first = err;
      }
    }
    if (faults)
      this.log.warn({ fabric: fabric.name, faults, err: errorText(first) }, 'a resource event listener threw');
  }

  // ---------------------------------------------------------------- reports

  async driftReport(ref: FabricRef, filter: DriftReportFilter = {}): Promise<DriftReport> {
    const fabric = await this.resolveFabric(ref);
    return driftReport(this.em.fork(), fabric, filter);
  }

  /**
   * Compare a local directory or any ref of the fabric's repository with the ledger's actual state (or, with `live`,
   * the cluster now) without writing anything (src/sync/fabric-diff.ts).
   */
  async diff(ref: FabricRef, options: FabricDiffOptions = {}): Promise<FabricDiffReport> {
    const fabric = await this.resolveFabric(ref);
    const readOnlySchemas = new FabricSchemas(
      {
        save: () => Promise.resolve(0),
        load: async (fabricId) => (await loadCrdSchemas(this.em.fork(), fabricId)).objects,
      },
      this.log,
    );
    return diffFabric(this.em, fabric, options, {
      schemas: readOnlySchemas,
      readGit: (source, o) => (this.options.desiredSource ?? gitDesiredSource).read(source, o),
      desiredOptions: this.options.desired,
      gitSource: fabric.gitRepository ? this.gitSourceOf(fabric) : null,
      actualSource: () =>
        (this.options.actualSource ?? clusterActualSource)(fabric, {
          kubeConfig: () => this.kubeConfigFor(fabric),
          reader: {
            ...this.options.reader,
            listDeadlineMs: this.options.reader?.listDeadlineMs ?? DEFAULT_LIST_DEADLINE_MS,
          },
        }),
    });
  }

  // ---------------------------------------------------------------- internals

  /** The mirror of a remote repository under `gitCacheDir`, one per URL; undefined = the reader's default. */
  private mirrorDir(repository: string): string | undefined {
    return this.options.gitCacheDir ? defaultCacheDir(repository, this.options.gitCacheDir) : undefined;
  }

  private get lockTimeout(): number {
    return this.options.lockTimeoutMs ?? 30_000;
  }

  /**
   * Every run goes through the envelope: run record, outcome, fabric error, events. An unhealthy ledger schema
   * (pre-flight check) makes it a failed run that writes nothing — or, when even the run record cannot be
   * written, a LedgerSchemaUnhealthyError.
   */
  private async run(
    fabric: HedgehogFabric,
    type: RunType,
    work: (em: EntityManager, rec: RunAccumulator) => Promise<void>,
  ): Promise<SyncRunReport> {
    const unhealthy = await this.preflight();
    if (!unhealthy) return this.envelope(fabric, type, work);
    return this.envelope(fabric, type, () => Promise.reject(unhealthy)).catch(() => {
      throw unhealthy;
    });
  }

  /** The schema problem that forbids writing now, if any (checked afresh every run: nothing cached). */
  private async preflight(): Promise<LedgerSchemaUnhealthyError | undefined> {
    if (this.options.preflight === false) return undefined;
    const result = await checkLedgerSchema(this.em.fork());
    return result.healthy ? undefined : new LedgerSchemaUnhealthyError(result);
  }

  private envelope(
    fabric: HedgehogFabric,
    type: RunType,
    work: (em: EntityManager, rec: RunAccumulator) => Promise<void>,
  ): Promise<SyncRunReport> {
    return runEnvelope(
      this.em.fork(),
      fabric,
      type,
      {
        log: this.log,
        started: (e) => this.emit('run:start', e),
        failed: (err) => {
          if (this.listenerCount('error') > 0) this.emit('error', err);
        },
        ended: (report) => this.emit('run:end', report),
      },
      work,
    );
  }
}

/**
 * Why `ref` may not be read into `fabric`'s desired state, or null when it may (none given, or the
 * fabric's own ref).
 */
export function otherRefProblem(fabric: HedgehogFabric, ref: string | undefined): string | null {
  if (ref === undefined || sameRef(ref, fabric.gitRef)) return null;
  const configured = fabric.gitRef ? `'${fabric.gitRef}'` : "the repository's HEAD";
  return (
    `--ref '${ref}' is not the ref of fabric "${fabric.name}" (${configured}): its desired state would then come from a ref ` +
    `that \`hh-sync fabric list\` does not show; to follow '${ref}', run \`hh-sync fabric set ${fabric.name} --ref ${ref}\`; ` +
    `to compare it with the cluster without writing, \`hh-sync diff ${fabric.name} --ref ${ref}\``
  );
}

/** A fabric without a ref follows the repository's HEAD, so `HEAD` (and no ref) names that same ref. */
function sameRef(a: string | null | undefined, b: string | null | undefined): boolean {
  const norm = (r: string | null | undefined) =>
    r === undefined || r === null || r.trim() === '' || r === 'HEAD' ? 'HEAD' : r;
  return norm(a) === norm(b);
}

export { ClusterUnreachableError, FabricNotFoundError } from './sync-errors.js';

/**
 * The full lists of an actual run, each started one kind ahead of its turn (StartedKindList): while a kind's rows are
 * planned and written, the next kind's pages are requested and parsed in the time the run would spend waiting for the
 * database. One list ahead at most, so a run holds at most one more kind's first `holdObjects` objects. Only kinds
 * known to need a full list (a first sync, or a source without metadata-only lists) are started ahead.
 */
class FullListsAhead {
  private readonly ahead = new Map<KindInfo, StartedKindList>();
  private ended = false;

  constructor(
    private readonly reader: ActualSource,
    private readonly reads: KindReads,
    private readonly kinds: readonly KindInfo[],
    private readonly contextOf: (kind: KindInfo, index: number) => StreamedKindContext,
  ) {}

  /** Start the full list of the kind after `index`, when it needs one and the source lists page by page. */
  startAfter(index: number): void {
    const kind = this.kinds[index + 1];
    if (this.ended || !kind || this.ahead.has(kind) || !this.reader.listKindPages || !this.reads.listsInFull(kind))
      return;
    this.ahead.set(kind, this.start(kind, index + 1));
  }

  /** The kind's full list: the one started ahead, or one started now. */
  take(kind: KindInfo, index: number): StartedKindList {
    const started = this.ahead.get(kind);
    this.ahead.delete(kind);
    return started ?? this.start(kind, index);
  }

  /** The run ended: a list started ahead stops at its next page, and nothing of it is written. */
  cancel(): void {
    this.ended = true;
    for (const list of this.ahead.values()) list.cancel();
    this.ahead.clear();
  }

  private start(kind: KindInfo, index: number): StartedKindList {
    const source = this.reader as Required<Pick<ActualSource, 'listKindPages'>>;
    return new StartedKindList(source, kind, this.contextOf(kind, index));
  }
}
