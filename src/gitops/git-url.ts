/**
 * Credentials in Git URLs. A URL is stored in the ledger and printed, so it must not carry a secret.
 * ONE rule decides what is a credential, for storing (`stripUrlCredentials`) and for masking URLs in
 * git's messages (`maskUrlCredentials`), so what is stored, printed and masked never disagree:
 * - a password is always one;
 * - http(s) in any letter case, also `git+https`: ANY user name is dropped. Git over https needs none in
 *   the URL (the credential helper or HH_SYNC_GIT_TOKEN / HH_SYNC_GIT_USERNAME supplies it), and a user
 *   name there is often the token itself (`https://TOKEN@host/…`);
 * - ssh (`ssh://user@…`, scp-like `user@host:path`): the user is kept only when it looks like a login
 *   (`git`, `deploy`: lowercase POSIX user name, not machine-made); `SECRETTOKEN@…` or a long random name
 *   is a token;
 * - every other scheme (`git://` has no authentication at all, `file://`): any user name is dropped;
 * - a fragment (`#…`) and credential query parameters (`?access_token=…`) are dropped: git uses neither.
 */

/** Query parameters that carry credentials (`?access_token=…`, `?private_token=…`, …). */
export const SECRET_QUERY_PARAM =
  /^(?:.*token.*|.*secret.*|.*password.*|passwd|pwd|key|api[-_]?key|auth|authorization|sig|signature|credentials?)$/i;

export interface StrippedUrl {
  /** The URL without credentials; the input itself, unchanged, when it held none. */
  url: string;
  /** What was removed ('password', 'user name', 'query parameter access_token', 'fragment'); empty when nothing. */
  removed: string[];
}

/** Known token prefixes (GitHub, GitLab, Bitbucket app passwords, Slack, …). */
const TOKEN_PREFIX = /^(?:gh[pousr]_|github_pat_|glpat-|glptt-|gldt-|glrt-|atbb|xox[abp]-)/i;
/** A POSIX login name as `useradd` accepts it by default. */
const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** An ssh user name that is an account (`git`, `deploy`), not a token: lowercase login, not machine-made. */
export function isLoginUser(user: string): boolean {
  if (!LOGIN_NAME.test(user) || TOKEN_PREFIX.test(user)) return false;
  const machineMade = (user.length >= 20 && /\d/.test(user)) || /^[0-9a-f]{16,}$/.test(user);
  return !machineMade;
}

/** Whether the user name of a URL with this scheme (lowercased, `ssh` for scp-like) may be stored and shown. */
export function userIsKept(scheme: string, user: string): boolean {
  const parts = scheme.toLowerCase().split('+');
  return parts.includes('ssh') && isLoginUser(user);
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SCP_LIKE = /^([^/\s@]+)@([^/\s:]+:.*)$/;

/** `url` with every credential removed (see the module comment for what counts as one). */
export function stripUrlCredentials(url: string): StrippedUrl {
  const scp = SCHEME.test(url) ? null : SCP_LIKE.exec(url);
  if (scp) return stripScpLike(url, scp[1]!, scp[2]!);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, removed: [] }; // a local path
  }
  if (!SCHEME.test(url)) return { url, removed: [] }; // `c:\…` or another non-URL that URL accepts
  const removed: string[] = [];
  if (parsed.password) {
    parsed.password = '';
    removed.push('password');
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (parsed.username && !userIsKept(scheme, decodeSafe(parsed.username))) {
    parsed.username = '';
    removed.push('user name');
  }
  removed.push(...stripSecretQuery(parsed));
  if (parsed.hash) {
    parsed.hash = '';
    removed.push('fragment');
  }
  if (removed.length === 0) return { url, removed };
  return { url: parsed.toString(), removed };
}

function stripScpLike(url: string, user: string, rest: string): StrippedUrl {
  const removed: string[] = [];
  let kept = isLoginUser(decodeSafe(user)) ? `${user}@${rest}` : rest;
  if (kept.length !== url.length) removed.push('user name');
  const hash = kept.indexOf('#');
  if (hash >= 0) {
    kept = kept.slice(0, hash);
    removed.push('fragment');
  }
  return removed.length ? { url: kept, removed } : { url, removed };
}

function stripSecretQuery(parsed: URL): string[] {
  const removed: string[] = [];
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (SECRET_QUERY_PARAM.test(name)) {
      parsed.searchParams.delete(name);
      removed.push(`query parameter ${name}`);
    }
  }
  if (removed.length && [...parsed.searchParams.keys()].length === 0) parsed.search = '';
  return removed;
}

/**
 * Any text (git's stderr, a command line) with the credentials of the URLs in it replaced by `***`,
 * by the same rule as `stripUrlCredentials`: what `fabric list` would not show is never printed.
 */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*):\/\/([^/@\s'"]+)@/gi, (all, scheme: string, userinfo: string) =>
      !userinfo.includes(':') && userIsKept(scheme, decodeSafe(userinfo)) ? all : `${scheme}://***@`,
    )
    .replace(/(^|[\s'"(])([^\s'"(@/:]+)@(?=[^\s/:@]+:)/g, (all, pre: string, user: string) =>
      isLoginUser(decodeSafe(user)) ? all : `${pre}***@`,
    )
    .replace(/([?&;])([^=&;#\s]+)=([^&;#\s'"]*)/g, (all, sep: string, name: string) =>
      SECRET_QUERY_PARAM.test(decodeSafe(name)) ? `${sep}${name}=***` : all,
    )
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s'"#]+)#[^\s'"]+/gi, '$1#***');
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
