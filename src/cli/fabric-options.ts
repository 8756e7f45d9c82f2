/**
 * `fabric add|set` flags → FabricSettings, validated before anything is stored: paths exist, the
 * kubeconfig loads (its server URL is kept for display — never a token), namespaces are DNS labels,
 * the interval is positive, ignore rules are usable. Every problem is a UsageError naming the flag.
 */
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HedgehogFabric } from '../entities/index.js';
import type { IgnoreRule } from '../drift/types.js';
import type { FabricSettings } from '../fabrics/fabric-registry.js';
import { managedFileTemplateProblem } from '../fabrics/managed-file-template.js';
import { SYNC_DIRECTIONS, type SyncDirection } from '../entities/enums.js';
import { FABRIC_KINDS } from '../kube/catalog.js';
import { ignoreRuleProblem } from '../drift/ignore-rules.js';
import { isRemoteRepository } from '../gitops/git-source.js';
import { stripUrlCredentials } from '../gitops/git-url.js';
import { normalizeSubPath } from '../gitops/source-files.js';
import { dns1123LabelProblem } from '../common/k8s-names.js';
import type { CliContext } from './cli-context.js';
import { UsageError } from './cli-errors.js';

/** The flags as commander hands them over. */
export interface FabricFlags {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  namespace?: string[];
  allNamespaces?: boolean;
  git?: string;
  ref?: string;
  path?: string;
  crds?: string;
  description?: string;
  interval?: string;
  ignore?: string[];
  clearIgnore?: boolean;
  syncDirection?: string;
  managedFileTemplate?: string;
}

/** commander collector for repeatable flags that also take comma-separated lists (namespaces, statuses). */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ];
}

/** commander collector for repeatable flags whose values may hold commas (ignore rules). */
export function collectRaw(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The catalog's kind for `VPC`, `vpc` or `vpcs`; UsageError naming the known kinds otherwise. */
export function resolveKind(input: string, flag = '--kind'): string {
  const lower = input.toLowerCase();
  const found = FABRIC_KINDS.find((k) => k.kind.toLowerCase() === lower || k.plural === lower);
  if (!found)
    throw new UsageError(`${flag} ${input}: not a fabric kind (known: ${FABRIC_KINDS.map((k) => k.kind).join(', ')})`);
  return found.kind;
}

/**
 * A fabric name is a DNS-1123 label, as Kubernetes names its namespaces: safe in every shell hint, file
 * name and terminal, and nothing a shell would read as a flag.
 */
export function checkFabricName(name: string): void {
  const rule = 'lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';
  if (name === '') throw new UsageError(`the fabric name must not be empty: ${rule}`);
  if (dns1123LabelProblem(name))
    throw new UsageError(`fabric name ${JSON.stringify(name)} is not a DNS-1123 label: ${rule}`);
}

/**
 * `--ignore` values: `<pointer>` (every kind), `<Kind>:<pointer>` or `<Kind>/<name>:<pointer>`, the pointer
 * an RFC 6901 JSON pointer under /spec or /metadata (a `*` segment matches any one key),
 * e.g. `VPC:/spec/subnets/default/dhcp` or `Switch/leaf-01:/metadata/annotations`.
 */
export function parseIgnoreRule(value: string): IgnoreRule {
  const slash = value.indexOf('/');
  const colon = value.indexOf(':');
  let rule: IgnoreRule;
  if (slash === 0) rule = { pointer: value };
  else if (colon > 0) {
    const scope = value.slice(0, colon);
    const pointer = value.slice(colon + 1);
    const [kindPart, name, ...rest] = scope.split('/');
    if (rest.length || name === '')
      throw new UsageError(`--ignore ${value}: the scope must be <Kind> or <Kind>/<name>`);
    rule = { kind: resolveKind(kindPart!, `--ignore ${value}:`), ...(name ? { name } : {}), pointer };
  } else {
    throw new UsageError(
      `--ignore ${value}: expected <pointer>, <Kind>:<pointer> or <Kind>/<name>:<pointer>, e.g. VPC:/spec/subnets/default/dhcp`,
    );
  }
  const problem = ignoreRuleProblem(rule);
  if (problem) throw new UsageError(`--ignore ${value}: ${problem}`);
  return rule;
}

/** Where relative paths and `~` on the command line point: the invocation's directory and HOME. */
export type PathBase = Pick<CliContext, 'env' | 'cwd'>;

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME || os.homedir();
  if (p === '~') return home;
  return p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** An absolute path that must exist and be a directory (or a file). */
function existingPath(flag: string, value: string, want: 'file' | 'directory', base: PathBase): string {
  if (value.trim() === '') throw new UsageError(`${flag} needs a path`);
  const abs = path.resolve(base.cwd, expandHome(value, base.env));
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new UsageError(`${flag} ${value}: ${abs} does not exist`);
  }
  if (want === 'directory' && !isDir) throw new UsageError(`${flag} ${value}: ${abs} is not a directory`);
  if (want === 'file' && isDir) throw new UsageError(`${flag} ${value}: ${abs} is a directory, not a file`);
  return abs;
}

/** A ref that does not resolve is refused now, not at the next sync (a remote repository is fetched for it). */
async function checkRefResolves(repository: string, ref: string): Promise<void> {
  const { resolveSourceRef } = await import('../gitops/desired-state-reader.js');
  try {
    await resolveSourceRef({ repository, ref });
  } catch (err) {
    if ((err as Error).name !== 'DesiredSourceError') throw err;
    throw new UsageError(`--ref ${ref}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A repository URL is stored and printed: it is kept without its password or token (never echoed). */
function withoutCredentials(value: string, notes: string[]): string {
  const { url, removed } = stripUrlCredentials(value);
  if (removed.length) {
    notes.push(
      `--git: removed the ${removed.join(', ')} from the URL before storing it (stored: ${url}); ` +
        'git gets credentials from a credential helper, the SSH agent, or HH_SYNC_GIT_TOKEN',
    );
  }
  return url;
}

/** Kubeconfig access after the change, checked by loading it; returns the server URL to show. */
async function checkKubeAccess(
  access: { kubeconfigPath: string | null; kubeContext: string | null; inCluster: boolean },
  explicit: boolean,
  env: NodeJS.ProcessEnv,
): Promise<{ apiServerUrl: string | null; note?: string }> {
  if (access.inCluster) {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT;
    return {
      apiServerUrl: host ? `https://${host.includes(':') ? `[${host}]` : host}${port ? `:${port}` : ''}` : null,
    };
  }
  // Loaded here, not at the top: client-node is heavy, and help and flag errors should answer at once.
  const { KubeConfigError, apiServerUrlOf, loadKubeConfig } = await import('../kube/kube-config.js');
  try {
    const kc = loadKubeConfig({ kubeconfigPath: access.kubeconfigPath, context: access.kubeContext });
    return { apiServerUrl: apiServerUrlOf(kc) }; // never the user:password a server URL may carry
  } catch (err) {
    if (!(err instanceof KubeConfigError)) throw err;
    // A fabric may be Git-only for now: without an explicit kubeconfig/context the default lookup may fail.
    if (!explicit)
      return {
        apiServerUrl: null,
        note: `no cluster yet (${err.message}); the actual-state sync will need a kubeconfig`,
      };
    throw new UsageError(err.message);
  }
}

/**
 * Turns flags into the settings to store. `existing` is the fabric `set` changes (undefined for `add`).
 * Returns the settings and notes worth telling the user.
 */
export interface PreparedSettings {
  settings: FabricSettings;
  /** Worth telling the user (e.g. no kubeconfig found yet). */
  notes: string[];
}

export async function fabricSettingsFromFlags(
  flags: FabricFlags,
  existing?: HedgehogFabric,
  base: PathBase = { env: process.env, cwd: process.cwd() },
): Promise<PreparedSettings> {
  const s: FabricSettings = {};
  const notes: string[] = [];
  if (flags.inCluster && (flags.kubeconfig !== undefined || flags.context !== undefined)) {
    throw new UsageError("--in-cluster uses the pod's service account: leave out --kubeconfig and --context");
  }
  if (flags.namespace?.length && flags.allNamespaces)
    throw new UsageError('--namespace and --all-namespaces exclude each other');

  if (flags.description !== undefined) s.description = flags.description;
  namespacesFromFlags(flags, s);
  await gitSourceFromFlags(flags, existing, base, s, notes);
  if (flags.crds !== undefined) s.crdDirectory = existingPath('--crds', flags.crds, 'directory', base);
  if (flags.interval !== undefined) s.syncIntervalSeconds = intervalFromFlag(flags.interval);
  ignoreRulesFromFlags(flags, s);
  writeBackFromFlags(flags, s);
  await clusterAccessFromFlags(flags, existing, base, s, notes);
  return { settings: s, notes };
}

function namespacesFromFlags(flags: FabricFlags, s: FabricSettings): void {
  if (flags.namespace?.length) {
    for (const ns of flags.namespace) {
      if (dns1123LabelProblem(ns))
        throw new UsageError(
          `--namespace ${ns}: not a valid namespace name (lower-case letters, digits and '-', at most 63)`,
        );
    }
    s.namespaces = [...new Set(flags.namespace)];
  } else if (flags.allNamespaces) s.namespaces = [];
}

/** --git, --ref and --path; a ref must resolve in the repository it will be read from. */
async function gitSourceFromFlags(
  flags: FabricFlags,
  existing: HedgehogFabric | undefined,
  base: PathBase,
  s: FabricSettings,
  notes: string[],
): Promise<void> {
  if (flags.git !== undefined) {
    if (flags.git.trim() === '') throw new UsageError('--git needs a repository path or URL');
    if (isRemoteRepository(flags.git)) {
      s.gitRepository = withoutCredentials(flags.git, notes);
    } else {
      s.gitRepository = existingPath('--git', flags.git, 'directory', base);
    }
  }
  const hasGit = (s.gitRepository ?? existing?.gitRepository ?? null) !== null;
  if (flags.ref !== undefined) {
    if (!hasGit) throw new UsageError('--ref needs a Git source: add --git <path-or-url>');
    if (!/^[^\s-][^\s]*$/.test(flags.ref))
      throw new UsageError(`--ref ${JSON.stringify(flags.ref)}: not a branch, tag or commit name`);
    s.gitRef = flags.ref;
  }
  // The ref must resolve in the repository it will be read from (a new ref, or a new repository).
  const ref = flags.ref ?? (flags.git !== undefined ? existing?.gitRef : undefined);
  if (ref) await checkRefResolves(s.gitRepository ?? existing!.gitRepository!, ref);
  if (flags.path !== undefined) {
    if (!hasGit) throw new UsageError('--path needs a Git source: add --git <path-or-url>');
    try {
      s.gitPath = normalizeSubPath(flags.path);
    } catch (err) {
      throw new UsageError(`--path: ${(err as Error).message}`);
    }
  }
}

function intervalFromFlag(interval: string): number {
  const n = Number(interval);
  if (!/^\d+$/.test(interval.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`--interval ${interval}: must be a positive whole number of seconds`);
  }
  return n;
}

/** `bidirectional`, `ledger-to-git`, `GIT_TO_LEDGER`: the direction named; anything else is a usage error. */
export function syncDirectionFromFlag(value: string): SyncDirection {
  const norm = value.trim().toLowerCase().replace(/-/g, '_');
  if (!(SYNC_DIRECTIONS as readonly string[]).includes(norm))
    throw new UsageError(`--sync-direction ${value}: expected one of ${SYNC_DIRECTIONS.join(', ')}`);
  return norm as SyncDirection;
}

/** --sync-direction and --managed-file-template (the write-back settings). */
function writeBackFromFlags(flags: FabricFlags, s: FabricSettings): void {
  if (flags.syncDirection !== undefined) s.syncDirection = syncDirectionFromFlag(flags.syncDirection);
  if (flags.managedFileTemplate !== undefined) {
    const problem = managedFileTemplateProblem(flags.managedFileTemplate);
    if (problem) throw new UsageError(`--managed-file-template ${flags.managedFileTemplate}: ${problem}`);
    s.managedFileTemplate = flags.managedFileTemplate;
  }
}

/** --ignore (duplicates dropped) or --clear-ignore. */
function ignoreRulesFromFlags(flags: FabricFlags, s: FabricSettings): void {
  if (flags.ignore?.length && flags.clearIgnore) throw new UsageError('--ignore and --clear-ignore exclude each other');
  if (flags.ignore?.length) {
    const rules = flags.ignore.map(parseIgnoreRule);
    const seen = new Set<string>();
    s.ignoreRules = rules.filter((r) => {
      const key = `${r.kind ?? ''}/${r.name ?? ''}:${r.pointer}`;
      return seen.has(key) ? false : (seen.add(key), true);
    });
  } else if (flags.clearIgnore) s.ignoreRules = [];
}

/** Cluster access: re-checked whenever any part of it changes (and always on add, for the server URL). */
async function clusterAccessFromFlags(
  flags: FabricFlags,
  existing: HedgehogFabric | undefined,
  base: PathBase,
  s: FabricSettings,
  notes: string[],
): Promise<void> {
  const kubeChanged =
    !existing || flags.kubeconfig !== undefined || flags.context !== undefined || flags.inCluster === true;
  if (!kubeChanged) return;
  const access = {
    kubeconfigPath:
      flags.kubeconfig !== undefined
        ? existingPath('--kubeconfig', flags.kubeconfig, 'file', base)
        : flags.inCluster
          ? null
          : (existing?.kubeconfigPath ?? null),
    kubeContext:
      flags.context !== undefined
        ? flags.context
        : flags.inCluster || flags.kubeconfig !== undefined
          ? null
          : (existing?.kubeContext ?? null),
    inCluster:
      flags.inCluster === true ||
      (flags.kubeconfig === undefined && flags.context === undefined && (existing?.inCluster ?? false)),
  };
  if (access.kubeContext !== null && access.kubeContext.trim() === '')
    throw new UsageError('--context needs a context name');
  const explicit = flags.kubeconfig !== undefined || flags.context !== undefined || access.kubeconfigPath !== null;
  const checked = await checkKubeAccess(access, explicit, base.env);
  if (checked.note) notes.push(checked.note);
  Object.assign(s, access, { apiServerUrl: checked.apiServerUrl });
}
