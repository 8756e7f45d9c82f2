/**
 * The structure of a sample fabric, decided before any object is built: how many switches,
 * servers, VPCs, and which share of each kind follows from them. Every count here is a pure
 * function of the plan (the seed only varies spec details), so the total can be computed without
 * building anything — that is how `targetObjects` is met exactly and quickly.
 */

export interface SampleFabricOptions {
  /** Spine switches (default 2). */
  spines?: number;
  /** Leaf switches, border leaves included (default 4). From 8 leaves on, a few are border leaves. */
  leaves?: number;
  /** Servers per server-facing leaf (default 2). */
  serversPerLeaf?: number;
  /** VPCs (default: one per eight servers, at least 2). */
  vpcs?: number;
  /** Subnets in every VPC (default: 1, 2, 3, 1, 2, 3 … by VPC index). */
  subnetsPerVpc?: number;
  /**
   * When set, the topology (spines, leaves, servers, VPCs) is scaled so the total object count is
   * this number (exactly when reachable; the smallest fabric has about 25 objects). `serversPerLeaf`
   * and `subnetsPerVpc` are kept when given; `spines`, `leaves` and `vpcs` are ignored.
   */
  targetObjects?: number;
  /** Namespace of every object (default 'default'). */
  namespace?: string;
  /** Seed for spec details (VPC choices of attachments, DHCP settings, descriptions …); default 1. */
  seed?: number;
}

/** The resolved structure. */
export interface FabricPlan {
  namespace: string;
  seed: number;
  spines: number;
  /** All leaves; the last `borderLeaves` of them are border leaves (no servers). */
  leaves: number;
  borderLeaves: number;
  /** Servers in total, spread evenly over the server leaves. */
  servers: number;
  vpcs: number;
  /** Fixed subnets per VPC, or undefined for the 1, 2, 3 cycle. */
  subnetsPerVpc: number | undefined;
  /** VPCAttachments dropped from the end so a target count is met exactly. */
  trimAttachments: number;
}

/** VLANs a VLANNamespace offers (1000–2999), minus headroom for the merged last pod. */
const POD_SUBNET_CAPACITY = 1980;
export const POD_VLAN_FROM = 1000;
export const POD_VLAN_TO = 2999;

export function borderLeavesFor(leaves: number): number {
  return leaves >= 8 ? Math.max(2, Math.floor(leaves / 16)) : 0;
}

export function spinesFor(leaves: number): number {
  if (leaves <= 16) return 2;
  if (leaves <= 64) return 4;
  return 8;
}

export function subnetsOfVpc(plan: Pick<FabricPlan, 'subnetsPerVpc'>, vpcIndex: number): number {
  return plan.subnetsPerVpc ?? 1 + (vpcIndex % 3);
}

/** How VPCs are split into pods (one IPv4Namespace + one VLANNamespace each). */
export function podLayout(plan: Pick<FabricPlan, 'vpcs' | 'subnetsPerVpc'>): { pods: number; vpcsPerPod: number } {
  const maxSubnets = plan.subnetsPerVpc ?? 3;
  // A multiple of 4 so a VPCPeering's two VPCs (4k, 4k+1) always share a pod.
  const vpcsPerPod = 4 * Math.floor(POD_SUBNET_CAPACITY / maxSubnets / 4);
  if (plan.vpcs <= vpcsPerPod) return { pods: 1, vpcsPerPod };
  const rest = plan.vpcs % vpcsPerPod;
  // A remainder of fewer than 4 VPCs joins the previous pod, so every pod has at least 2 subnets.
  const pods = rest !== 0 && rest < 4 ? Math.floor(plan.vpcs / vpcsPerPod) : Math.ceil(plan.vpcs / vpcsPerPod);
  return { pods, vpcsPerPod };
}

export function podOfVpc(vpcIndex: number, layout: { pods: number; vpcsPerPod: number }): number {
  return Math.min(layout.pods - 1, Math.floor(vpcIndex / layout.vpcsPerPod));
}

/** Derived sizes every builder step and the counter agree on. */
export interface PlanShape {
  serverLeaves: number;
  pairs: number;
  /** 1 when the server leaves are odd: the last one stands alone. */
  singles: number;
  mclagPairs: number;
  linksPerSpine: number;
  meshes: number;
  loopbacks: number;
  externals: number;
  /** Leaves that carry external and static-external connections. */
  externalLeaves: number;
  /** Connections (and attachments) per External. */
  attachmentsPerExternal: number;
  vpcPeerings: number;
  externalPeerings: number;
  pods: number;
  vpcsPerPod: number;
  vpcsInPod0: number;
}

export function shapeOf(plan: FabricPlan): PlanShape {
  const serverLeaves = plan.leaves - plan.borderLeaves;
  const pairs = Math.floor(serverLeaves / 2);
  const externalLeaves = plan.borderLeaves > 0 ? plan.borderLeaves : 1;
  const externals = Math.max(1, Math.floor(plan.leaves / 16));
  const layout = podLayout(plan);
  const vpcsInPod0 = layout.pods === 1 ? plan.vpcs : layout.vpcsPerPod;
  return {
    serverLeaves,
    pairs,
    singles: serverLeaves % 2,
    mclagPairs: Math.ceil(pairs / 3),
    linksPerSpine: plan.spines <= 2 ? 2 : 1,
    meshes: plan.leaves >= 4 ? Math.max(1, Math.floor(plan.leaves / 8)) : 0,
    loopbacks: Math.ceil(plan.leaves / 4),
    externals,
    externalLeaves,
    attachmentsPerExternal: Math.min(2, externalLeaves),
    vpcPeerings: Math.max(1, Math.floor(plan.vpcs / 4)),
    externalPeerings: Math.max(1, Math.floor(vpcsInPod0 / 10)),
    pods: layout.pods,
    vpcsPerPod: layout.vpcsPerPod,
    vpcsInPod0,
  };
}

/** Every eighth server connection gets a second VPCAttachment. */
export function attachmentsFor(servers: number): number {
  return servers + Math.floor(servers / 8);
}

/** Objects per kind the plan produces (kinds with none are left out). */
export function countPlan(plan: FabricPlan): Record<string, number> {
  const s = shapeOf(plan);
  const connections =
    plan.spines * plan.leaves + // fabric
    plan.spines + // gateway, one per spine
    s.mclagPairs + // mclag-domain
    s.meshes +
    s.loopbacks +
    s.externals * s.attachmentsPerExternal + // external
    s.externalLeaves + // static-external
    plan.servers; // one server-facing connection per server
  const counts: Record<string, number> = {
    IPv4Namespace: s.pods,
    VLANNamespace: s.pods,
    SwitchProfile: 2,
    SwitchGroup: s.pairs + (plan.borderLeaves > 0 ? 1 : 0),
    Switch: plan.spines + plan.leaves,
    Server: plan.servers,
    Connection: connections,
    VPC: plan.vpcs,
    VPCAttachment: attachmentsFor(plan.servers) - plan.trimAttachments,
    VPCPeering: s.vpcPeerings,
    External: s.externals,
    ExternalAttachment: s.externals * s.attachmentsPerExternal,
    ExternalPeering: s.externalPeerings,
  };
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
}

export function totalOf(counts: Record<string, number>): number {
  let t = 0;
  for (const v of Object.values(counts)) t += v;
  return t;
}

function intOpt(v: number | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`sample fabric: ${name} must be an integer from ${min} to ${max}, got ${v}`);
  }
  return v;
}

/** Resolves options into a plan (explicit topology, or scaled to `targetObjects`). */
export function resolvePlan(opts: SampleFabricOptions = {}): FabricPlan {
  const namespace = opts.namespace ?? 'default';
  const seed = opts.seed ?? 1;
  const subnetsPerVpc = intOpt(opts.subnetsPerVpc, 'subnetsPerVpc', 1, 400);
  const serversPerLeaf = intOpt(opts.serversPerLeaf, 'serversPerLeaf', 0, 10_000);
  const target = intOpt(opts.targetObjects, 'targetObjects', 1, 10_000_000);
  if (target !== undefined) return planForTarget(target, { namespace, seed, subnetsPerVpc, serversPerLeaf });

  const spines = intOpt(opts.spines, 'spines', 1, 1_000) ?? 2;
  const leaves = intOpt(opts.leaves, 'leaves', 1, 100_000) ?? 4;
  const borderLeaves = borderLeavesFor(leaves);
  const servers = (leaves - borderLeaves) * (serversPerLeaf ?? 2);
  const vpcs = intOpt(opts.vpcs, 'vpcs', 2, 1_000_000) ?? Math.max(2, Math.round(servers / 8));
  return { namespace, seed, spines, leaves, borderLeaves, servers, vpcs, subnetsPerVpc, trimAttachments: 0 };
}

/** The untrimmed plan for `servers` servers at about `perLeaf` servers per leaf. */
function planForServers(
  servers: number,
  perLeaf: number,
  base: { namespace: string; seed: number; subnetsPerVpc: number | undefined },
): FabricPlan {
  const serverLeavesNeeded = Math.max(2, perLeaf > 0 ? Math.ceil(servers / perLeaf) : 2);
  let leaves = serverLeavesNeeded;
  while (leaves - borderLeavesFor(leaves) < serverLeavesNeeded) leaves++;
  return {
    ...base,
    spines: spinesFor(leaves),
    leaves,
    borderLeaves: borderLeavesFor(leaves),
    servers,
    vpcs: Math.max(2, Math.round(servers / 8)),
    trimAttachments: 0,
  };
}

function planForTarget(
  target: number,
  base: { namespace: string; seed: number; subnetsPerVpc: number | undefined; serversPerLeaf: number | undefined },
): FabricPlan {
  const perLeaf = base.serversPerLeaf ?? Math.min(48, Math.max(2, Math.round(Math.sqrt(target) / 2.5)));
  const b = { namespace: base.namespace, seed: base.seed, subnetsPerVpc: base.subnetsPerVpc };
  const total = (n: number) => totalOf(countPlan(planForServers(n, perLeaf, b)));
  if (perLeaf === 0) return planForServers(0, 0, b);

  // The count grows with the server count (about 3 objects a server); find the first N reaching
  // the target, then look around it, since adding a leaf can make the count step.
  let lo = 0;
  let hi = Math.max(1, Math.ceil(target / 2));
  while (total(hi) < target) hi *= 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (total(mid) < target) lo = mid + 1;
    else hi = mid;
  }
  let best: FabricPlan | undefined;
  let bestErr = Infinity;
  for (let n = Math.max(0, lo - 8); n <= lo + 8; n++) {
    const plan = planForServers(n, perLeaf, b);
    const t = total(n);
    const over = t - target;
    // Overshoot is trimmed from the VPCAttachments (nothing refers to them); keep most of them.
    const trim = over > 0 ? Math.min(over, Math.floor(attachmentsFor(n) / 2)) : 0;
    const err = Math.abs(over - trim);
    if (err < bestErr || (err === bestErr && trim < (best?.trimAttachments ?? Infinity))) {
      best = { ...plan, trimAttachments: trim };
      bestErr = err;
    }
  }
  return best!;
}
