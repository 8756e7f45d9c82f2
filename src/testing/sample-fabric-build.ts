/**
 * Builds the objects of a planned sample fabric, shaped as users write them in a wiring
 * diagram and VPC manifests (what Git declares; `withServerDefaults` adds what the cluster adds).
 *
 * Topology: every spine links to every leaf; server leaves come in redundancy pairs (every third
 * pair MCLAG, the others ESLAG; an odd last leaf stands alone); from 8 leaves on, a few border
 * leaves carry the external connections (else the last leaf does). Each server has exactly one
 * server-facing connection (MCLAG/ESLAG, unbundled or bundled) on real, unique switch ports.
 */
import { type FabricPlan, POD_VLAN_FROM, POD_VLAN_TO, podOfVpc, shapeOf, subnetsOfVpc } from './sample-fabric-plan.js';
import {
  type KubeObjectLike,
  Prng,
  VPC_API,
  WIRING_API,
  ipFromInt,
  ipToInt,
  macFromIndex,
  obj,
  pad,
  widthFor,
} from './sample-fabric-support.js';

export const SPINE_PROFILE = 'dell-s5232f-on';
export const LEAF_PROFILE = 'dell-s5248f-on';
/** Physical server-facing ports of the leaf model (E1/1–E1/48); uplinks and the rest follow. */
const LEAF_SERVER_PORTS = 48;

interface LeafGroup {
  /** Index in the leaf list of each member. */
  members: number[];
  type: 'mclag' | 'eslag' | 'single';
  /** SwitchGroup / redundancy group name, none for a single leaf. */
  group?: string;
  pod: number;
}

interface ServerConn {
  name: string;
  pod: number;
  multi: boolean;
}

export function podName(pod: number): string {
  return pod === 0 ? 'default' : `pod-${pad(pod + 1, 2)}`;
}

/** First address of the /24 a pod's `index`-th VPC subnet gets (pods own 2048 /24s each). */
function podSubnetBase(pod: number, index: number): number {
  return ipToInt('10.0.0.0') + (pod * 2048 + index) * 256;
}

/**
 * Every object of the plan, in a fixed order. The steps draw from one seeded random stream in the order
 * they run (leaves, servers, VPCs, attachments, peerings), so the same plan always gives the same objects.
 */
export function buildFabric(plan: FabricPlan): KubeObjectLike[] {
  const shape = shapeOf(plan);
  const groups = leafGroups(shape);
  const b: Build = {
    plan,
    ns: plan.namespace,
    rng: new Prng(plan.seed),
    shape,
    spineNames: names('spine', plan.spines),
    leafNames: names('leaf', plan.leaves),
    groups,
    vpcName: vpcNamer(plan.vpcs),
    out: [],
  };
  addNamespaces(b);
  addSwitches(b);
  const servers = buildServers(b);
  b.out.push(...servers.servers);
  const fabricSide = addFabricConnections(b, servers.leafServerPort);
  b.out.push(...servers.connections);
  const vpcs = addVpcs(b);
  addVpcAttachments(b, servers.connInfo, vpcs);
  addVpcPeerings(b, vpcs.subnetNames);
  addExternals(b, fabricSide, vpcs.subnetNames);
  return b.out;
}

/** What every step of one build shares; `out` collects the objects in their final order. */
interface Build {
  plan: FabricPlan;
  ns: string;
  rng: Prng;
  shape: ReturnType<typeof shapeOf>;
  spineNames: string[];
  leafNames: string[];
  groups: LeafGroup[];
  vpcName: (index: number) => string;
  out: KubeObjectLike[];
}

function vpcNamer(vpcs: number): (index: number) => string {
  const width = widthFor(vpcs);
  return (i) => `vpc-${pad(i + 1, width)}`;
}

/** Groups of server leaves (redundancy pairs, every third MCLAG, and an odd last leaf alone), and the pod each serves. */
function leafGroups(shape: ReturnType<typeof shapeOf>): LeafGroup[] {
  const groups: LeafGroup[] = [];
  const groupCount = shape.pairs + shape.singles;
  let mclagN = 0;
  let eslagN = 0;
  for (let p = 0; p < shape.pairs; p++) {
    const type = p % 3 === 0 ? 'mclag' : 'eslag';
    const group = type === 'mclag' ? `mclag-${++mclagN}` : `eslag-${++eslagN}`;
    groups.push({ members: [2 * p, 2 * p + 1], type, group, pod: Math.floor((p * shape.pods) / groupCount) });
  }
  if (shape.singles) {
    groups.push({
      members: [shape.serverLeaves - 1],
      type: 'single',
      pod: Math.floor((shape.pairs * shape.pods) / groupCount),
    });
  }
  return groups;
}

/** An IPv4Namespace and a VLANNamespace per pod. */
function addNamespaces({ shape, ns, out }: Build): void {
  for (let p = 0; p < shape.pods; p++) {
    const subnets: string[] = [];
    for (let j = 0; j < 8; j++) subnets.push(`${ipFromInt(podSubnetBase(p, j * 256))}/16`);
    out.push(obj(VPC_API, 'IPv4Namespace', podName(p), ns, { subnets }));
  }
  for (let p = 0; p < shape.pods; p++) {
    out.push(obj(WIRING_API, 'VLANNamespace', podName(p), ns, { ranges: [{ from: POD_VLAN_FROM, to: POD_VLAN_TO }] }));
  }
}

/** Switch profiles (the models the switches name), switch groups, spines, then leaves. */
function addSwitches({ plan, shape, ns, rng, groups, spineNames, leafNames, out }: Build): void {
  out.push(switchProfile(ns, SPINE_PROFILE, 'Dell S5232F-ON', 'x86_64-dellemc_s5232f_c3538-r0', 32, 0));
  out.push(switchProfile(ns, LEAF_PROFILE, 'Dell S5248F-ON', 'x86_64-dellemc_s5248f_c3538-r0', 56, 48));
  for (const g of groups) if (g.group) out.push(obj(WIRING_API, 'SwitchGroup', g.group, ns, {}));
  if (plan.borderLeaves > 0) out.push(obj(WIRING_API, 'SwitchGroup', 'border', ns, {}));

  const leafGroup = new Array<LeafGroup | undefined>(plan.leaves);
  for (const g of groups) for (const m of g.members) leafGroup[m] = g;
  let switchIndex = 0;
  for (let s = 0; s < plan.spines; s++) {
    const spec: Record<string, unknown> = {
      role: 'spine',
      description: `spine ${s + 1}, row A, rack ${1 + (s % 4)}`,
      profile: SPINE_PROFILE,
      boot: boot(switchIndex++),
      // Declared empty on purpose: the CRD fills in flapThreshold/recoveryInterval/samplingInterval.
      linkFlapErrDisable: {},
    };
    out.push(obj(WIRING_API, 'Switch', spineNames[s]!, ns, spec));
  }
  for (let l = 0; l < plan.leaves; l++) {
    const g = leafGroup[l];
    const border = l >= shape.serverLeaves;
    const spec: Record<string, unknown> = {
      role: border ? 'border-leaf' : 'server-leaf',
      description: `${border ? 'border leaf' : 'leaf'} ${l + 1}, row ${String.fromCharCode(66 + (l % 20))}, rack ${1 + rng.int(12)}`,
      profile: LEAF_PROFILE,
      boot: boot(switchIndex++),
    };
    if (g?.group) {
      spec.redundancy = { group: g.group, type: g.type };
      spec.groups = [g.group];
    }
    if (border) spec.groups = ['border'];
    const pod = g?.pod ?? 0;
    // Pod 0 uses the 'default' VLANNamespace, which the webhook fills in when none is declared.
    if (pod !== 0) spec.vlanNamespaces = [podName(pod)];
    if (rng.chance(0.15)) spec.ecmp = { roceQPN: false };
    out.push(obj(WIRING_API, 'Switch', leafNames[l]!, ns, spec));
  }
}

interface Servers {
  servers: KubeObjectLike[];
  connections: KubeObjectLike[];
  connInfo: ServerConn[];
  /** Server ports used on each leaf (the fabric-side ports follow them). */
  leafServerPort: number[];
}

/** Servers and their one server-facing connection each, on the server ports of their group's leaves (E1/1, E1/2 …). */
function buildServers(b: Build): Servers {
  const { plan, shape, ns, rng, groups } = b;
  const serverNames = names('server', plan.servers);
  const leafServerPort = new Array<number>(plan.leaves).fill(0);
  const leafPort = (l: number) => `${b.leafNames[l]}/E1/${++leafServerPort[l]!}`;
  const result: Servers = { servers: [], connections: [], connInfo: [], leafServerPort };
  const perLeafBase = Math.floor(plan.servers / Math.max(1, shape.serverLeaves));
  const perLeafExtra = plan.servers % Math.max(1, shape.serverLeaves);
  let srv = 0;
  for (const g of groups) {
    let quota = 0;
    for (const m of g.members) quota += perLeafBase + (m < perLeafExtra ? 1 : 0);
    for (let j = 0; j < quota; j++, srv++) {
      const name = serverNames[srv]!;
      const { conn, description, multi } =
        g.type === 'single' ? singleHomed(b, g, j, name, leafPort) : pairHomed(b, g, j, name, leafPort);
      result.servers.push(
        obj(WIRING_API, 'Server', name, ns, {
          description: `${description}, rack ${1 + rng.int(40)} U${1 + rng.int(42)}`,
        }),
      );
      result.connections.push(conn);
      result.connInfo.push({ name: conn.metadata.name, pod: g.pod, multi });
    }
  }
  return result;
}

interface ServerLink {
  conn: KubeObjectLike;
  description: string;
  /** Multi-homed (MCLAG/ESLAG): such a connection never gets a native VLAN. */
  multi: boolean;
}

/** A server on a lone leaf: every third bundled, the others unbundled. */
function singleHomed(
  { ns, rng, leafNames }: Build,
  g: LeafGroup,
  j: number,
  name: string,
  leafPort: (l: number) => string,
): ServerLink {
  const a = g.members[0]!;
  const [sp1, sp2] = [`${name}/enp2s1`, `${name}/enp2s2`];
  if (j % 3 === 2) {
    return {
      conn: bundled(ns, name, leafNames[a]!, [sp1, sp2], [leafPort(a), leafPort(a)], rng),
      description: `bundled to ${leafNames[a]}`,
      multi: false,
    };
  }
  return {
    conn: unbundled(ns, name, leafNames[a]!, sp1, leafPort(a), rng),
    description: `single-homed to ${leafNames[a]}`,
    multi: false,
  };
}

/** A server on a redundancy pair: by turns multi-homed to both, unbundled to either, or bundled to the second. */
function pairHomed(
  { ns, rng, leafNames }: Build,
  g: LeafGroup,
  j: number,
  name: string,
  leafPort: (l: number) => string,
): ServerLink {
  const [a, b] = g.members as [number, number];
  const [sp1, sp2] = [`${name}/enp2s1`, `${name}/enp2s2`];
  const k = j % 5;
  if (k === 0 || k === 2) {
    const links = [
      { server: { port: sp1 }, switch: { port: leafPort(a) } },
      { server: { port: sp2 }, switch: { port: leafPort(b) } },
    ];
    const body: Record<string, unknown> = { links };
    if (g.type === 'eslag' && rng.chance(0.2)) body.fallback = true;
    if (rng.chance(0.1)) body.mtu = 9000;
    const conn = obj(WIRING_API, 'Connection', `${name}--${g.type}--${leafNames[a]}--${leafNames[b]}`, ns, {
      [g.type]: body,
    });
    return { conn, description: `MH ${leafNames[a]} ${leafNames[b]}`, multi: true };
  }
  if (k === 3) {
    return {
      conn: bundled(ns, name, leafNames[b]!, [sp1, sp2], [leafPort(b), leafPort(b)], rng),
      description: `bundled to ${leafNames[b]}`,
      multi: false,
    };
  }
  const l = k === 1 ? a : b;
  return {
    conn: unbundled(ns, name, leafNames[l]!, sp1, leafPort(l), rng),
    description: `single-homed to ${leafNames[l]}`,
    multi: false,
  };
}

/** Port and address allocation for the fabric-side connections: infra ports follow the server ports. */
class FabricPorts {
  private readonly infraPort: number[];
  private readonly spinePort: number[];
  private p2p = 0; // /31 point-to-point links from 172.30.128.0
  private readonly p2pBase = ipToInt('172.30.128.0');

  constructor(
    private readonly b: Build,
    leafServerPort: readonly number[],
  ) {
    this.infraPort = leafServerPort.map((used) => Math.max(LEAF_SERVER_PORTS, used));
    this.spinePort = new Array<number>(b.plan.spines).fill(0);
  }

  leaf(l: number): string {
    return `${this.b.leafNames[l]}/E1/${++this.infraPort[l]!}`;
  }

  spine(s: number): string {
    return `${this.b.spineNames[s]}/E1/${++this.spinePort[s]!}`;
  }

  linkIps(): [string, string] {
    const a = this.p2pBase + 2 * this.p2p++;
    return [`${ipFromInt(a)}/31`, `${ipFromInt(a + 1)}/31`];
  }
}

/** What the external steps need from the fabric side: the Externals' names and their attachment connections. */
interface ExternalSide {
  externalNames: string[];
  externalConns: { leaf: number; external: number; conn: string }[];
}

/** Fabric-side connections: uplinks, MCLAG domains, mesh, loopbacks, gateway, externals, static externals. */
function addFabricConnections(b: Build, leafServerPort: readonly number[]): ExternalSide {
  const ports = new FabricPorts(b, leafServerPort);
  addSpineLeafLinks(b, ports);
  addLeafPairLinks(b, ports);
  addGatewayLinks(b, ports);
  const extLeaves: number[] = [];
  for (let i = 0; i < b.shape.externalLeaves; i++) {
    extLeaves.push(b.plan.borderLeaves > 0 ? b.shape.serverLeaves + i : b.plan.leaves - 1);
  }
  const side = addExternalLinks(b, ports, extLeaves);
  addStaticExternals(b, ports, extLeaves);
  return side;
}

function addSpineLeafLinks({ plan, shape, ns, spineNames, leafNames, out }: Build, ports: FabricPorts): void {
  for (let s = 0; s < plan.spines; s++) {
    for (let l = 0; l < plan.leaves; l++) {
      const links = [];
      for (let k = 0; k < shape.linksPerSpine; k++) {
        const [spineIp, leafIp] = ports.linkIps();
        links.push({ spine: { port: ports.spine(s), ip: spineIp }, leaf: { port: ports.leaf(l), ip: leafIp } });
      }
      out.push(obj(WIRING_API, 'Connection', `${spineNames[s]}--fabric--${leafNames[l]}`, ns, { fabric: { links } }));
    }
  }
}

/** Leaf-to-leaf: MCLAG domains of the MCLAG pairs, mesh links, VPC loopbacks. */
function addLeafPairLinks({ shape, ns, groups, leafNames, out }: Build, ports: FabricPorts): void {
  for (const g of groups) {
    if (g.type !== 'mclag') continue;
    const [a, b] = g.members as [number, number];
    const pair = () => ({ switch1: { port: ports.leaf(a) }, switch2: { port: ports.leaf(b) } });
    out.push(
      obj(WIRING_API, 'Connection', `${leafNames[a]}--mclag-domain--${leafNames[b]}`, ns, {
        mclagDomain: { peerLinks: [pair(), pair()], sessionLinks: [pair()] },
      }),
    );
  }
  for (let m = 0; m < shape.meshes; m++) {
    const a = 2 * m;
    const b = 2 * m + 2;
    const links = [];
    for (let k = 0; k < 2; k++) {
      const [ip1, ip2] = ports.linkIps();
      links.push({ leaf1: { port: ports.leaf(a), ip: ip1 }, leaf2: { port: ports.leaf(b), ip: ip2 } });
    }
    out.push(obj(WIRING_API, 'Connection', `${leafNames[a]}--mesh--${leafNames[b]}`, ns, { mesh: { links } }));
  }
  for (let v = 0; v < shape.loopbacks; v++) {
    const l = 4 * v;
    const links = [0, 1].map(() => ({ switch1: { port: ports.leaf(l) }, switch2: { port: ports.leaf(l) } }));
    out.push(obj(WIRING_API, 'Connection', `${leafNames[l]}--vpc-loopback`, ns, { vpcLoopback: { links } }));
  }
}

function addGatewayLinks({ plan, ns, spineNames, out }: Build, ports: FabricPorts): void {
  for (let s = 0; s < plan.spines; s++) {
    const gw = `gateway-${Math.floor(s / 2) + 1}`;
    const [swIp, gwIp] = ports.linkIps();
    out.push(
      obj(WIRING_API, 'Connection', `${spineNames[s]}--gateway--${gw}`, ns, {
        gateway: {
          links: [
            { switch: { port: ports.spine(s), ip: swIp }, gateway: { port: `${gw}/enp2s${(s % 2) + 1}`, ip: gwIp } },
          ],
        },
      }),
    );
  }
}

/** The External connections: each External attached to `attachmentsPerExternal` of the external leaves. */
function addExternalLinks(
  { shape, ns, leafNames, out }: Build,
  ports: FabricPorts,
  extLeaves: readonly number[],
): ExternalSide {
  const externalNames: string[] = [];
  const ew = widthFor(shape.externals);
  for (let e = 0; e < shape.externals; e++) {
    externalNames.push(`${e % 3 === 2 ? 'static' : 'bgp'}-edge-${pad(e + 1, ew)}`);
  }
  const externalConns: ExternalSide['externalConns'] = [];
  for (let e = 0; e < shape.externals; e++) {
    for (let t = 0; t < shape.attachmentsPerExternal; t++) {
      const l = extLeaves[(e + t) % extLeaves.length]!;
      const conn = `${leafNames[l]}--external--${externalNames[e]}`;
      out.push(obj(WIRING_API, 'Connection', conn, ns, { external: { link: { switch: { port: ports.leaf(l) } } } }));
      externalConns.push({ leaf: l, external: e, conn });
    }
  }
  return { externalNames, externalConns };
}

/** One static-external connection per external leaf (every other one with a VLAN, or within the first VPC). */
function addStaticExternals(
  { ns, leafNames, vpcName, out }: Build,
  ports: FabricPorts,
  extLeaves: readonly number[],
): void {
  const staticBase = ipToInt('172.31.0.0');
  for (let i = 0; i < extLeaves.length; i++) {
    const l = extLeaves[i]!;
    const net = staticBase + i * 256;
    const sw: Record<string, unknown> = {
      port: ports.leaf(l),
      ip: `${ipFromInt(net + 5)}/24`,
      nextHop: ipFromInt(net + 1),
      subnets: [`${ipFromInt(ipToInt('10.199.0.0') + i * 256)}/24`],
    };
    if (i % 2 === 0) sw.vlan = 3000 + (i % 1000);
    const body: Record<string, unknown> = { link: { switch: sw } };
    if (i % 2 === 1) body.withinVPC = vpcName(0);
    out.push(obj(WIRING_API, 'Connection', `${leafNames[l]}--static-external`, ns, { staticExternal: body }));
  }
}

interface Vpcs {
  /** Subnet names of each VPC, by VPC index. */
  subnetNames: string[][];
  /** VPC indexes of each pod. */
  byPod: number[][];
}

function addVpcs({ plan, shape, ns, rng, vpcName, out }: Build): Vpcs {
  const layout = { pods: shape.pods, vpcsPerPod: shape.vpcsPerPod };
  const podVlan = new Array<number>(shape.pods).fill(0);
  const result: Vpcs = { subnetNames: [], byPod: Array.from({ length: shape.pods }, () => []) };
  for (let i = 0; i < plan.vpcs; i++) {
    const pod = podOfVpc(i, layout);
    result.byPod[pod]!.push(i);
    const subnets: Record<string, unknown> = {};
    const subnetNames: string[] = [];
    const n = subnetsOfVpc(plan, i);
    for (let s = 0; s < n; s++) {
      const idx = podVlan[pod]!++;
      const net = podSubnetBase(pod, idx);
      const sname = s === 0 ? 'default' : `subnet-${pad(s + 1, 2)}`;
      subnetNames.push(sname);
      subnets[sname] = vpcSubnet(rng, net, POD_VLAN_FROM + idx);
    }
    result.subnetNames.push(subnetNames);
    const spec: Record<string, unknown> = {};
    // Pod 0 VPCs leave the namespaces to the webhook half of the time, as many users do.
    if (pod !== 0 || i % 2 === 0) {
      spec.ipv4Namespace = podName(pod);
      spec.vlanNamespace = podName(pod);
    }
    if (rng.chance(0.1)) spec.mode = 'l3vni';
    spec.subnets = subnets;
    if (n > 1 && rng.chance(0.15)) {
      spec.defaultIsolated = true;
      spec.permit = [subnetNames.slice(0, 2)];
    }
    if (rng.chance(0.05))
      spec.staticRoutes = [
        { prefix: '10.250.0.0/24', nextHops: [ipFromInt(podSubnetBase(pod, podVlan[pod]! - 1) + 10)] },
      ];
    out.push(obj(VPC_API, 'VPC', vpcName(i), ns, spec));
  }
  return result;
}

/** VPCAttachments: one per server connection (to a VPC of its pod), a second one for every eighth. */
function addVpcAttachments({ plan, ns, rng, vpcName, out }: Build, connInfo: readonly ServerConn[], vpcs: Vpcs): void {
  const vpcSubnets = vpcs.subnetNames;
  const attachments: KubeObjectLike[] = [];
  for (let c = 0; c < connInfo.length; c++) {
    const info = connInfo[c]!;
    const choices = vpcs.byPod[info.pod]!;
    const v = choices[rng.int(choices.length)]!;
    const sIdx = rng.int(vpcSubnets[v]!.length);
    const second = c % 8 === 7;
    const first: Record<string, unknown> = { connection: info.name, subnet: `${vpcName(v)}/${vpcSubnets[v]![sIdx]}` };
    if (!second && !info.multi && rng.chance(0.1)) first.nativeVLAN = true;
    attachments.push(attachment(ns, info.name, vpcName(v), vpcSubnets[v]![sIdx]!, first));
    if (second) {
      // Another subnet of the same VPC when it has one, else the next VPC of the pod.
      let v2 = v;
      let s2 = (sIdx + 1) % vpcSubnets[v]!.length;
      if (s2 === sIdx) {
        v2 = choices[(choices.indexOf(v) + 1) % choices.length]!;
        s2 = 0;
      }
      const spec = { connection: info.name, subnet: `${vpcName(v2)}/${vpcSubnets[v2]![s2]}` };
      attachments.push(attachment(ns, info.name, vpcName(v2), vpcSubnets[v2]![s2]!, spec));
    }
  }
  attachments.length -= plan.trimAttachments;
  out.push(...attachments);
}

/** VPCPeerings: VPC 4k with VPC 4k+1 (same pod by construction). */
function addVpcPeerings({ shape, ns, rng, vpcName, out }: Build, vpcSubnets: readonly string[][]): void {
  for (let k = 0; k < shape.vpcPeerings; k++) {
    const a = 4 * k;
    const b = 4 * k + 1;
    const filtered = rng.chance(0.3);
    const side = (v: number) => (filtered ? { subnets: [vpcSubnets[v]![0]!] } : {});
    out.push(
      obj(VPC_API, 'VPCPeering', `${vpcName(a)}--${vpcName(b)}`, ns, {
        permit: [{ [vpcName(a)]: side(a), [vpcName(b)]: side(b) }],
      }),
    );
  }
}

/** Externals, their attachments and peerings (all in the default IPv4Namespace). */
function addExternals(
  { shape, ns, leafNames, vpcName, out }: Build,
  { externalNames, externalConns }: ExternalSide,
  vpcSubnets: readonly string[][],
): void {
  for (let e = 0; e < shape.externals; e++) {
    const spec: Record<string, unknown> = { ipv4Namespace: 'default' };
    if (e % 3 === 2) spec.static = { prefixes: ['0.0.0.0/0'] };
    else {
      spec.inboundCommunity = `65102:${5000 + e}`;
      spec.outboundCommunity = `${5000 + e}:65102`;
    }
    out.push(obj(VPC_API, 'External', externalNames[e]!, ns, spec));
  }
  const extNetBase = ipToInt('100.100.0.0');
  for (let i = 0; i < externalConns.length; i++) {
    const { leaf, external, conn } = externalConns[i]!;
    const a = extNetBase + 2 * i;
    const spec: Record<string, unknown> = { connection: conn, external: externalNames[external] };
    if (external % 3 === 2) {
      Object.assign(spec, {
        neighbor: {},
        switch: {},
        static: { remoteIP: ipFromInt(a + 1), vlan: 10 + (i % 3000), ip: `${ipFromInt(a)}/31` },
      });
    } else {
      Object.assign(spec, {
        neighbor: { asn: 65102 + external, ip: ipFromInt(a + 1) },
        switch: { ip: `${ipFromInt(a)}/31`, vlan: 100 + (i % 3000) },
      });
    }
    out.push(obj(VPC_API, 'ExternalAttachment', `${leafNames[leaf]}--${externalNames[external]}`, ns, spec));
  }
  for (let j = 0; j < shape.externalPeerings; j++) {
    const v = j; // pod 0 holds VPCs 0 … vpcsInPod0-1, and the Externals live in its namespace
    const ext = externalNames[j % shape.externals]!;
    out.push(
      obj(VPC_API, 'ExternalPeering', `${vpcName(v)}--${ext}`, ns, {
        permit: {
          vpc: { name: vpcName(v), subnets: [...vpcSubnets[v]!].sort() },
          external: { name: ext, prefixes: [{ prefix: '0.0.0.0/0' }] },
        },
      }),
    );
  }
}

function names(prefix: string, count: number): string[] {
  const w = widthFor(count);
  const res = new Array<string>(count);
  for (let i = 0; i < count; i++) res[i] = `${prefix}-${pad(i + 1, w)}`;
  return res;
}

function boot(index: number): Record<string, string> {
  // Most switches are identified by management MAC, a few by serial number.
  return index % 5 === 4 ? { serial: `HH${pad(index + 1, 8)}` } : { mac: macFromIndex('0c:20:12', index) };
}

function unbundled(
  ns: string,
  server: string,
  leaf: string,
  serverPort: string,
  switchPort: string,
  rng: Prng,
): KubeObjectLike {
  const body: Record<string, unknown> = { link: { server: { port: serverPort }, switch: { port: switchPort } } };
  if (rng.chance(0.1)) body.mtu = 9000;
  return obj(WIRING_API, 'Connection', `${server}--unbundled--${leaf}`, ns, { unbundled: body });
}

function bundled(
  ns: string,
  server: string,
  leaf: string,
  serverPorts: string[],
  switchPorts: string[],
  rng: Prng,
): KubeObjectLike {
  const links = serverPorts.map((sp, i) => ({ server: { port: sp }, switch: { port: switchPorts[i]! } }));
  const body: Record<string, unknown> = { links };
  if (rng.chance(0.1)) body.mtu = 9000;
  return obj(WIRING_API, 'Connection', `${server}--bundled--${leaf}`, ns, { bundled: body });
}

function attachment(
  ns: string,
  conn: string,
  vpc: string,
  subnet: string,
  spec: Record<string, unknown>,
): KubeObjectLike {
  return obj(VPC_API, 'VPCAttachment', `${conn}--${vpc}--${subnet}`, ns, spec);
}

function vpcSubnet(rng: Prng, net: number, vlan: number): Record<string, unknown> {
  const sub: Record<string, unknown> = { subnet: `${ipFromInt(net)}/24` };
  if (rng.chance(0.5)) sub.gateway = ipFromInt(net + 1);
  sub.vlan = vlan;
  const r = rng.next();
  if (r < 0.45) sub.dhcp = { enable: true };
  else if (r < 0.6) sub.dhcp = { enable: true, range: { start: ipFromInt(net + 10), end: ipFromInt(net + 99) } };
  else if (r < 0.7) {
    sub.dhcp = {
      enable: true,
      options: { leaseTimeSeconds: 7200, interfaceMTU: 9000, dnsServers: ['1.1.1.1', '8.8.8.8'] },
    };
  } else if (r < 0.75) sub.dhcp = { relay: `${ipFromInt(ipToInt('10.99.0.100'))}/32` };
  if (rng.chance(0.05)) sub.restricted = true;
  return sub;
}

function switchProfile(
  ns: string,
  name: string,
  displayName: string,
  platform: string,
  ports: number,
  sfpPorts: number,
): KubeObjectLike {
  const portMap: Record<string, unknown> = { M1: { nos: 'Management0', management: true, oniePortName: 'eth0' } };
  for (let i = 1; i <= ports; i++) {
    const sfp = i <= sfpPorts;
    portMap[`E1/${i}`] = {
      nos: `Ethernet${sfp ? i - 1 : sfpPorts + (i - sfpPorts - 1) * 4}`,
      label: String(i),
      ...(sfp ? { group: String(Math.ceil(i / 4)) } : { profile: 'QSFP28-100G' }),
    };
  }
  const portGroups: Record<string, unknown> = {};
  for (let g = 1; g <= sfpPorts / 4; g++) portGroups[String(g)] = { nos: String(g), profile: 'SFP28-25G' };
  const spec: Record<string, unknown> = {
    displayName,
    otherNames: [displayName.replace(/-ON$/, '')],
    switchSilicon: 'Broadcom Trident3',
    platform,
    nosType: 'sonic-bcm-private',
    config: { maxPathsEBGP: 64 },
    features: {
      subinterfaces: true,
      acls: true,
      l2vni: true,
      l3vni: true,
      roce: false,
      mclag: true,
      eslag: true,
      ecmpRoCEQPN: false,
    },
    ports: portMap,
    portProfiles: {
      'SFP28-25G': { speed: { default: '25G', supported: ['10G', '25G'] } },
      'QSFP28-100G': {
        breakout: {
          default: '1x100G',
          supported: { '1x100G': { offsets: ['0'] }, '4x25G': { offsets: ['0', '1', '2', '3'] } },
        },
      },
    },
  };
  if (sfpPorts > 0) spec.portGroups = portGroups;
  return obj(WIRING_API, 'SwitchProfile', name, ns, spec);
}
