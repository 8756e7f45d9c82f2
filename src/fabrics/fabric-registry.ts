/**
 * Fabric management: create, update, list and remove fabrics with their settings.
 * Only where credentials are (kubeconfig path + context, or in-cluster) is stored — never a token.
 */
import { LockMode, type EntityManager } from '@mikro-orm/core';
import { HedgehogFabric } from '../entities/index.js';
import type { IgnoreRule } from '../drift/types.js';
import { ignoreRuleProblem } from '../drift/ignore-rules.js';
import { kindInfo } from '../kube/catalog.js';
import { SYNC_DIRECTIONS, type SyncDirection } from '../entities/enums.js';
import { managedFileTemplateProblem } from './managed-file-template.js';

export { managedFileTemplateProblem };
import { redactUrlCredentials } from '../kube/redact.js';
import { stripUrlCredentials as stripGitUrlCredentials } from '../gitops/git-url.js';
import { deleteFabricHistory, fabricIdOf } from '../store/fabrics.js';
import { countFabricRows } from '../store/ledger-reads.js';
import { lockFabricForTransaction } from '../sync/fabric-lock.js';

export interface FabricSettings {
  description?: string;
  status?: HedgehogFabric['status'];
  kubeconfigPath?: string | null;
  kubeContext?: string | null;
  inCluster?: boolean;
  apiServerUrl?: string | null;
  namespaces?: string[];
  gitRepository?: string | null;
  gitRef?: string | null;
  gitPath?: string;
  crdDirectory?: string | null;
  ignoreRules?: IgnoreRule[];
  syncEnabled?: boolean;
  syncIntervalSeconds?: number;
  /** `git_to_ledger`: Git is read only (drafts refused); `ledger_to_git` / `bidirectional`: drafts are published. */
  syncDirection?: SyncDirection;
  /** Where publish writes an object Git does not declare yet, relative to gitPath ({plural}, {kind}, {namespace}, {name}). */
  managedFileTemplate?: string;
}

const SETTING_KEYS: readonly (keyof FabricSettings)[] = [
  'description',
  'status',
  'kubeconfigPath',
  'kubeContext',
  'inCluster',
  'apiServerUrl',
  'namespaces',
  'gitRepository',
  'gitRef',
  'gitPath',
  'crdDirectory',
  'ignoreRules',
  'syncEnabled',
  'syncIntervalSeconds',
  'syncDirection',
  'managedFileTemplate',
];

export class FabricExistsError extends Error {
  constructor(name: string) {
    super(`a fabric named "${name}" already exists; change it with \`hh-sync fabric set ${name} …\``);
    this.name = 'FabricExistsError';
  }
}

export class InvalidFabricSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFabricSettingsError';
  }
}

/**
 * Problems with settings that the entity's own rules cannot see. Ignore rules are checked here, when
 * they are saved: a malformed rule would otherwise make every drift computation of the fabric fail.
 */
export function fabricSettingsProblems(settings: FabricSettings): string[] {
  const problems: string[] = [];
  for (const [i, rule] of (settings.ignoreRules ?? []).entries()) {
    const p = ignoreRuleProblem(rule);
    if (p) problems.push(`ignoreRules[${i}]: ${p}`);
    if (rule.kind !== undefined && !kindInfo(rule.kind))
      problems.push(`ignoreRules[${i}]: unknown kind "${rule.kind}"`);
  }
  if (
    settings.syncIntervalSeconds !== undefined &&
    !(Number.isInteger(settings.syncIntervalSeconds) && settings.syncIntervalSeconds > 0)
  ) {
    problems.push(
      `syncIntervalSeconds: must be a positive whole number of seconds, got ${settings.syncIntervalSeconds}`,
    );
  }
  if (settings.syncDirection !== undefined && !SYNC_DIRECTIONS.includes(settings.syncDirection)) {
    problems.push(
      `syncDirection: expected one of ${SYNC_DIRECTIONS.join(', ')}, got ${JSON.stringify(settings.syncDirection)}`,
    );
  }
  if (settings.managedFileTemplate !== undefined) {
    const p = managedFileTemplateProblem(settings.managedFileTemplate);
    if (p) problems.push(`managedFileTemplate ${JSON.stringify(settings.managedFileTemplate)}: ${p}`);
  }
  problems.push(...urlCredentialProblems(settings));
  return problems;
}

/**
 * URLs are stored and printed, so one that carries a password or token is refused rather than stored or
 * silently changed (the caller would not know its URL was altered). The message shows the URL without
 * the credentials, never the credentials themselves.
 */
function urlCredentialProblems(settings: FabricSettings): string[] {
  const problems: string[] = [];
  if (settings.gitRepository) {
    const { url, removed } = stripGitUrlCredentials(settings.gitRepository);
    if (removed.length) {
      problems.push(
        `gitRepository: the URL carries credentials (${removed.join(', ')}); give it without them (${url}): ` +
          'git gets credentials from a credential helper, the SSH agent, or HH_SYNC_GIT_TOKEN',
      );
    }
  }
  if (settings.apiServerUrl) {
    const url = redactUrlCredentials(settings.apiServerUrl);
    if (url !== settings.apiServerUrl) {
      problems.push(
        `apiServerUrl: the URL carries credentials (user name or password); give it without them (${url}): they belong in the kubeconfig`,
      );
    }
  }
  return problems;
}

export class FabricRegistry {
  constructor(
    private readonly em: EntityManager,
    /** How long remove() waits for a sync, watch write, draft or publish of the fabric to end (default 30 s). */
    private readonly options: { lockTimeoutMs?: number } = {},
  ) {}

  async list(): Promise<HedgehogFabric[]> {
    return this.em.fork().find(HedgehogFabric, {}, { orderBy: { name: 'asc' } });
  }

  async get(name: string): Promise<HedgehogFabric | null> {
    return this.em.fork().findOne(HedgehogFabric, { name });
  }

  /** Create a fabric; settings not given take the entity (and database) defaults. */
  async create(name: string, settings: FabricSettings = {}): Promise<HedgehogFabric> {
    const em = this.em.fork();
    if (await em.count(HedgehogFabric, { name })) throw new FabricExistsError(name);
    const fabric = em.create(HedgehogFabric, { name });
    applySettings(fabric, settings);
    await em.persist(fabric).flush();
    return fabric;
  }

  /** Change some settings of an existing fabric; returns null when there is no such fabric. */
  async update(name: string, settings: FabricSettings): Promise<HedgehogFabric | null> {
    const em = this.em.fork();
    const fabric = await em.findOne(HedgehogFabric, { name });
    if (!fabric) return null;
    applySettings(fabric, settings);
    await em.flush();
    return fabric;
  }

  /**
   * Remove a fabric with its ledger rows and runs (by cascade) and its history (explicitly: history outlives
   * its resource rows, so the resource cascade would only detach it).
   */
  async remove(name: string): Promise<boolean> {
    return (await this.removeCounting(name)) !== null;
  }

  /** `remove`, returning how many rows of each table went with the fabric; null when there is no such fabric. */
  async removeCounting(name: string): Promise<RemovedFabricRows | null> {
    return this.em.fork().transactional(async (em) => {
      const id = await fabricIdOf(em, name);
      if (id === undefined) return null;
      // First the lock every writer of the fabric's rows takes (sync, watch, drafts, publish): a draft updating an
      // object never touches the fabric row, so without it its history row could land between the history delete
      // and the cascade, left naming a deleted row. Taken before the row lock, in the writers' order (they update
      // the fabric row last), so the two never wait on each other.
      await lockFabricForTransaction(em, id, name, this.options.lockTimeoutMs ?? 30_000);
      // The fabric row locked FOR UPDATE: a row that references it (an object, a run, a CRD schema) takes a key-share
      // lock on it to be inserted, so none can slip in between the count and the delete — the counts are exact.
      const fabric = await em.findOne(HedgehogFabric, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!fabric) return null;
      const rows = await countFabricRows(em, fabric.id);
      await deleteFabricHistory(em, fabric.id);
      await em.remove(fabric).flush();
      return { objects: rows.objects, runs: rows.runs, transitions: rows.transitions, crdSchemas: rows.crd_schemas };
    });
  }
}

/** The rows a removed fabric took with it, per table. */
export interface RemovedFabricRows {
  objects: number;
  runs: number;
  /** Its state transitions, those of objects deleted earlier (detached history) included. */
  transitions: number;
  crdSchemas: number;
}

function applySettings(fabric: HedgehogFabric, settings: FabricSettings): void {
  const problems = fabricSettingsProblems(settings);
  if (problems.length)
    throw new InvalidFabricSettingsError(`invalid settings for fabric "${fabric.name}": ${problems.join('; ')}`);
  for (const key of SETTING_KEYS) {
    if (settings[key] !== undefined) (fabric as unknown as Record<string, unknown>)[key] = settings[key];
  }
}
