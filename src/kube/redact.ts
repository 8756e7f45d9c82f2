/**
 * Credentials in URLs (`https://user:password@host:6443`) never reach a message, a log or the ledger: a
 * kubeconfig's server URL may carry them, and client-node's network errors quote the URL they failed on.
 */

/** `scheme://userinfo@` anywhere in a text; userinfo has no '/', '@' or whitespace. */
const URL_USERINFO = /\b([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^\s/@?#]*@/g;

/** Every URL in `text` stripped of its credentials. */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, '$1');
}
