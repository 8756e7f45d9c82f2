/**
 * How errors from @kubernetes/client-node are classified and described.
 *
 * client-node 1.4 gotchas this module absorbs:
 * - API calls throw `ApiException` with `.code` (HTTP status), `.headers` (plain object, lower-case
 *   names) and `.body` — for most statuses the body is the raw response TEXT (a JSON Status
 *   string), for 401 it is `undefined`. Its `.message` embeds the whole body and all response
 *   headers, so it is never shown as is.
 * - `Watch` reports a non-200 reply as a plain Error with `.statusCode`.
 * - Network failures are node-fetch `FetchError`s (`.type`, `.code`); timeouts and aborts are
 *   errors named `AbortError`.
 */
import { ApiException } from '@kubernetes/client-node';
import type { KindInfo } from './catalog.js';
import { show } from '../common/values.js';
import { redactUrlCredentials } from './redact.js';

/** 401/403 from the API server: the run fails with this message; retrying cannot help. */
export class KubeAuthError extends Error {
  override name = 'KubeAuthError';
  constructor(
    message: string,
    readonly status: number,
    readonly context: string | undefined,
  ) {
    super(message);
  }
}

/** The HTTP status carried by a client-node error (ApiException or Watch error), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.statusCode === 'number') return e.statusCode;
    // Duck-typed ApiException (a second copy of client-node in a host app fails instanceof).
    if (typeof e.code === 'number' && 'headers' in e && 'body' in e) return e.code;
  }
  return undefined;
}

/** A response header of an ApiException (headers are a plain object with lower-case keys). */
export function headerOf(err: unknown, name: string): string | undefined {
  const headers = (err as { headers?: Record<string, unknown> } | null)?.headers;
  if (!headers || typeof headers !== 'object') return undefined;
  const v = headers[name.toLowerCase()] ?? headers[name];
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  // Header values are text; show() keeps anything else readable rather than `[object Object]`.
  return typeof v === 'string' ? v : v === undefined || v === null ? undefined : show(v);
}

/** The parsed Kubernetes Status body of an ApiException, when the body is one. */
export function statusBodyOf(err: unknown): { reason?: string; message?: string; code?: number } | undefined {
  const body = (err as { body?: unknown } | null)?.body;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (parsed && typeof parsed === 'object' && (parsed as { kind?: unknown }).kind === 'Status') {
    return parsed;
  }
  return undefined;
}

export function isAbortError(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { name?: unknown }).name === 'AbortError';
}

/** Clipped to one short line, and never a URL's credentials (network errors quote the URL they failed on). */
function clip(s: string, max = 300): string {
  const safe = redactUrlCredentials(s);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/**
 * One short line describing a failure, safe to log and to store in a run record: the status,
 * the Status reason/message of the server, or the network error code. Never request headers.
 */
export function describeKubeError(err: unknown): string {
  const status = httpStatusOf(err);
  if (status !== undefined) {
    const st = statusBodyOf(err);
    const detail = st ? [st.reason, st.message].filter(Boolean).join(': ') : '';
    return clip(`HTTP ${status}${detail ? ` ${detail}` : ''}`);
  }
  if (err && typeof err === 'object') {
    const e = err as { name?: string; message?: string; code?: unknown; type?: unknown };
    const code = typeof e.code === 'string' ? ` (${e.code})` : '';
    return clip(`${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? show(err)}${code}`);
  }
  return clip(String(err));
}

/**
 * Whether a failed request may succeed if simply repeated: throttling (429), server-side
 * errors (5xx), and anything that is not an HTTP answer at all — refused or reset connections,
 * premature closes, timeouts, malformed bodies. Other 4xx answers (and 401/403) are final.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof KubeAuthError) return false;
  const status = httpStatusOf(err);
  if (status === undefined) return true;
  return status === 429 || status >= 500;
}

/** Turn a 401/403 into the run-failing KubeAuthError, with a message that says what to check. */
export function authErrorFor(err: unknown, context: string | undefined, what: string): KubeAuthError | undefined {
  const status = httpStatusOf(err);
  if (status !== 401 && status !== 403) return undefined;
  const ctx = context ? `context "${context}"` : 'the current context';
  if (status === 401) {
    return new KubeAuthError(
      `the API server rejected the credentials of ${ctx} (401 Unauthorized) while trying to ${what}: check the kubeconfig/token`,
      401,
      context,
    );
  }
  const st = statusBodyOf(err);
  return new KubeAuthError(
    `the API server refused ${ctx} (403 Forbidden) to ${what}${st?.message ? ` (${clip(st.message, 200)})` : ''}: check the RBAC permissions of that user`,
    403,
    context,
  );
}

/**
 * Why RBAC refused the list of one kind, and the grant that would allow it — one line, for the run's errors:
 * `forbidden: cannot list vpcs.vpc.githedgehog.com in all namespaces (RBAC: grant "list" on "vpcs" in API group "vpc.githedgehog.com")`.
 */
export function forbiddenListMessage(kind: Pick<KindInfo, 'plural' | 'group'>, namespace: string | null): string {
  const where = namespace ? `in namespace ${namespace}` : 'in all namespaces';
  return `forbidden: cannot list ${kind.plural}.${kind.group} ${where} (RBAC: grant "list" on "${kind.plural}" in API group "${kind.group}")`;
}

/** Why RBAC refused the discovery of one API group version, and the grant that would allow it. */
export function forbiddenDiscoveryMessage(groupVersion: string): string {
  return `forbidden: cannot discover /apis/${groupVersion} (RBAC: grant "get" on the non-resource URL "/apis/${groupVersion}", e.g. the system:discovery ClusterRole)`;
}

/**
 * A request that failed for good: not retryable, or retries exhausted. The message is one short
 * line (what, how many attempts, the server's reason); `statusCode` keeps the HTTP status.
 */
export class KubeRequestError extends Error {
  override name = 'KubeRequestError';
  readonly statusCode: number | undefined;
  constructor(
    readonly what: string,
    override readonly cause: unknown,
    readonly attempts: number,
  ) {
    super(`${what} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${describeKubeError(cause)}`);
    this.statusCode = httpStatusOf(cause);
  }
}

/**
 * The object name a 404 Status names (`details.name`): set when the object is missing, unset when the whole
 * resource is not served (a CRD removed) — two different truths about one GET.
 */
export function notFoundObjectName(err: unknown): string | undefined {
  if (httpStatusOf(err) !== 404) return undefined;
  const details = (statusBodyOf(err) as { details?: { name?: unknown } } | undefined)?.details;
  return typeof details?.name === 'string' ? details.name : undefined;
}

/** Why RBAC refused the GET of one object, and the grant that would allow it. */
export function forbiddenGetMessage(kind: Pick<KindInfo, 'plural' | 'group'>, namespace: string, name: string): string {
  return `forbidden: cannot get ${kind.plural}.${kind.group} ${namespace}/${name} (RBAC: grant "get" on "${kind.plural}" in API group "${kind.group}")`;
}
