/**
 * What the cluster adds to an object that its manifest does not declare: the Hedgehog admission
 * webhooks' defaults (modelled on the `Default()` methods of githedgehog/fabric api/*), the CRD
 * schema defaults, and values the fabric assigns at install time (a switch's ASN and IPs).
 * Applying it to the declared objects gives what a real cluster would report for them, so
 * tests and the demo can show that server defaults are not drift.
 */
import { show } from '../common/values.js';
import { type KubeObjectLike, hash32, ipFromInt, ipToInt, parseCidr } from './sample-fabric-support.js';

const P = 'fabric.githedgehog.com/';
const LIST_TRUE = 'true';

/** A spec field as label text, '' when unset. The webhook only sees strings here; anything structured shows as JSON. */
function labelText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : show(v);
}

export interface ServerDefaultsOptions {
  /** Also add the labels the webhooks set (default true). */
  labels?: boolean;
}

/**
 * Returns a copy of `obj` as the API server would store it: absent fields filled in, declared
 * values kept (apart from the webhooks' own normalizations, e.g. sorting a switch's groups).
 * Values that must be unique (ASN, IPs) follow from the object's name; `seed` salts them for
 * names that do not end in a number.
 */
export function withServerDefaults(obj: KubeObjectLike, seed = 1, opts: ServerDefaultsOptions = {}): KubeObjectLike {
  const out = structuredClone(obj);
  const spec = out.spec;
  const labels: Record<string, string> = {};
  switch (obj.kind) {
    case 'Switch':
      defaultSwitch(out.metadata.name, spec, labels, seed);
      break;
    case 'Connection':
      defaultConnection(spec, labels);
      break;
    case 'VPC':
      defaultVpc(spec, labels);
      break;
    case 'VPCAttachment': {
      const subnet = typeof spec.subnet === 'string' ? spec.subnet : '';
      const [vpc, sub] = subnet.split('/', 2);
      if (vpc) {
        if (!sub) spec.subnet = `${vpc}/default`;
        labels[`${P}vpc`] = vpc;
        labels[`${P}subnet`] = sub || 'default';
        labels[`${P}connection`] = labelText(spec.connection);
        if (spec.nativeVLAN === true) labels[`${P}nativevlan`] = LIST_TRUE;
      }
      break;
    }
    case 'VPCPeering': {
      const vpcs = new Set<string>();
      for (const p of (spec.permit as (Record<string, unknown> | null)[] | undefined) ?? [])
        for (const v of Object.keys(p ?? {})) vpcs.add(v);
      if (vpcs.size === 2) {
        const [v1, v2] = [...vpcs].sort() as [string, string];
        labels[`vpc.${P}${v1}`] = LIST_TRUE;
        labels[`vpc.${P}${v2}`] = LIST_TRUE;
        labels[`${P}vpc1`] = v1;
        labels[`${P}vpc2`] = v2;
      }
      break;
    }
    case 'External':
      if (!spec.ipv4Namespace) spec.ipv4Namespace = 'default';
      labels[`${P}ipv4ns`] = String(spec.ipv4Namespace);
      break;
    case 'ExternalAttachment':
      labels[`${P}connection`] = labelText(spec.connection);
      labels[`${P}external`] = labelText(spec.external);
      break;
    case 'ExternalPeering': {
      const permit = (spec.permit ?? {}) as {
        vpc?: { name?: string; subnets?: string[] };
        external?: { name?: string; prefixes?: { prefix?: string }[] };
      };
      labels[`${P}vpc`] = permit.vpc?.name ?? '';
      labels[`${P}external`] = permit.external?.name ?? '';
      permit.vpc?.subnets?.sort();
      permit.external?.prefixes?.sort((a, b) =>
        (a.prefix ?? '') < (b.prefix ?? '') ? -1 : (a.prefix ?? '') > (b.prefix ?? '') ? 1 : 0,
      );
      break;
    }
    default:
      break;
  }
  if (opts.labels !== false && Object.keys(labels).length > 0) {
    // Webhooks own the fabric.githedgehog.com labels; the user's other labels stay.
    const kept = Object.fromEntries(Object.entries(out.metadata.labels ?? {}).filter(([k]) => !k.includes(P)));
    out.metadata.labels = { ...kept, ...labels };
  }
  return out;
}

/** The number a generated name ends in (leaf-07 → 7), else a salted hash of the name. */
function ordinal(name: string, seed: number): number {
  const m = /(\d+)$/.exec(name);
  return m ? Number(m[1]) : 1 + (hash32(name, seed) % 8000);
}

function defaultSwitch(
  name: string,
  spec: Record<string, unknown>,
  labels: Record<string, string>,
  seed: number,
): void {
  const n = ordinal(name, seed);
  const spine = spec.role === 'spine';
  const leafLike = !spine && spec.role !== 'virtual-edge';
  // Assigned by the fabric at install time when the wiring does not set them.
  if (spec.asn === undefined) spec.asn = spine ? 65100 : 65100 + n;
  // Spines first, leaves from 1024 on: unique per field for up to 1023 spines.
  const offset = (spine ? 0 : 1024) + n;
  if (spec.ip === undefined) spec.ip = `${ipFromInt(ipToInt('172.30.0.0') + 8 + offset)}/21`;
  if (spec.protocolIP === undefined) spec.protocolIP = `${ipFromInt(ipToInt('172.30.8.0') + offset)}/32`;
  if (leafLike && spec.vtepIP === undefined) spec.vtepIP = `${ipFromInt(ipToInt('172.30.12.0') + offset)}/32`;
  // Go serializes the non-pointer redundancy struct even when empty.
  if (spec.redundancy === undefined) spec.redundancy = {};
  // Webhook: default VLAN namespace, the redundancy group joins the groups, both lists sorted.
  const vlanNs =
    Array.isArray(spec.vlanNamespaces) && spec.vlanNamespaces.length > 0
      ? (spec.vlanNamespaces as string[])
      : ['default'];
  spec.vlanNamespaces = [...vlanNs].sort();
  const groups = Array.isArray(spec.groups) ? [...(spec.groups as string[])] : [];
  const red = (spec.redundancy ?? {}) as { group?: string };
  if (red.group && !groups.includes(red.group)) groups.push(red.group);
  if (groups.length > 0 || spec.groups !== undefined) spec.groups = groups.sort();
  // CRD schema defaults apply inside a declared linkFlapErrDisable.
  if (spec.linkFlapErrDisable && typeof spec.linkFlapErrDisable === 'object') {
    const l = spec.linkFlapErrDisable as Record<string, unknown>;
    l.flapThreshold ??= 3;
    l.recoveryInterval ??= 300;
    l.samplingInterval ??= 30;
  }
  for (const g of groups) labels[`switchgroup.${P}${g}`] = LIST_TRUE;
  for (const v of spec.vlanNamespaces as string[]) labels[`vlanns.${P}${v}`] = LIST_TRUE;
  labels[`${P}profile`] = labelText(spec.profile);
}

const CONNECTION_TYPES: Record<string, string> = {
  unbundled: 'unbundled',
  bundled: 'bundled',
  mclagDomain: 'mclag-domain',
  mclag: 'mclag',
  eslag: 'eslag',
  fabric: 'fabric',
  mesh: 'mesh',
  gateway: 'gateway',
  vpcLoopback: 'vpc-loopback',
  external: 'external',
  staticExternal: 'static-external',
};

type Port = { port?: string } | undefined;
const dev = (p: Port) => (p?.port ?? '').split('/')[0] ?? '';
/** A link as a connection spec holds it: each side ('switch', 'server', 'leaf1', …) names a port. */
type Link = Partial<Record<string, Port>> | null | undefined;
/** The parts of a connection's body (spec.bundled, spec.mclag, …) that name switches and servers; unchecked input. */
type ConnectionBody = { links?: unknown; link?: Link; peerLinks?: Link[]; sessionLinks?: Link[]; withinVPC?: unknown };

function defaultConnection(spec: Record<string, unknown>, labels: Record<string, string>): void {
  const field = Object.keys(CONNECTION_TYPES).find((k) => spec[k] !== undefined && spec[k] !== null);
  if (!field) return;
  labels[`${P}connection-type`] = CONNECTION_TYPES[field]!;
  const body = spec[field] as ConnectionBody;
  const switches = new Set<string>();
  const servers = new Set<string>();
  const links: Link[] = Array.isArray(body.links) ? (body.links as Link[]) : body.link ? [body.link] : [];
  for (const l of links) {
    for (const side of ['switch', 'spine', 'leaf', 'leaf1', 'leaf2', 'switch1', 'switch2'])
      if (l?.[side]) switches.add(dev(l[side]));
    if (l?.server) servers.add(dev(l.server));
  }
  for (const l of [...(body.peerLinks ?? []), ...(body.sessionLinks ?? [])]) {
    switches.add(dev(l?.switch1));
    switches.add(dev(l?.switch2));
  }
  if (field === 'staticExternal' && body.withinVPC) labels[`${P}vpc`] = labelText(body.withinVPC);
  for (const s of switches) if (s) labels[`switch.${P}${s}`] = LIST_TRUE;
  for (const s of servers) if (s) labels[`server.${P}${s}`] = LIST_TRUE;
}

/** A VPC subnet as the spec holds it (unchecked input), with the fields the webhook fills in. */
type VpcSubnet = {
  subnet?: unknown;
  gateway?: unknown;
  hostBGP?: unknown;
  dhcp?: {
    enable?: unknown;
    range?: { start?: string; end?: string };
    options?: { interfaceMTU?: number; dnsServers?: string[]; timeServers?: string[]; leaseTimeSeconds?: number };
  };
};

function defaultVpc(spec: Record<string, unknown>, labels: Record<string, string>): void {
  if (!spec.ipv4Namespace) spec.ipv4Namespace = 'default';
  if (!spec.vlanNamespace) spec.vlanNamespace = 'default';
  labels[`${P}ipv4ns`] = String(spec.ipv4Namespace);
  labels[`${P}vlanns`] = String(spec.vlanNamespace);
  const subnets = (spec.subnets ?? {}) as Record<string, VpcSubnet | null>;
  for (const sub of Object.values(subnets)) {
    if (!sub || typeof sub.subnet !== 'string') continue;
    // Go serializes the non-pointer DHCP struct even when empty.
    sub.dhcp ??= {};
    let cidr: ReturnType<typeof parseCidr>;
    try {
      cidr = parseCidr(sub.subnet);
    } catch {
      continue;
    }
    if (!sub.gateway && !sub.hostBGP) sub.gateway = ipFromInt(cidr.network + 1);
    if (cidr.bits > 30) continue;
    const dhcp = sub.dhcp;
    if (!dhcp.enable) {
      delete dhcp.range;
      delete dhcp.options;
      continue;
    }
    dhcp.range ??= {};
    dhcp.range.start ||= ipFromInt(cidr.network + 2);
    dhcp.range.end ||= ipFromInt(cidr.network + cidr.size - 1);
    if (dhcp.options) {
      const o = dhcp.options;
      o.interfaceMTU ||= 9036;
      o.dnsServers = [...(o.dnsServers ?? [])].sort();
      o.timeServers = [...(o.timeServers ?? [])].sort();
      o.leaseTimeSeconds ||= 3600;
    }
  }
}
