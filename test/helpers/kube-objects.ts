/** Small builders of fabric objects for the kube source tests (served through the fake API). */
import { kindInfo } from '../../src/kube/catalog.js';

export function obj(
  kind: string,
  name: string,
  namespace = 'default',
  spec: unknown = { n: name },
  extra: Record<string, unknown> = {},
) {
  const info = kindInfo(kind);
  if (!info) throw new Error(`unknown kind ${kind}`);
  const { metadata, ...rest } = extra as { metadata?: Record<string, unknown> };
  return { apiVersion: info.apiVersion, kind, metadata: { name, namespace, ...(metadata ?? {}) }, spec, ...rest };
}

/** `n` VPCs named vpc-00000 … in `namespace`. */
export function vpcs(n: number, namespace = 'default', prefix = 'vpc') {
  return Array.from({ length: n }, (_, i) =>
    obj('VPC', `${prefix}-${String(i).padStart(5, '0')}`, namespace, { vlan: 1000 + i }),
  );
}

export function names(observations: { namespace: string; name: string }[]): string[] {
  return observations.map((o) => `${o.namespace}/${o.name}`).sort();
}
