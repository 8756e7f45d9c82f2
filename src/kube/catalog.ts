/**
 * The catalog of fabric kinds the ledger tracks. Plurals are those of the real CRDs
 * (groups vpc.githedgehog.com and wiring.githedgehog.com, version v1beta1, all namespaced).
 */
export interface KindInfo {
  group: string;
  version: string;
  kind: string;
  plural: string;
  /** `${group}/${version}` */
  apiVersion: string;
  namespaced: boolean;
}

const VPC = 'vpc.githedgehog.com';
const WIRING = 'wiring.githedgehog.com';
const V = 'v1beta1';

function k(group: string, kind: string, plural: string): KindInfo {
  return { group, version: V, kind, plural, apiVersion: `${group}/${V}`, namespaced: true };
}

export const FABRIC_KINDS: readonly KindInfo[] = Object.freeze([
  k(VPC, 'VPC', 'vpcs'),
  k(VPC, 'VPCAttachment', 'vpcattachments'),
  k(VPC, 'VPCPeering', 'vpcpeerings'),
  k(VPC, 'External', 'externals'),
  k(VPC, 'ExternalAttachment', 'externalattachments'),
  k(VPC, 'ExternalPeering', 'externalpeerings'),
  k(VPC, 'IPv4Namespace', 'ipv4namespaces'),
  k(WIRING, 'Connection', 'connections'),
  k(WIRING, 'Server', 'servers'),
  k(WIRING, 'Switch', 'switches'),
  k(WIRING, 'SwitchGroup', 'switchgroups'),
  k(WIRING, 'SwitchProfile', 'switchprofiles'),
  k(WIRING, 'ServerProfile', 'serverprofiles'),
  k(WIRING, 'VLANNamespace', 'vlannamespaces'),
]);

const byKind = new Map(FABRIC_KINDS.map((i) => [i.kind, i]));

/** The catalog entry for a kind name (case-sensitive, as Kubernetes spells it), or undefined. */
export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

/** True when `apiVersion` + `kind` name a fabric kind of the catalog. */
export function isFabricKind(apiVersion: string | undefined, kind: string | undefined): boolean {
  if (!kind) return false;
  const info = byKind.get(kind);
  return !!info && info.apiVersion === apiVersion;
}
