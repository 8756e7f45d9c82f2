/**
 * The fabric `hh-sync demo` serves from the fake Kubernetes API, and the Git variant of it with
 * three deliberate differences for the drift report to find.
 */
import { buildFabric } from './sample-fabric-build.js';
import { withServerDefaults } from './sample-fabric-defaults.js';
import { resolvePlan } from './sample-fabric-plan.js';
import { type KubeObjectLike, VPC_API, obj } from './sample-fabric-support.js';

/** 2 spines, 4 leaves (an MCLAG pair and an ESLAG pair), 8 servers, 2 VPCs of 2 subnets. */
const DEMO_OPTIONS = { spines: 2, leaves: 4, serversPerLeaf: 2, vpcs: 2, subnetsPerVpc: 2, seed: 1 } as const;

/** VLAN the Git side gives vpc-01's default subnet (the cluster has 1000). */
const GIT_VLAN = 1100;

/**
 * The demo fabric as declared (what was applied to the cluster): a small spine-leaf fabric with a
 * connection of every type the Connection CRD has (fabric, mclag-domain, mclag, eslag, bundled,
 * unbundled, mesh, vpc-loopback, gateway, external, static-external), switch groups and profiles,
 * IPv4/VLAN namespaces, VPCs with attachments, a VPCPeering, and an External with its attachment
 * and peering. Serve `demoClusterFabric()` to show what the cluster reports for it.
 */
export function demoFabric(): KubeObjectLike[] {
  return buildFabric(resolvePlan(DEMO_OPTIONS));
}

/** `demoFabric()` with the server-side defaults applied: what the demo's fake API serves. */
export function demoClusterFabric(): KubeObjectLike[] {
  return demoFabric().map((o) => withServerDefaults(o));
}

export interface DemoGitDifferences {
  /** A VLAN Git changed that the cluster does not have yet. */
  changedVlan: {
    kind: 'VPC';
    name: string;
    path: string;
    pathSegments: string[];
    clusterValue: number;
    gitValue: number;
  };
  /** Declared in Git, not applied to the cluster yet. */
  onlyInGit: { kind: string; name: string };
  /** Applied to the cluster by hand, never committed. */
  onlyInCluster: { kind: string; name: string };
}

/** The demo fabric as its Git repository declares it, and the differences from `demoFabric()`. */
export function demoGitFabric(): { objects: KubeObjectLike[]; differences: DemoGitDifferences } {
  const cluster = demoFabric();
  const attachments = cluster.filter((o) => o.kind === 'VPCAttachment');
  const handMade = attachments[attachments.length - 1]!;

  const objects = cluster.filter((o) => o !== handMade).map((o) => structuredClone(o));
  const vpc = objects.find((o) => o.kind === 'VPC' && o.metadata.name === 'vpc-01')!;
  const subnet = (vpc.spec.subnets as Record<string, { vlan: number }>).default!;
  const clusterValue = subnet.vlan;
  subnet.vlan = GIT_VLAN;

  // A VPC planned in Git and not applied yet: the next free subnet and VLAN of the default pod.
  const planned = obj(VPC_API, 'VPC', 'vpc-03', 'default', {
    ipv4Namespace: 'default',
    vlanNamespace: 'default',
    subnets: { default: { subnet: '10.0.4.0/24', gateway: '10.0.4.1', vlan: 1004, dhcp: { enable: true } } },
  });
  const lastVpc = objects.map((o) => o.kind).lastIndexOf('VPC');
  objects.splice(lastVpc + 1, 0, planned);

  return {
    objects,
    differences: {
      changedVlan: {
        kind: 'VPC',
        name: 'vpc-01',
        path: 'spec.subnets.default.vlan',
        pathSegments: ['spec', 'subnets', 'default', 'vlan'],
        clusterValue,
        gitValue: GIT_VLAN,
      },
      onlyInGit: { kind: 'VPC', name: planned.metadata.name },
      onlyInCluster: { kind: handMade.kind, name: handMade.metadata.name },
    },
  };
}
