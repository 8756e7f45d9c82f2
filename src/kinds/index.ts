/**
 * The TypeScript types of the fabric kinds, public as `hedgehog-fabric-sync/kinds`: one object type and one spec type
 * per kind, generated from the real CRDs (scripts/generate-fabric-kinds.mjs, docs/kinds.md), so a host writes a typed
 * `const vpc: VPC = { … }`. An explicit list, so a change to it is deliberate (test/public-api.test.ts).
 */
export {
  FABRIC_KIND_NAMES,
  type Connection,
  type ConnectionSpec,
  type External,
  type ExternalAttachment,
  type ExternalAttachmentSpec,
  type ExternalPeering,
  type ExternalPeeringSpec,
  type ExternalSpec,
  type FabricKindMap,
  type FabricKindName,
  type FabricObject,
  type IPv4Namespace,
  type IPv4NamespaceSpec,
  type Server,
  type ServerProfile,
  type ServerProfileSpec,
  type ServerSpec,
  type Switch,
  type SwitchGroup,
  type SwitchGroupSpec,
  type SwitchProfile,
  type SwitchProfileSpec,
  type SwitchSpec,
  type VLANNamespace,
  type VLANNamespaceSpec,
  type VPC,
  type VPCAttachment,
  type VPCAttachmentSpec,
  type VPCPeering,
  type VPCPeeringSpec,
  type VPCSpec,
} from './fabric-kinds.generated.js';
export type { FabricObjectMeta, FabricOwnerReference } from './object-meta.js';
