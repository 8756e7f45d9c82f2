/**
 * The Kubernetes rules for object names, namespaces and label/annotation keys and values
 * (k8s.io/apimachinery/pkg/util/validation), so that a manifest the API server would reject
 * is reported at its file and line instead of failing later at apply time, and so that the
 * cluster source, the ledger's entity rules and the fake API server check the same thing.
 * Imports nothing: every layer (sources, drift, entities, testing) may use it.
 */

/** RFC 1123 subdomain (most object names): lowercase alphanumerics, '-' and '.', dot-separated labels. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS1123_SUBDOMAIN_MAX = 253;
/** RFC 1123 label (namespaces): lowercase alphanumerics and '-', starting and ending with an alphanumeric. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_LABEL_MAX = 63;
/** The name part of a label/annotation key (and a non-empty label value). */
export const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
export const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Object names (metadata.name of most kinds, CRDs included): DNS-1123 subdomain, at most 253 characters. */
export function dns1123SubdomainProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > DNS1123_SUBDOMAIN_MAX)
    return `must be no more than ${DNS1123_SUBDOMAIN_MAX} characters (has ${value.length})`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return "must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' or '.', starting and ending with an alphanumeric";
  }
  return null;
}

/** Namespaces: DNS-1123 label, at most 63 characters. */
export function dns1123LabelProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > DNS1123_LABEL_MAX)
    return `must be no more than ${DNS1123_LABEL_MAX} characters (has ${value.length})`;
  if (!DNS1123_LABEL.test(value)) {
    return "must be a lowercase RFC 1123 label: lowercase alphanumerics or '-', starting and ending with an alphanumeric";
  }
  return null;
}

/** Label and annotation keys: `[prefix/]name`, prefix a DNS-1123 subdomain, name a qualified name of at most 63. */
export function qualifiedKeyProblem(key: string): string | null {
  const slash = key.indexOf('/');
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    const p = dns1123SubdomainProblem(prefix);
    if (p) return `prefix '${prefix}' ${p}`;
  }
  if (name.length === 0) return 'name part must not be empty';
  if (name.length > QUALIFIED_NAME_MAX)
    return `name part must be no more than ${QUALIFIED_NAME_MAX} characters (has ${name.length})`;
  if (!QUALIFIED_NAME.test(name)) {
    return "name part must consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return null;
}

/** Label values: empty, or at most 63 characters of the qualified-name alphabet. */
export function labelValueProblem(value: string): string | null {
  if (value.length > QUALIFIED_NAME_MAX)
    return `must be no more than ${QUALIFIED_NAME_MAX} characters (has ${value.length})`;
  if (!LABEL_VALUE.test(value)) {
    return "must be empty or consist of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return null;
}

/** Total size limit of all annotations of one object (keys + values), as the API server enforces. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;
