/**
 * Builds a client-node KubeConfig for one fabric: an explicit kubeconfig file (+ context), the
 * in-cluster service account, or the default loading rules ($KUBECONFIG, ~/.kube/config).
 *
 * Errors name the file and the context, never the file's contents: client-node parses with
 * js-yaml, whose messages quote the offending lines — which may hold a token or a client key.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, type User } from '@kubernetes/client-node';
import { redactUrlCredentials } from './redact.js';

export interface KubeAccess {
  /** A kubeconfig file; `~/` is expanded. Absent/null: in-cluster or the default loading rules. */
  kubeconfigPath?: string | null;
  /** The context to use; absent/null: the file's current-context. */
  context?: string | null;
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token). */
  inCluster?: boolean;
  /** Where the in-cluster configuration is read from (tests, sidecars with another mount); default the pod's. */
  inClusterEnvironment?: InClusterEnvironment;
}

/** The pod's view of its cluster, as kubelet provides it. */
export interface InClusterEnvironment {
  /** Read KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT from here. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The mounted service account: `token`, `ca.crt` and (optional) `namespace`. Default SERVICE_ACCOUNT_DIR. */
  serviceAccountDir?: string;
}

/** A kubeconfig that cannot be used; the message says which file/context and what to do. */
export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

/** Where kubelet mounts the pod's service account. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** `~` as client-node's default loading rules see it: $HOME first (as shells do), else the OS's answer. */
function homeDir(): string {
  return process.env.HOME || os.homedir();
}

function expandHome(p: string): string {
  if (p === '~') return homeDir();
  if (p.startsWith('~/')) return path.join(homeDir(), p.slice(2));
  return p;
}

/**
 * A safe one-line reason for a kubeconfig that failed to parse. js-yaml errors carry `reason`
 * and `mark.line` (0-based); their `message` includes a snippet of the file, so it is not used.
 */
function parseFailureReason(err: unknown): string {
  const e = err as { name?: string; reason?: string; mark?: { line?: number }; message?: string } | null | undefined;
  if (e && e.name === 'YAMLException') {
    const line = typeof e.mark?.line === 'number' ? ` at line ${e.mark.line + 1}` : '';
    return `not valid YAML${line}${e.reason ? ` (${e.reason})` : ''}`;
  }
  // client-node's own structural checks ("clusters[0].cluster.server is missing") hold no values.
  if (e && typeof e.message === 'string' && /^(clusters|users|contexts)\[\d+\]/.test(e.message)) return e.message;
  if (e && typeof e.message === 'string' && /^Duplicate (cluster|user|context):/.test(e.message)) return e.message;
  return 'not a valid kubeconfig';
}

function loadFile(kc: KubeConfig, file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KubeConfigError(`kubeconfig file ${file} does not exist`);
    if (code === 'EACCES') throw new KubeConfigError(`kubeconfig file ${file} is not readable (permission denied)`);
    throw new KubeConfigError(`kubeconfig file ${file} cannot be read (${code ?? 'error'})`);
  }
  if (!stat.isFile()) throw new KubeConfigError(`kubeconfig path ${file} is not a file`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(
      `kubeconfig file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig file ${file} is ${parseFailureReason(err)}`);
  }
  // loadFromFile does this too: relative certificate paths are relative to the file.
  kc.makePathsAbsolute(path.dirname(file));
  if (kc.getContexts().length === 0) throw new KubeConfigError(`kubeconfig file ${file} defines no contexts`);
}

/**
 * What client-node's loadFromCluster() builds — https to KUBERNETES_SERVICE_HOST:PORT (http on 80/8080/8001, as
 * client-node does), verified with the mounted ca.crt, the token re-read from its file (bound tokens rotate) —
 * with the environment and the mount directory injectable, and a clear error for each missing piece.
 */
function loadInCluster(kc: KubeConfig, where: InClusterEnvironment = {}): void {
  const env = where.env ?? process.env;
  const dir = where.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      'in-cluster access requested but KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set: run inside a pod, or give a kubeconfig path',
    );
  }
  const token = path.join(dir, 'token');
  const ca = path.join(dir, 'ca.crt');
  if (!fs.existsSync(token)) {
    throw new KubeConfigError(`in-cluster access requested but no service account token is mounted at ${token}`);
  }
  if (!fs.existsSync(ca)) {
    throw new KubeConfigError(`in-cluster access requested but no cluster CA certificate is mounted at ${ca}`);
  }
  const namespaceFile = path.join(dir, 'namespace');
  const namespace = fs.existsSync(namespaceFile) ? fs.readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: 'inCluster', server, caFile: ca, skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: token } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', namespace }],
    currentContext: 'inClusterContext',
  });
}

function loadDefault(kc: KubeConfig): void {
  const env = process.env.KUBECONFIG;
  if (env && env.length > 0) {
    for (const f of env.split(path.delimiter).filter(Boolean)) {
      if (!fs.existsSync(f)) throw new KubeConfigError(`kubeconfig file ${f} (from $KUBECONFIG) does not exist`);
    }
  }
  try {
    kc.loadFromDefault();
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(`the default kubeconfig ($KUBECONFIG or ~/.kube/config) is ${parseFailureReason(err)}`);
  }
  // With nothing to load, client-node silently falls back to http://localhost:8080 with no user.
  // Talking to whatever listens there would be a surprise; say what is missing instead.
  const cluster = kc.getCurrentCluster();
  if (
    kc.getCurrentContext() === 'loaded-context' &&
    cluster?.name === 'cluster' &&
    cluster.server === 'http://localhost:8080'
  ) {
    throw new KubeConfigError(
      'no kubeconfig found: set $KUBECONFIG, create ~/.kube/config, give the fabric a kubeconfig path, or run in a cluster',
    );
  }
}

/**
 * Load the KubeConfig described by `access` and select its context.
 * @throws KubeConfigError naming the file/context (never its contents) when it cannot be used.
 */
export function loadKubeConfig(access: KubeAccess = {}): KubeConfig {
  const kc = new KubeConfig();
  const file = access.kubeconfigPath ? path.resolve(expandHome(access.kubeconfigPath)) : undefined;
  if (file) loadFile(kc, file);
  else if (access.inCluster) loadInCluster(kc, access.inClusterEnvironment);
  else loadDefault(kc);

  const where = file
    ? `kubeconfig file ${file}`
    : access.inCluster
      ? 'the in-cluster config'
      : 'the default kubeconfig';
  if (access.context) {
    if (!kc.getContextObject(access.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(
        `context "${access.context}" is not defined in ${where}${known.length ? ` (known contexts: ${known.join(', ')})` : ''}`,
      );
    }
    kc.setCurrentContext(access.context);
  }
  const current = kc.getCurrentContext();
  if (!current || !kc.getContextObject(current)) {
    const known = kc.getContexts().map((c) => c.name);
    throw new KubeConfigError(
      `${where} has no usable current-context${current ? ` ("${current}" is not defined)` : ''}: choose one with a context${known.length ? ` (known: ${known.join(', ')})` : ''}`,
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    const ctx = kc.getContextObject(current);
    throw new KubeConfigError(`context "${current}" in ${where} names cluster "${ctx?.cluster}", which is not defined`);
  }
  if (!cluster.server) throw new KubeConfigError(`cluster "${cluster.name}" in ${where} has no server URL`);
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    // client-node refuses plain http unless skipTLSVerify is set, with a message naming neither.
    throw new KubeConfigError(
      `cluster "${cluster.name}" in ${where} uses plain http (${redactUrlCredentials(cluster.server)}); client-node requires insecure-skip-tls-verify: true for that`,
    );
  }
  return guardExecPlugin(kc);
}

/** The current cluster's API server URL, fit to show and store: without the user name and password it may carry. */
export function apiServerUrlOf(kc: KubeConfig): string | null {
  const server = kc.getCurrentCluster()?.server;
  return server ? redactUrlCredentials(server) : null;
}

/**
 * A kubeconfig exec plugin (users[].user.exec) that failed. The message names the command and the exit code only:
 * the plugin's stderr, which client-node puts verbatim in its error, can carry tokens.
 */
export class ExecPluginError extends Error {
  override name = 'ExecPluginError';
}

const EXEC_GUARDED = Symbol('hh-sync.execPluginGuarded');

interface ExecAuthLike {
  execFn: (
    command: string,
    args: string[],
    opts: object,
  ) => { on(event: 'close', l: (code: number | null) => void): unknown };
  getCredential: (user: User) => Promise<unknown>;
  [EXEC_GUARDED]?: true;
}

function execCommandOf(user: User): string | undefined {
  const exec = (user.exec ??
    ((user.authProvider as { config?: unknown } | undefined)?.config as { exec?: { command?: unknown } } | undefined)
      ?.exec) as { command?: unknown } | undefined;
  return typeof exec?.command === 'string' && exec.command ? path.basename(exec.command) : undefined;
}

function execFailure(user: User, err: unknown, exitCode: number | null | undefined): string {
  const command = execCommandOf(user);
  if (!command) return `the exec plugin of user "${user.name}" has no command`;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return `exec plugin ${command} could not be started (${code})`;
  if (err instanceof SyntaxError) return `exec plugin ${command} did not print an ExecCredential (invalid JSON)`;
  return `exec plugin ${command} failed with exit code ${exitCode ?? 'unknown'}`;
}

/**
 * Make the kubeconfig's exec plugin fail with an ExecPluginError (command, exit code) instead of client-node's
 * Error carrying the plugin's stderr. client-node 1.4 keeps its ExecAuth in a private list and does not export the
 * class, so it is found by shape. Idempotent; returns `kc`.
 */
export function guardExecPlugin(kc: KubeConfig): KubeConfig {
  const authenticators = (kc as unknown as { authenticators?: unknown[] }).authenticators ?? [];
  for (const a of authenticators) {
    const auth = a as ExecAuthLike | null | undefined;
    if (typeof auth?.execFn !== 'function' || typeof auth.getCredential !== 'function' || auth[EXEC_GUARDED]) continue;
    auth[EXEC_GUARDED] = true;
    const spawn = auth.execFn.bind(auth);
    const getCredential = auth.getCredential.bind(auth);
    let lastExitCode: number | null | undefined;
    auth.execFn = (command, args, opts) => {
      const child = spawn(command, args, opts);
      child.on('close', (code) => (lastExitCode = code)); // registered before client-node's own 'close' listener
      return child;
    };
    auth.getCredential = async (user) => {
      try {
        return await getCredential(user);
      } catch (err) {
        throw new ExecPluginError(execFailure(user, err, lastExitCode));
      }
    };
  }
  return kc;
}

/** The name of the KubeConfig's current context, for messages. */
export function contextName(kc: KubeConfig): string | undefined {
  return kc.getCurrentContext() || undefined;
}
