/**
 * Credentials in Git URLs. A URL is stored in the ledger and printed, so it must not carry a secret:
 * a password (`https://user:TOKEN@host/…`), a token used as the user name (`https://TOKEN@host/…`,
 * `ssh://TOKEN@host/…`, `TOKEN@host:path`), or a token in the query (`?access_token=…`). Plain user
 * names (`git@github.com:…`, `ssh://deploy@host/…`, `oauth2`) are not secrets and are kept. Git gets
 * the credentials from a credential helper, the SSH agent, or HH_SYNC_GIT_TOKEN (see git-cli.ts).
 */

/** Query parameters that carry credentials (`?access_token=…`, `?private_token=…`, …). */
export const SECRET_QUERY_PARAM = /^(?:.*token.*|.*secret.*|.*password.*|passwd|pwd|key|api[-_]?key|auth|authorization|sig|signature|credentials?)$/i;

export interface StrippedUrl {
  /** The URL without credentials; the input itself, unchanged, when it held none. */
  url: string;
  /** What was removed ('password', 'user name', 'query parameter access_token', …); empty when nothing. */
  removed: string[];
}

/** Known token prefixes (GitHub, GitLab, Bitbucket app passwords, …). */
const TOKEN_PREFIX = /^(?:gh[pousr]_|github_pat_|glpat-|glptt-|gldt-|glrt-|ATBB|xox[abp]-)/;
const PLAIN_USER = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;

/** A user name that is a token rather than an account name: known prefixes, or long and machine-made. */
export function isTokenLikeUser(user: string): boolean {
  if (TOKEN_PREFIX.test(user)) return true;
  if (!PLAIN_USER.test(user)) return true;
  return user.length >= 20 && /\d/.test(user) && /[A-Za-z]/.test(user);
}

const SCP_LIKE = /^([^/\s@]+)@([^/\s:]+:.*)$/;

/** `url` with every credential removed (see the module comment for what counts as one). */
export function stripUrlCredentials(url: string): StrippedUrl {
  const scp = SCP_LIKE.exec(url);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    return isTokenLikeUser(decodeSafe(scp[1]!)) ? { url: scp[2]!, removed: ['user name'] } : { url, removed: [] };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, removed: [] }; // a local path
  }
  const removed: string[] = [];
  if (parsed.password) {
    parsed.password = '';
    removed.push('password');
  }
  if (parsed.username && isTokenLikeUser(decodeSafe(parsed.username))) {
    parsed.username = '';
    removed.push('user name');
  }
  for (const name of [...new Set(parsed.searchParams.keys())]) {
    if (SECRET_QUERY_PARAM.test(name)) {
      parsed.searchParams.delete(name);
      removed.push(`query parameter ${name}`);
    }
  }
  if (removed.length === 0) return { url, removed };
  if ([...parsed.searchParams.keys()].length === 0) parsed.search = '';
  return { url: parsed.toString(), removed };
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
