/**
 * `ledger.publish`: the fabric's drafts written to its Git repository as ONE commit, pushed without force.
 *
 *   drafts (ledger) → Git at the branch tip (own bare clone, fetched first) → plan (pure: rebase, conflicts, edits)
 *   → file edits (yaml CST: other documents byte-for-byte) → commit (plumbing, no work tree) → push
 *   → on a moved remote: fetch and plan again (bounded) → the ledger records what Git now declares
 *
 * Never a user's working tree, never a force push. A rejected push (hook, protected branch) is a clear error and
 * the drafts stay drafts. The run is a `publish` record in sync_operation like every other run.
 */
import type { EntityManager } from '@mikro-orm/core';
import path from 'node:path';
import type { HedgehogFabric } from '../entities/index.js';
import { readDesiredState, gitTimeoutMs } from '../gitops/desired-state-reader.js';
import { sha256Hex } from '../gitops/manifest-parser.js';
import { DesiredSourceError } from '../gitops/source-error.js';
import { redactUrl } from '../gitops/git-cli.js';
import { crdSchemaOf, type CrdSchemas } from '../crds/crd-schemas.js';
import { loadDraftedResources } from '../store/stored-resources.js';
import type { FabricRef, FabricSyncService } from '../sync/fabric-sync-service.js';
import type { RunAccumulator } from '../sync/run-envelope.js';
import type { SyncRunReport } from '../sync/run-recorder.js';
import { editManifestFile } from './manifest-editor.js';
import {
  createCommit,
  checkBranchName,
  fetchTip,
  fetchedTip,
  lastCommitsOf,
  openPublishClone,
  resolveAuthor,
  pushCommit,
  readFilesAt,
  type GitIdentity,
  type PublishClone,
} from './git-publisher.js';
import { listKeysFor } from './list-keys.js';
import { leaveOutFile, planPublish, type LeftOutObject, type PlannedObject, type PublishPlan } from './publish-plan.js';
import type { ConflictStrategy } from './rebase-draft.js';
import { recordPublished } from './publish-record.js';

export interface PublishOptions {
  /** The commit message's subject (the objects are listed below it). Required. */
  message: string;
  /** "Name <email>"; default the Git configuration's user.name and user.email. */
  author?: string;
  /** Publish to this branch (created from the fabric's ref when absent: a pull-request flow); default the fabric's ref. */
  branch?: string;
  /** Push the commit (default true). false: build the commit in the publish clone only, and report it. */
  push?: boolean;
  /** What to do with a draft that conflicts with Git: leave it out (fail, default), or take ours or theirs. */
  strategy?: ConflictStrategy;
  /** Who publishes; recorded in the transitions. */
  actor?: string;
  /** Times to fetch, re-plan and push again when the remote moved meanwhile (default 5). */
  maxAttempts?: number;
  /**
   * Stops the publish between steps (Ctrl-C): checked before each round, before the commit and before the push —
   * never inside one, so a push is either not made or made and recorded.
   */
  signal?: AbortSignal;
}

export interface PublishedEntry {
  kind: string;
  namespace: string;
  name: string;
  operation: 'apply' | 'delete';
  file: string | null;
  outcome: PlannedObject['outcome'];
}

export interface PublishReport {
  fabric: string;
  runId: number | null;
  status: 'completed' | 'partial' | 'failed' | 'nothing';
  /** The commit made (null when nothing needed one). */
  commit: string | null;
  branch: string;
  pushed: boolean;
  attempts: number;
  published: PublishedEntry[];
  leftOut: LeftOutObject[];
  /** Files the commit changed. */
  files: string[];
  error?: string;
  durationMs: number;
  run: SyncRunReport;
}

/** The remote refused the push (a hook, a protected branch): nothing landed; the drafts stay drafts. */
export class PublishRejectedError extends Error {
  constructor(
    message: string,
    readonly branch: string,
  ) {
    super(message);
    this.name = 'PublishRejectedError';
  }
}

/**
 * The commit was pushed (it is in Git now) but the ledger could not record it (the database went away, the
 * fabric stayed locked): the drafts are still drafts in the ledger. The next desired sync reads the commit and
 * clears the drafts it carried out; publishing again before that finds them landed and changes nothing.
 */
export class PublishNotRecordedError extends Error {
  constructor(
    readonly commit: string,
    readonly branch: string,
    cause: unknown,
  ) {
    const why = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
    super(
      `commit ${commit.slice(0, 12)} was pushed to ${branch}, but the ledger could not record it: ${why}; run a desired sync to record it`,
      { cause },
    );
    this.name = 'PublishNotRecordedError';
  }
}

export interface PublisherOptions {
  /** Base of the publish clones (default .hh-sync). */
  cacheBase?: string;
  gitTimeoutMs?: number;
  lockTimeoutMs?: number;
}

/** What one publish attempt reports; the run's record and the status are added around it. */
type PublishOutcome = Omit<PublishReport, 'run' | 'runId' | 'status' | 'durationMs'>;

const STRATEGIES: readonly ConflictStrategy[] = ['fail', 'ours', 'theirs'];

export class Publisher {
  constructor(
    private readonly sync: FabricSyncService,
    private readonly options: PublisherOptions = {},
  ) {}

  async publish(ref: FabricRef, opts: PublishOptions): Promise<PublishReport> {
    const started = Date.now();
    checkOptions(opts);
    const fabric = await this.sync.resolveFabric(ref);
    if (!fabric.gitRepository)
      throw new DesiredSourceError(
        `fabric "${fabric.name}" has no Git source to publish to; set one with \`hh-sync fabric set ${fabric.name} --git <url>\``,
      );
    // Filled by the run's work; an object, not `let`s, so the checker does not narrow them to their initial null.
    const done: { outcome?: PublishOutcome; thrown?: PublishRejectedError | PublishNotRecordedError } = {};
    const run = await this.sync.runPublish(fabric, async (em, rec) => {
      try {
        done.outcome = await this.work(em, fabric, opts, rec);
      } catch (err) {
        if (err instanceof PublishRejectedError || err instanceof PublishNotRecordedError) done.thrown = err;
        throw err;
      }
    });
    if (done.thrown) throw done.thrown;
    if (run.status === 'failed' || !done.outcome) throw new Error(run.errorMessage ?? 'publish failed');
    const o = done.outcome;
    const nothing = o.published.length === 0 && o.leftOut.length === 0;
    return {
      ...o,
      runId: run.id,
      status: nothing ? 'nothing' : o.leftOut.length ? 'partial' : 'completed',
      durationMs: Date.now() - started,
      run,
    };
  }

  private async work(
    em: EntityManager,
    fabric: HedgehogFabric,
    opts: PublishOptions,
    rec: RunAccumulator,
  ): Promise<PublishOutcome> {
    const drafts = await loadDraftedResources(em.fork(), fabric.id);
    const fabricBranch = fabric.gitRef ?? null;
    if (drafts.length === 0) {
      return {
        fabric: fabric.name,
        commit: null,
        branch: opts.branch ?? fabricBranch ?? 'HEAD',
        pushed: false,
        attempts: 0,
        published: [],
        leftOut: [],
        files: [],
      };
    }
    const timeoutMs = this.options.gitTimeoutMs ?? gitTimeoutMs();
    const clone = await rec.timer.time('read', () =>
      openPublishClone(fabric.gitRepository!, { cacheBase: this.options.cacheBase, timeoutMs }),
    );
    const author = await resolveAuthor(clone, opts.author);
    const schemas = (await this.sync.schemas.schemaSetFor(fabric)).schemas;
    const ctx: AttemptContext = { em, fabric, opts, rec, clone, author, schemas, fabricBranch };
    const maxAttempts = opts.maxAttempts ?? 5;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      stopIfAborted(opts.signal);
      const result = await this.attempt(ctx, drafts, attempt);
      if (result) return result;
    }
    throw new Error(
      `the branch kept moving: ${maxAttempts} pushes were refused as non-fast-forward; nothing was published, the drafts are kept`,
    );
  }

  /** One fetch–plan–commit–push round; null when the remote moved and another round is needed. */
  private async attempt(
    ctx: AttemptContext,
    drafts: Awaited<ReturnType<typeof loadDraftedResources>>,
    attempt: number,
  ): Promise<PublishOutcome | null> {
    const { fabric, opts, rec, clone } = ctx;
    const { branch, tip, fromFabricRef } = await this.startingPoint(ctx);
    const tipState = await readDesiredState({ repository: clone.gitDir, ref: tip, path: fabric.gitPath });
    const plan = planPublish({
      drafts,
      tip: tipState,
      fabricDirection: fabric.syncDirection,
      strategy: opts.strategy ?? 'fail',
      managedFileTemplate: fabric.managedFileTemplate,
      gitPath: fabric.gitPath,
      listKeys: (kind) => listKeysFor(kind, crdSchemaOf(ctx.schemas, kind)),
    });
    const files = await this.editFiles(clone, tip, plan);
    let commit: string | null = null;
    let changed: string[] = [];
    if (files.size > 0) {
      const made = await createCommit(clone, tip, files, {
        message: commitMessage(opts.message, plan),
        author: ctx.author,
      });
      commit = made.commit;
      changed = made.changed;
    }
    const push = opts.push !== false;
    stopIfAborted(opts.signal);
    if (commit && push) {
      const pushed = await pushCommit(clone, commit, branch, {
        timeoutMs: this.options.gitTimeoutMs ?? gitTimeoutMs(),
      });
      if (!pushed.ok && pushed.reason === 'non-fast-forward') return null;
      if (!pushed.ok)
        throw new PublishRejectedError(
          // One line: the remote's own words (its hook's `remote:` lines) joined, then what it means for the drafts.
          `${pushed.message.replace(/\s*\n\s*/g, '; ')}; nothing was published, the drafts are kept`,
          branch,
        );
    }
    const publish = { branch, pushed: !!commit && push, attempts: attempt, files: changed };
    // The push happened: whatever the record step meets, the run must say which commit landed where.
    if (publish.pushed) markPushed(rec, commit!, publish);
    // Only what reached the fabric's own branch is what Git declares for the ledger; a pull-request branch or an
    // unpushed commit leaves the drafts in place (a desired sync clears them once the change is merged).
    const recordDesired = fromFabricRef && (commit === null || push);
    await this.record(ctx, { plan, commit, tip, files, observations: tipState.observations, recordDesired, publish });
    fillRun(rec, plan, commit ?? tip, publish);
    return {
      fabric: fabric.name,
      commit,
      branch,
      pushed: !!commit && push,
      attempts: attempt,
      published: plan.objects.map((o) => ({
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        operation: o.operation,
        file: o.file,
        outcome: o.outcome,
      })),
      leftOut: plan.leftOut,
      files: changed,
    };
  }

  /** The ledger's record of the attempt; a failure after a push says that the commit landed all the same. */
  private async record(
    ctx: AttemptContext,
    a: {
      plan: PublishPlan;
      commit: string | null;
      tip: string;
      files: Map<string, Buffer | null>;
      observations: readonly { filePath: string; fileHash: string }[];
      recordDesired: boolean;
      publish: { branch: string; pushed: boolean };
    },
  ): Promise<void> {
    try {
      await recordPublished(ctx.em, this.sync, ctx.fabric, {
        plan: a.plan,
        commit: a.commit ?? a.tip,
        tip: a.tip,
        external: await externalEdits(ctx.clone, a.tip, a.plan),
        fileHashes: hashesOf(a.files, a.observations),
        recordDesired: a.recordDesired,
        actor: ctx.opts.actor ?? null,
        runId: ctx.rec.runId,
        lockTimeoutMs: this.options.lockTimeoutMs ?? 30_000,
        schemas: ctx.schemas,
      });
    } catch (err) {
      if (a.publish.pushed) throw new PublishNotRecordedError(a.commit!, a.publish.branch, err);
      throw err;
    }
  }

  /** The branch to push to and the commit to build on: the target branch's tip, or the fabric ref's for a new one. */
  private async startingPoint(ctx: AttemptContext): Promise<{ branch: string; tip: string; fromFabricRef: boolean }> {
    const base = await fetchTip(ctx.clone, ctx.fabricBranch);
    if (base.tip === null)
      throw new DesiredSourceError(
        `cannot publish: the fabric's ref '${ctx.fabricBranch ?? 'HEAD'}' is not a branch of ${redactUrl(ctx.fabric.gitRepository!)}; publish to a branch with --branch`,
      );
    const wanted = ctx.opts.branch;
    if (wanted === undefined || wanted === base.branch)
      return { branch: base.branch, tip: base.tip, fromFabricRef: true };
    // The fetch above brought every branch: the target's tip is a local lookup.
    const branch = await checkBranchName(wanted);
    const target = await fetchedTip(ctx.clone, branch);
    return { branch, tip: target ?? base.tip, fromFabricRef: false };
  }

  /** Each file's new content after its edits; a file left without objects is removed (null). */
  private async editFiles(clone: PublishClone, tip: string, plan: PublishPlan): Promise<Map<string, Buffer | null>> {
    const out = new Map<string, Buffer | null>();
    const current = await readFilesAt(clone, tip, [...plan.edits.keys()]);
    for (const [file, edits] of [...plan.edits]) {
      const before = current.get(file) ?? null;
      let edited: ReturnType<typeof editManifestFile>;
      try {
        edited = editManifestFile(before === null ? null : before.toString('utf8'), edits, { file });
      } catch (err) {
        // A file the editor refuses (a broken neighbour document, an edit that would not read back) costs only
        // the objects it declares; the message names the file and why.
        leaveOutFile(plan, file, (err as Error).message.split('\n')[0]!);
        continue;
      }
      if (edited.text === null) out.set(file, null);
      else if (before === null || edited.text !== before.toString('utf8'))
        out.set(file, Buffer.from(edited.text, 'utf8'));
    }
    return out;
  }
}

interface AttemptContext {
  em: EntityManager;
  fabric: HedgehogFabric;
  opts: PublishOptions;
  rec: RunAccumulator;
  clone: PublishClone;
  author: GitIdentity;
  schemas: CrdSchemas | null;
  fabricBranch: string | null;
}

/** Before a step that changes something: an interrupted publish stops here, the drafts kept, nothing pushed. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new Error(
      `publish interrupted before anything was pushed (${(signal.reason as Error | undefined)?.message ?? 'aborted'}); the drafts are kept`,
    );
}

function checkOptions(opts: PublishOptions): void {
  if (typeof opts.message !== 'string' || opts.message.trim() === '')
    throw new TypeError('publish needs a commit message (-m "…")');
  if (opts.strategy !== undefined && !STRATEGIES.includes(opts.strategy))
    throw new TypeError(`strategy must be one of ${STRATEGIES.join(', ')} (got ${JSON.stringify(opts.strategy)})`);
  if (opts.maxAttempts !== undefined && !(Number.isInteger(opts.maxAttempts) && opts.maxAttempts >= 1))
    throw new TypeError(`maxAttempts must be a positive integer (got ${opts.maxAttempts})`);
}

/** The subject, a blank line, then one line per object: what the commit does, readable in `git log`. */
export function commitMessage(subject: string, plan: PublishPlan): string {
  const lines = plan.objects
    .filter((o) => o.outcome !== 'unchanged')
    .map(
      (o) =>
        `- ${o.outcome === 'deleted' ? 'delete' : o.outcome === 'created' ? 'create' : 'update'} ${o.kind} ${o.namespace}/${o.name} (${o.file})`,
    );
  return `${subject.trim()}\n\n${lines.join('\n')}\n`;
}

/**
 * The files of drafted objects that changed at the tip since the ledger last read or wrote them — in a commit the
 * ledger did not make — with the newest commit that touched each.
 */
async function externalEdits(
  clone: PublishClone,
  tip: string,
  plan: PublishPlan,
): Promise<Map<string, { commit: string | null; author: string | null; date: string | null }>> {
  const moved = new Set<string>();
  for (const o of plan.objects) {
    const f = o.theirsFile;
    if (f && o.row.fileHash && f.hash !== o.row.fileHash && f.path === o.row.desiredFilePath) moved.add(f.path);
  }
  const last = await lastCommitsOf(clone, tip, [...moved]);
  return new Map(
    [...moved].map((p) => {
      const c = last.get(p);
      return [p, { commit: c?.commit ?? tip, author: c?.author ?? null, date: c?.date ?? null }];
    }),
  );
}

/** sha256 of every file the commit writes, and of the files the tip already had (objects not rewritten). */
function hashesOf(
  files: Map<string, Buffer | null>,
  atTip: readonly { filePath: string; fileHash: string }[],
): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const o of atTip) out.set(o.filePath, o.fileHash);
  for (const [file, bytes] of files) out.set(file, bytes === null ? null : sha256Hex(bytes));
  return out;
}

/** What the run record must say of a pushed commit even when recording it in the ledger fails. */
function markPushed(
  rec: RunAccumulator,
  commit: string,
  publish: { branch: string; pushed: boolean; attempts: number; files: string[] },
): void {
  rec.commit = commit;
  rec.details.publish = { ...publish, files: publish.files.map((f) => path.posix.normalize(f)) };
}

function fillRun(
  rec: RunAccumulator,
  plan: PublishPlan,
  commit: string,
  publish: { branch: string; pushed: boolean; attempts: number; files: string[] },
): void {
  rec.counts.listed = plan.objects.length + plan.leftOut.length;
  // A commit that stayed in the publish clone (--no-push) published nothing: it is counted as nothing done.
  const unpushedCommit = publish.files.length > 0 && !publish.pushed;
  for (const o of plan.objects) {
    if (unpushedCommit) rec.counts.unchanged++;
    else if (o.outcome === 'created') rec.counts.created++;
    else if (o.outcome === 'updated') rec.counts.updated++;
    else if (o.outcome === 'deleted') rec.counts.cleared++;
    else rec.counts.unchanged++;
  }
  rec.counts.failed = plan.leftOut.length;
  rec.errors.push(
    ...plan.leftOut.map((l) => ({ kind: l.kind, namespace: l.namespace, name: l.name, reason: l.reason })),
  );
  markPushed(rec, commit, publish);
}
