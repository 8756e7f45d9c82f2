/**
 * `ledger.drafts`: changes prepared in the ledger, published to Git later (src/writeback/publish.ts). Every call
 * runs in one transaction under the fabric's lock, so a draft never interleaves with a sync of the same fabric.
 * Inputs are validated like Git documents (names, the fabric catalog, the CRD schema); a refused object costs
 * nothing to the others of the same call.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { DraftOperation, ResourceState, ResourceSyncDirection, SyncDirection } from '../entities/enums.js';
import type { HedgehogFabric } from '../entities/index.js';
import { keyOf, type ObjectError, type ResourceKey } from '../observations.js';
import { loadDraftedResources, loadStoredResourcesForKeys, type StoredResource } from '../store/stored-resources.js';
import { lockFabricForTransaction } from '../sync/fabric-lock.js';
import { validatorOf } from '../sync/fabric-schemas.js';
import type { FabricRef, FabricSyncService } from '../sync/fabric-sync-service.js';
import { applyWritePlan } from '../sync/resource-writer.js';
import { checkLedgerSchema, LedgerSchemaUnhealthyError } from '../db/schema-preflight.js';
import { parseDraftInput } from './draft-input.js';
import { draftConflictOf } from '../sync/desired-draft.js';
import { hasDraft } from '../sync/resource-state.js';
import type { FabricObject } from '../kinds/index.js';
import {
  DRAFT_COLUMNS,
  effectiveDirection,
  planDraftApply,
  planDraftDelete,
  planDraftDiscard,
  type DraftChange,
  type DraftPlan,
  type DraftPlanContext,
} from './draft-plan.js';

/**
 * What `apply` takes: a typed fabric object (types generated from the CRDs, `hedgehog-fabric-sync/kinds`), a list of
 * them, or YAML text (one or more documents, `kind: List` included) as `kubectl apply -f` takes it.
 */
export type DraftInput = FabricObject | readonly FabricObject[] | string;

/** An object of a fabric, as a draft names it (namespace `default` when omitted). */
export interface DraftKey {
  kind: string;
  namespace?: string;
  name: string;
}

export interface DraftCallOptions {
  /** Who makes the change (a user name, a service); recorded as `draft_updated_by` and in the transition. */
  actor?: string;
  /** The name the input is reported under in problems (e.g. the file of `-f`); default `<draft>`. */
  source?: string;
}

export interface DraftCallResult {
  fabric: string;
  /** What happened to each object named, in input order. */
  results: DraftChange[];
  /** What was refused, with where and why; the others still landed. */
  refused: ObjectError[];
}

/** One draft as the ledger holds it, beside Git's and the cluster's versions of the object. */
export interface Draft extends ResourceKey {
  apiVersion: string;
  operation: DraftOperation;
  spec: Record<string, unknown> | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  updated: Date | null;
  updatedBy: string | null;
  base: { spec: Record<string, unknown> | null; commit: string | null; fileHash: string | null };
  /** What Git declares now (null: not declared) and the cluster runs (null: not seen). */
  desiredSpec: Record<string, unknown> | null;
  actualSpec: Record<string, unknown> | null;
  desiredFilePath: string | null;
  state: ResourceState;
  /** The object's own setting (`inherit`: the fabric's), and the direction that applies. */
  syncDirection: ResourceSyncDirection;
  effectiveSyncDirection: SyncDirection;
  /** `detected`: Git changed the same path differently since the base; `conflict` lists each path. */
  conflictStatus: string;
  conflict: DraftConflictDetails | null;
  externalModifications: Record<string, unknown>[];
}

export interface DraftConflictPath {
  path: string;
  base?: unknown;
  ours?: unknown;
  theirs?: unknown;
}

export interface DraftConflictDetails {
  /** The Git commit whose spec met the draft. */
  commit?: string | null;
  /** Conflicting paths (detected), or nothing when the merge was clean. */
  paths?: DraftConflictPath[];
  /** Paths Git changed that were merged into the draft (resolved). */
  merged?: string[];
  strategy?: 'ours' | 'theirs';
  at?: string;
}

/** Nothing of a draft call could be done: every object was refused (the errors say why, one per object). */
export class DraftRefusedError extends Error {
  constructor(readonly refused: ObjectError[]) {
    super(
      refused.length === 1
        ? oneProblem(refused[0]!)
        : `${refused.length} objects refused; first: ${oneProblem(refused[0]!)}`,
    );
    this.name = 'DraftRefusedError';
  }
}

function oneProblem(e: ObjectError): string {
  const where = [e.file && `${e.file}${e.line ? `:${e.line}` : ''}`, e.kind && `${e.kind}/${e.name ?? '?'}`]
    .filter(Boolean)
    .join(' ');
  return where ? `${where}: ${e.reason}` : e.reason;
}

export class Drafts {
  constructor(
    private readonly em: EntityManager,
    private readonly sync: FabricSyncService,
    private readonly options: { lockTimeoutMs?: number; preflight?: boolean } = {},
  ) {}

  /** Draft objects (an object, a list of them, or YAML text, `kind: List` included) to be published to Git. */
  async apply(fabric: FabricRef, input: DraftInput, opts: DraftCallOptions = {}): Promise<DraftCallResult> {
    const f = await this.sync.resolveFabric(fabric);
    const schemaSet = await this.sync.schemas.schemaSetFor(f);
    const parsed = parseDraftInput(input, validatorOf(schemaSet.schemas), opts.source);
    const result = await this.write(f, parsed.objects, opts, (stored, ctx) =>
      planDraftApply(parsed.objects, stored, ctx),
    );
    return finish({ ...result, refused: [...parsed.refused, ...result.refused] });
  }

  /** Draft the removal of objects from Git (the next publish deletes their documents). */
  async delete(
    fabric: FabricRef,
    keys: DraftKey | readonly DraftKey[],
    opts: DraftCallOptions = {},
  ): Promise<DraftCallResult> {
    const f = await this.sync.resolveFabric(fabric);
    const list = normalizeKeys(keys);
    return finish(await this.write(f, list, opts, (stored, ctx) => planDraftDelete(list, stored, ctx)));
  }

  /** Drop drafts: the named objects', or every draft of the fabric with `'all'`. Git and the cluster are untouched. */
  async discard(
    fabric: FabricRef,
    keys: DraftKey | readonly DraftKey[] | 'all',
    opts: DraftCallOptions = {},
  ): Promise<DraftCallResult> {
    const f = await this.sync.resolveFabric(fabric);
    if (keys === 'all') {
      return this.write(f, 'all', opts, (stored, ctx) => planDraftDiscard([...stored.values()], ctx));
    }
    const list = normalizeKeys(keys);
    return finish(
      await this.write(f, list, opts, (stored, ctx) => {
        const plan = planDraftDiscard(
          list.map((k) => stored.get(keyOf(k))).filter((s): s is StoredResource => !!s),
          ctx,
        );
        for (const k of list) if (!stored.has(keyOf(k))) plan.refused.push({ ...k, reason: 'not in the ledger' });
        return plan;
      }),
    );
  }

  /** Every draft of the fabric (and every draft in conflict with Git), in kind/namespace/name order. */
  async list(fabric: FabricRef): Promise<Draft[]> {
    const f = await this.sync.resolveFabric(fabric);
    return (await loadDraftedResources(this.em.fork(), f.id)).map((s) => toDraft(s, f));
  }

  /** One object's draft, or null when it holds none. */
  async get(fabric: FabricRef, key: DraftKey): Promise<Draft | null> {
    const f = await this.sync.resolveFabric(fabric);
    const [k] = normalizeKeys(key);
    const s = (await loadStoredResourcesForKeys(this.em.fork(), f.id, [k!])).get(keyOf(k!));
    return s && hasDraft(s) ? toDraft(s, f) : null;
  }

  /** Plan and write one draft call in one transaction, under the fabric lock, after the schema pre-flight. */
  private async write(
    fabric: HedgehogFabric,
    keys: readonly ResourceKey[] | 'all',
    opts: DraftCallOptions,
    plan: (stored: Map<string, StoredResource>, ctx: DraftPlanContext) => DraftPlan,
  ): Promise<DraftCallResult> {
    if (this.options.preflight !== false) {
      const schema = await checkLedgerSchema(this.em.fork());
      if (!schema.healthy) throw new LedgerSchemaUnhealthyError(schema);
    }
    const done = await this.em.fork().transactional(async (tem) => {
      await lockFabricForTransaction(tem, fabric.id, fabric.name, this.options.lockTimeoutMs ?? 30_000);
      const stored =
        keys === 'all'
          ? new Map((await loadDraftedResources(tem, fabric.id)).map((s) => [keyOf(s), s]))
          : await loadStoredResourcesForKeys(tem, fabric.id, keys);
      const now = new Date();
      const p = plan(stored, {
        fabricId: fabric.id,
        fabricName: fabric.name,
        fabricDirection: fabric.syncDirection,
        actor: opts.actor?.trim() || null,
        now,
      });
      await applyWritePlan(tem, p, DRAFT_COLUMNS, 'draft', now);
      return p;
    });
    for (const r of done.results) {
      if (r.outcome === 'unchanged') continue;
      this.sync.emit('resource', {
        fabric: fabric.name,
        kind: r.kind,
        namespace: r.namespace,
        name: r.name,
        change: r.outcome === 'discarded' ? 'cleared' : r.outcome,
        state: r.outcome === 'discarded' ? undefined : 'draft',
      });
    }
    return { fabric: fabric.name, results: done.results, refused: done.refused };
  }
}

/** A call that did nothing but refuse is an error; a partly refused one returns what landed and what did not. */
function finish(result: DraftCallResult): DraftCallResult {
  if (result.results.length === 0 && result.refused.length > 0) throw new DraftRefusedError(result.refused);
  return result;
}

function normalizeKeys(keys: DraftKey | readonly DraftKey[]): ResourceKey[] {
  const list = Array.isArray(keys) ? (keys as readonly DraftKey[]) : [keys as DraftKey];
  return list.map((k) => ({ kind: k.kind, namespace: k.namespace ?? 'default', name: k.name }));
}

function toDraft(s: StoredResource, fabric: HedgehogFabric): Draft {
  const details = draftConflictOf(s) as DraftConflictDetails | null;
  return {
    kind: s.kind,
    namespace: s.namespace,
    name: s.name,
    apiVersion: s.apiVersion,
    operation: s.draftOperation ?? 'apply',
    spec: s.draftSpec,
    labels: s.draftMetadata?.labels ?? {},
    annotations: s.draftMetadata?.annotations ?? {},
    updated: s.draftUpdated,
    updatedBy: s.draftUpdatedBy,
    base: { spec: s.draftBaseSpec, commit: s.draftBaseCommit, fileHash: s.draftBaseFileHash },
    desiredSpec: s.desiredSpec,
    actualSpec: s.actualSpec,
    desiredFilePath: s.desiredFilePath,
    state: s.resourceState,
    syncDirection: s.syncDirection,
    effectiveSyncDirection: effectiveDirection(s, fabric.syncDirection),
    conflictStatus: s.conflictStatus,
    conflict: details,
    externalModifications: s.externalModifications ?? [],
  };
}
