/**
 * Drift severity: one documented mapping from (status, score, which paths differ) to a severity.
 * The same table is in docs/drift.md.
 *
 * | # | status                               | condition                                                       | severity |
 * |---|--------------------------------------|-----------------------------------------------------------------|----------|
 * | 1 | in_sync                              | —                                                               | none     |
 * | 2 | creation_pending, deletion_pending   | — (a Git change is being applied)                               | low      |
 * | 3 | desired_only                         | — (declared in Git, missing from the fabric)                    | high     |
 * | 4 | actual_only                          | — (in the fabric, not in Git: unmanaged, still working)         | medium   |
 * | 5 | spec_drift                           | a difference touches a critical path of the kind (table below)  | critical |
 * | 6 | spec_drift                           | only labels / annotations differ                                | low      |
 * | 7 | spec_drift                           | score ≥ 0.5 (half or more of the compared leaves differ)        | high     |
 * | 8 | spec_drift                           | otherwise                                                       | medium   |
 *
 * Rows are tried in order; the first that matches wins. Extras (server defaults, controller fill-ins)
 * never raise severity: they are not drift.
 *
 * Critical paths are the fields whose drift changes forwarding, addressing or cabling (CRITICAL_PATHS):
 *
 * | kind               | critical paths                                                                   |
 * |--------------------|----------------------------------------------------------------------------------|
 * | Switch             | /spec/role, /spec/asn, /spec/ip, /spec/protocolIP, /spec/vtepIP, /spec/boot, /spec/redundancy |
 * | Connection         | /spec/{any}/links, /spec/{any}/link (the cabling of every connection type)     |
 * | VPC                | /spec/subnets/{any}/subnet, /spec/subnets/{any}/vlan, /spec/ipv4Namespace, /spec/vlanNamespace |
 * | VPCAttachment      | /spec/connection, /spec/subnet                                                   |
 * | VPCPeering         | /spec/permit, /spec/remote                                                       |
 * | External           | /spec/ipv4Namespace, /spec/inboundCommunity, /spec/outboundCommunity             |
 * | ExternalAttachment | /spec/connection, /spec/switch, /spec/neighbor                                   |
 * | ExternalPeering    | /spec/permit                                                                     |
 * | IPv4Namespace      | /spec/subnets                                                                    |
 * | VLANNamespace      | /spec/ranges                                                                     |
 *
 * ({any} is the pointer segment `*`: any single key or index.) A difference is on a critical path when its
 * path is at or below a critical pointer, or above one while its value holds something at that pointer
 * (adding a whole subnet adds its vlan).
 */
import { parsePointer } from './ignore-rules.js';
import type { DriftOp, DriftSeverity, DriftStatus } from './types.js';

export const CRITICAL_PATHS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  Switch: ['/spec/role', '/spec/asn', '/spec/ip', '/spec/protocolIP', '/spec/vtepIP', '/spec/boot', '/spec/redundancy'],
  Connection: ['/spec/*/links', '/spec/*/link'],
  VPC: ['/spec/subnets/*/subnet', '/spec/subnets/*/vlan', '/spec/ipv4Namespace', '/spec/vlanNamespace'],
  VPCAttachment: ['/spec/connection', '/spec/subnet'],
  VPCPeering: ['/spec/permit', '/spec/remote'],
  External: ['/spec/ipv4Namespace', '/spec/inboundCommunity', '/spec/outboundCommunity'],
  ExternalAttachment: ['/spec/connection', '/spec/switch', '/spec/neighbor'],
  ExternalPeering: ['/spec/permit'],
  IPv4Namespace: ['/spec/subnets'],
  VLANNamespace: ['/spec/ranges'],
});

/** Score at or above which a spec drift without critical paths is `high` (row 7). */
export const HIGH_SCORE_THRESHOLD = 0.5;

const parsedCritical = new Map<string, string[][]>();
function criticalFor(kind: string): string[][] {
  let parsed = parsedCritical.get(kind);
  if (!parsed) parsedCritical.set(kind, (parsed = (CRITICAL_PATHS[kind] ?? []).map(parsePointer)));
  return parsed;
}

/** Does `value` hold anything at the (possibly wildcarded) relative path `rest`? */
function holds(value: unknown, rest: readonly string[]): boolean {
  if (rest.length === 0) return value !== undefined && value !== null;
  if (typeof value !== 'object' || value === null) return false;
  const [head, ...tail] = rest;
  const obj = value as Record<string, unknown>;
  if (head === '*') return Object.keys(obj).some((k) => holds(obj[k], tail));
  return holds(obj[head!], tail);
}

/** True when the operation touches one of the critical pointers (see the doc comment above). */
export function touchesCriticalPath(kind: string, op: DriftOp): boolean {
  const critical = criticalFor(kind);
  if (critical.length === 0) return false;
  const segs = parsePointer(op.path);
  for (const pattern of critical) {
    const n = Math.min(segs.length, pattern.length);
    let i = 0;
    while (i < n && (pattern[i] === '*' || pattern[i] === segs[i])) i++;
    if (i < n) continue;
    if (segs.length >= pattern.length) return true;
    const rest = pattern.slice(segs.length);
    if (holds(op.desired, rest) || holds(op.actual, rest)) return true;
  }
  return false;
}

const isMetadataPath = (path: string) => path.startsWith('/metadata/');

/** The severity of one drift result (the table above). */
export function severityFor(
  kind: string,
  status: DriftStatus,
  score: number,
  differences: readonly DriftOp[],
): DriftSeverity {
  switch (status) {
    case 'in_sync':
      return 'none';
    case 'creation_pending':
    case 'deletion_pending':
      return 'low';
    case 'desired_only':
      return 'high';
    case 'actual_only':
      return 'medium';
    case 'spec_drift':
      if (differences.some((op) => touchesCriticalPath(kind, op))) return 'critical';
      if (differences.every((op) => isMetadataPath(op.path))) return 'low';
      return score >= HIGH_SCORE_THRESHOLD ? 'high' : 'medium';
  }
}
