/**
 * Objects as a person names them on the command line (`vpc/vpc-1`, `VPCs/tenant-a/vpc-1`) and as the drafts
 * commands print them, kubectl-like (`vpc.vpc.githedgehog.com/vpc-1`). Pure: no database code.
 */
import { dns1123LabelProblem, dns1123SubdomainProblem } from '../common/k8s-names.js';
import { kindInfo } from '../kube/catalog.js';
import { UsageError } from './cli-errors.js';
import { resolveKind } from './fabric-options.js';

/** An object of the fabric catalog, its namespace always given. */
export interface ObjectRef {
  kind: string;
  namespace: string;
  name: string;
}

const REF_FORMS = '<Kind>/<name> or <Kind>/<namespace>/<name> (e.g. vpc/vpc-1)';

/**
 * `<Kind>/<name>` or `<Kind>/<namespace>/<name>`; the kind as kubectl takes it (any letter case, plural
 * accepted), the namespace `default` when left out. Anything else is a usage error naming the argument.
 */
export function parseObjectRef(text: string): ObjectRef {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.trim() === ''))
    throw new UsageError(`${JSON.stringify(text)}: expected ${REF_FORMS}`);
  const kind = resolveKind(parts[0]!, JSON.stringify(text) + ':');
  const [namespace, name] = parts.length === 3 ? [parts[1]!, parts[2]!] : ['default', parts[1]!];
  const problems = [
    ['namespace', namespace, dns1123LabelProblem(namespace)],
    ['name', name, dns1123SubdomainProblem(name)],
  ] as const;
  for (const [what, value, problem] of problems) {
    if (problem) throw new UsageError(`${JSON.stringify(text)}: the ${what} ${JSON.stringify(value)} ${problem}`);
  }
  return { kind, namespace, name };
}

/** kubectl's way of naming an object in its messages: `vpc.vpc.githedgehog.com/vpc-1` (namespace when not default). */
export function resourceName(ref: ObjectRef): string {
  const info = kindInfo(ref.kind);
  const type = info ? `${info.kind.toLowerCase()}.${info.group}` : ref.kind.toLowerCase();
  return `${type}/${ref.name}${ref.namespace === 'default' ? '' : ` -n ${ref.namespace}`}`;
}

/** `VPC/vpc-1` (or `VPC/tenant-a/vpc-1`): short, and what the commands take back as an argument. */
export function shortRef(ref: ObjectRef): string {
  return ref.namespace === 'default' ? `${ref.kind}/${ref.name}` : `${ref.kind}/${ref.namespace}/${ref.name}`;
}
