import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import {
  type KubeObjectLike,
  demoClusterFabric,
  demoFabric,
  demoGitFabric,
  generateSampleFabric,
  sampleFabricCounts,
  toManifestFiles,
  withServerDefaults,
} from '../src/testing/sample-fabric.js';
import { DNS1123_SUBDOMAIN } from '../src/common/k8s-names.js';
import { FABRIC_KINDS, isFabricKind } from '../src/kube/catalog.js';

const DNS1123 = DNS1123_SUBDOMAIN;
const CONNECTION_TYPES = [
  'unbundled',
  'bundled',
  'mclag',
  'eslag',
  'mclagDomain',
  'fabric',
  'mesh',
  'gateway',
  'vpcLoopback',
  'external',
  'staticExternal',
];
const SERVER_FACING = ['unbundled', 'bundled', 'mclag', 'eslag'];

const key = (o: KubeObjectLike) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
const countKinds = (objs: KubeObjectLike[]) => {
  const c: Record<string, number> = {};
  for (const o of objs) c[o.kind] = (c[o.kind] ?? 0) + 1;
  return c;
};
const connType = (c: KubeObjectLike) => Object.keys(c.spec).find((k) => CONNECTION_TYPES.includes(k))!;

function ipInt(ip: string): number {
  return ip.split('.').reduce((a, b) => a * 256 + Number(b), 0);
}
function cidr(c: string): { net: number; size: number } {
  const [ip, bits] = c.split('/') as [string, string];
  const size = 2 ** (32 - Number(bits));
  return { net: Math.floor(ipInt(ip) / size) * size, size };
}
const within = (inner: string, outer: string) => {
  const a = cidr(inner);
  const b = cidr(outer);
  return a.net >= b.net && a.net + a.size <= b.net + b.size;
};

/** Every port of a connection, with the role of the device it belongs to. */
/** A port is read from generated objects, so it may be missing; the integrity check reports that. */
function portsOf(c: KubeObjectLike): { port: string | undefined; side: string }[] {
  const body = c.spec[connType(c)] as Record<string, any>;
  const out: { port: string | undefined; side: string }[] = [];
  const links: any[] = [
    ...(body.links ?? []),
    ...(body.link ? [body.link] : []),
    ...(body.peerLinks ?? []),
    ...(body.sessionLinks ?? []),
  ];
  for (const l of links)
    for (const [side, v] of Object.entries(l)) out.push({ port: (v as { port?: string }).port, side });
  return out;
}

/** Referential integrity as a real fabric needs it; returns the problems found. */
function integrityProblems(objs: KubeObjectLike[]): string[] {
  const problems: string[] = [];
  const byKind = (k: string) => objs.filter((o) => o.kind === k);
  const names = (k: string) => new Set(byKind(k).map((o) => o.metadata.name));
  const switches = new Map(byKind('Switch').map((o) => [o.metadata.name, o]));
  const servers = names('Server');
  const profiles = names('SwitchProfile');
  const groups = names('SwitchGroup');
  const vlanNs = new Map(byKind('VLANNamespace').map((o) => [o.metadata.name, o]));
  const ipNs = new Map(byKind('IPv4Namespace').map((o) => [o.metadata.name, o]));
  const vpcs = new Map(byKind('VPC').map((o) => [o.metadata.name, o]));
  const conns = new Map(byKind('Connection').map((o) => [o.metadata.name, o]));
  const externals = new Map(byKind('External').map((o) => [o.metadata.name, o]));
  const switchVlanNs = (sw: KubeObjectLike) => (sw.spec.vlanNamespaces as string[] | undefined) ?? ['default'];

  for (const sw of switches.values()) {
    if (!profiles.has(sw.spec.profile as string))
      problems.push(`${sw.metadata.name}: no profile ${String(sw.spec.profile)}`);
    for (const g of (sw.spec.groups as string[] | undefined) ?? [])
      if (!groups.has(g)) problems.push(`${sw.metadata.name}: no group ${g}`);
    const red = sw.spec.redundancy as { group?: string } | undefined;
    if (red?.group && !((sw.spec.groups as string[] | undefined) ?? []).includes(red.group))
      problems.push(`${sw.metadata.name}: redundancy group not in groups`);
    for (const v of switchVlanNs(sw)) if (!vlanNs.has(v)) problems.push(`${sw.metadata.name}: no VLANNamespace ${v}`);
  }

  const usedPorts = new Set<string>();
  const serverConns = new Map<string, number>();
  for (const c of conns.values()) {
    const type = connType(c);
    const present = Object.keys(c.spec).filter((k) => CONNECTION_TYPES.includes(k));
    if (present.length !== 1) problems.push(`${c.metadata.name}: ${present.length} connection types`);
    const devices = new Set<string>();
    for (const { port, side } of portsOf(c)) {
      const m = /^([a-z0-9-]+)\/(E1\/\d+|enp2s\d+)$/.exec(port ?? '');
      if (!m || port === undefined) {
        problems.push(`${c.metadata.name}: malformed port ${String(port)}`);
        continue;
      }
      if (usedPorts.has(port)) problems.push(`${c.metadata.name}: port ${port} used twice`);
      usedPorts.add(port);
      const device = m[1]!;
      devices.add(device);
      if (side === 'server') {
        if (!servers.has(device)) problems.push(`${c.metadata.name}: no server ${device}`);
        serverConns.set(device, (serverConns.get(device) ?? 0) + 1);
      } else if (side === 'gateway') {
        // Gateways are gateway.githedgehog.com objects, outside the ledger's kinds.
        if (!/^gateway-\d+$/.test(device)) problems.push(`${c.metadata.name}: odd gateway ${device}`);
      } else if (!switches.has(device)) problems.push(`${c.metadata.name}: no switch ${device}`);
    }
    if (type === 'fabric') {
      const body = c.spec.fabric as { links: { spine: { port: string }; leaf: { port: string } }[] };
      for (const l of body.links) {
        if (switches.get(l.spine.port.split('/')[0]!)?.spec.role !== 'spine')
          problems.push(`${c.metadata.name}: spine side is no spine`);
        if (switches.get(l.leaf.port.split('/')[0]!)?.spec.role === 'spine')
          problems.push(`${c.metadata.name}: leaf side is a spine`);
      }
    }
    if (type === 'mclag' || type === 'eslag' || type === 'mclagDomain') {
      const sws = [...devices].filter((d) => switches.has(d)).map((d) => switches.get(d)!);
      const reds = sws.map((s) => s.spec.redundancy as { group?: string; type?: string } | undefined);
      const want = type === 'eslag' ? 'eslag' : 'mclag';
      if (sws.length !== 2 || reds.some((r) => r?.type !== want) || reds[0]?.group !== reds[1]?.group) {
        problems.push(`${c.metadata.name}: switches are not one ${want} pair`);
      }
    }
    if (type === 'staticExternal') {
      const within = (c.spec.staticExternal as { withinVPC?: string }).withinVPC;
      if (within && !vpcs.has(within)) problems.push(`${c.metadata.name}: no VPC ${within}`);
    }
  }
  for (const s of servers) if (serverConns.get(s) === undefined) problems.push(`server ${s} has no connection`);

  const vlansSeen = new Map<string, Set<number>>();
  const subnetsSeen = new Map<string, Set<string>>();
  for (const v of vpcs.values()) {
    const ipn = (v.spec.ipv4Namespace as string | undefined) ?? 'default';
    const vln = (v.spec.vlanNamespace as string | undefined) ?? 'default';
    const ns4 = ipNs.get(ipn);
    const nsv = vlanNs.get(vln);
    if (!ns4 || !nsv) {
      problems.push(`${v.metadata.name}: missing namespace ${ipn}/${vln}`);
      continue;
    }
    if (v.metadata.name.length > 11) problems.push(`${v.metadata.name}: VPC names are at most 11 characters`);
    for (const [sname, sub] of Object.entries(
      v.spec.subnets as Record<string, { subnet: string; vlan: number; gateway?: string }>,
    )) {
      if (!DNS1123.test(sname)) problems.push(`${v.metadata.name}: subnet name ${sname}`);
      if (!(ns4.spec.subnets as string[]).some((s) => within(sub.subnet, s)))
        problems.push(`${v.metadata.name}/${sname}: ${sub.subnet} outside ${ipn}`);
      const ranges = nsv.spec.ranges as { from: number; to: number }[];
      if (!ranges.some((r) => sub.vlan >= r.from && sub.vlan <= r.to))
        problems.push(`${v.metadata.name}/${sname}: VLAN ${sub.vlan} outside ${vln}`);
      const vs = vlansSeen.get(vln) ?? new Set<number>();
      if (vs.has(sub.vlan)) problems.push(`${v.metadata.name}/${sname}: VLAN ${sub.vlan} reused in ${vln}`);
      vlansSeen.set(vln, vs.add(sub.vlan));
      const ss = subnetsSeen.get(ipn) ?? new Set<string>();
      if (ss.has(sub.subnet)) problems.push(`${v.metadata.name}/${sname}: subnet ${sub.subnet} reused in ${ipn}`);
      subnetsSeen.set(ipn, ss.add(sub.subnet));
      if (sub.gateway && !within(`${sub.gateway}/32`, sub.subnet))
        problems.push(`${v.metadata.name}/${sname}: gateway outside subnet`);
    }
  }
  const subnetExists = (full: string) => {
    const [vpc, sub] = full.split('/') as [string, string];
    return !!(vpcs.get(vpc)?.spec.subnets as Record<string, unknown> | undefined)?.[sub];
  };

  for (const a of byKind('VPCAttachment')) {
    const c = conns.get(a.spec.connection as string);
    if (!c) problems.push(`${a.metadata.name}: no connection`);
    else if (!SERVER_FACING.includes(connType(c))) problems.push(`${a.metadata.name}: connection is not server-facing`);
    if (!subnetExists(a.spec.subnet as string)) problems.push(`${a.metadata.name}: no subnet ${String(a.spec.subnet)}`);
    if (c) {
      // The VPC's VLANs must be usable on the switches the connection lands on.
      const vpc = vpcs.get((a.spec.subnet as string).split('/')[0]!);
      const vln = (vpc?.spec.vlanNamespace as string | undefined) ?? 'default';
      for (const { port, side } of portsOf(c)) {
        const sw = side === 'switch' && port !== undefined ? switches.get(port.split('/')[0]!) : undefined;
        if (sw && !switchVlanNs(sw).includes(vln))
          problems.push(`${a.metadata.name}: ${sw.metadata.name} lacks VLANNamespace ${vln}`);
      }
    }
  }
  for (const p of byKind('VPCPeering')) {
    const permit = p.spec.permit as Record<string, { subnets?: string[] }>[];
    const pv = new Set(permit.flatMap((x) => Object.keys(x)));
    if (pv.size !== 2) problems.push(`${p.metadata.name}: peers ${pv.size} VPCs`);
    const ns = new Set([...pv].map((v) => vpcs.get(v)?.spec.ipv4Namespace ?? 'default'));
    if (ns.size !== 1) problems.push(`${p.metadata.name}: VPCs in different IPv4Namespaces`);
    for (const x of permit)
      for (const [v, side] of Object.entries(x)) {
        if (!vpcs.has(v)) problems.push(`${p.metadata.name}: no VPC ${v}`);
        for (const s of side.subnets ?? [])
          if (!subnetExists(`${v}/${s}`)) problems.push(`${p.metadata.name}: no subnet ${v}/${s}`);
      }
  }
  for (const e of externals.values())
    if (!ipNs.has(e.spec.ipv4Namespace as string)) problems.push(`${e.metadata.name}: no IPv4Namespace`);
  for (const a of byKind('ExternalAttachment')) {
    const c = conns.get(a.spec.connection as string);
    if (!c || connType(c) !== 'external')
      problems.push(`${a.metadata.name}: no external connection ${String(a.spec.connection)}`);
    if (!externals.has(a.spec.external as string))
      problems.push(`${a.metadata.name}: no External ${String(a.spec.external)}`);
  }
  for (const p of byKind('ExternalPeering')) {
    const permit = p.spec.permit as { vpc: { name: string; subnets: string[] }; external: { name: string } };
    const ext = externals.get(permit.external.name);
    const vpc = vpcs.get(permit.vpc.name);
    if (!ext || !vpc) problems.push(`${p.metadata.name}: missing VPC or External`);
    else if ((vpc.spec.ipv4Namespace ?? 'default') !== ext.spec.ipv4Namespace)
      problems.push(`${p.metadata.name}: namespaces differ`);
    for (const s of permit.vpc.subnets)
      if (!subnetExists(`${permit.vpc.name}/${s}`)) problems.push(`${p.metadata.name}: no subnet ${s}`);
  }
  return problems;
}

function expectWellFormed(objs: KubeObjectLike[]): void {
  const keys = new Set<string>();
  const bad: string[] = [];
  for (const o of objs) {
    if (!isFabricKind(o.apiVersion, o.kind)) bad.push(`${key(o)}: not a fabric kind`);
    if (!DNS1123.test(o.metadata.name) || o.metadata.name.length > 253) bad.push(`${key(o)}: not a DNS-1123 name`);
    if (keys.has(key(o))) bad.push(`${key(o)}: duplicate`);
    keys.add(key(o));
  }
  expect(bad).toEqual([]);
}

/** True when every value `declared` sets is in `actual` with the same value (arrays compared whole). */
function declaredKept(declared: unknown, actual: unknown): boolean {
  if (declared && typeof declared === 'object' && !Array.isArray(declared)) {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(declared).every(([k, v]) => declaredKept(v, (actual as Record<string, unknown>)[k]));
  }
  return JSON.stringify(declared) === JSON.stringify(actual);
}

describe('demo fabric', () => {
  const demo = demoFabric();

  test('is a small spine-leaf fabric with every kind the demo shows', () => {
    expect(countKinds(demo)).toEqual({
      IPv4Namespace: 1,
      VLANNamespace: 1,
      SwitchProfile: 2,
      SwitchGroup: 2,
      Switch: 6,
      Server: 8,
      Connection: 23,
      VPC: 2,
      VPCAttachment: 9,
      VPCPeering: 1,
      External: 1,
      ExternalAttachment: 1,
      ExternalPeering: 1,
    });
    const roles = demo.filter((o) => o.kind === 'Switch').map((o) => o.spec.role);
    expect(roles.filter((r) => r === 'spine')).toHaveLength(2);
    const redundancy = demo
      .filter((o) => o.kind === 'Switch' && o.spec.redundancy)
      .map((o) => (o.spec.redundancy as { type: string }).type);
    expect(redundancy.sort()).toEqual(['eslag', 'eslag', 'mclag', 'mclag']);
    expectWellFormed(demo);
    expect(demo.every((o) => o.metadata.namespace === 'default')).toBe(true);
  });

  test('has a connection of every type the Connection CRD defines', () => {
    const types = new Set(demo.filter((o) => o.kind === 'Connection').map(connType));
    expect([...types].sort()).toEqual([...CONNECTION_TYPES].sort());
  });

  test('is referentially whole, on unique real ports', () => {
    expect(integrityProblems(demo)).toEqual([]);
    const conn = demo.find((o) => o.metadata.name === 'server-01--mclag--leaf-01--leaf-02')!;
    expect(portsOf(conn).map((p) => p.port)).toEqual([
      'server-01/enp2s1',
      'leaf-01/E1/1',
      'server-01/enp2s2',
      'leaf-02/E1/1',
    ]);
  });

  test('the integrity check catches what it should', () => {
    const broken = structuredClone(demo);
    const att = broken.find((o) => o.kind === 'VPCAttachment')!;
    att.spec.subnet = 'vpc-01/nope';
    const conn = broken.find((o) => o.metadata.name === 'server-02--unbundled--leaf-01')!;
    (conn.spec.unbundled as any).link.switch.port = 'leaf-01/E1/51'; // an uplink port
    expect(integrityProblems(broken)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('no subnet vpc-01/nope'),
        expect.stringContaining('leaf-01/E1/51 used twice'),
      ]),
    );
  });
});

describe('demo Git variant', () => {
  const { objects: git, differences } = demoGitFabric();
  const cluster = demoFabric();

  test('differs from the demo fabric in exactly the three declared ways', () => {
    const gitKeys = new Map(git.map((o) => [key(o), o]));
    const clusterKeys = new Map(cluster.map((o) => [key(o), o]));
    const onlyGit = [...gitKeys.keys()].filter((k) => !clusterKeys.has(k));
    const onlyCluster = [...clusterKeys.keys()].filter((k) => !gitKeys.has(k));
    expect(onlyGit).toEqual([`${differences.onlyInGit.kind}/default/${differences.onlyInGit.name}`]);
    expect(onlyCluster).toEqual([`${differences.onlyInCluster.kind}/default/${differences.onlyInCluster.name}`]);
    const changed = [...gitKeys.keys()].filter(
      (k) => clusterKeys.has(k) && JSON.stringify(gitKeys.get(k)) !== JSON.stringify(clusterKeys.get(k)),
    );
    expect(changed).toEqual([`VPC/default/${differences.changedVlan.name}`]);

    const at = (o: KubeObjectLike) => differences.changedVlan.pathSegments.reduce<any>((v, s) => v?.[s], o);
    expect(differences.changedVlan.path).toBe(differences.changedVlan.pathSegments.join('.'));
    expect(at(gitKeys.get('VPC/default/vpc-01')!)).toBe(differences.changedVlan.gitValue);
    expect(at(clusterKeys.get('VPC/default/vpc-01')!)).toBe(differences.changedVlan.clusterValue);
    expect(differences.changedVlan.gitValue).not.toBe(differences.changedVlan.clusterValue);
  });

  test('stays a valid fabric (the planned VPC reuses no VLAN or subnet)', () => {
    expect(integrityProblems(git)).toEqual([]);
    expectWellFormed(git);
  });

  test('against the served cluster, everything else differs only by server defaults', () => {
    const served = new Map(demoClusterFabric().map((o) => [key(o), o]));
    for (const o of git) {
      const actual = served.get(key(o));
      if (!actual || o.metadata.name === differences.changedVlan.name) continue;
      expect({ key: key(o), kept: declaredKept(o.spec, actual.spec) }).toEqual({ key: key(o), kept: true });
    }
    // … and the cluster does add things Git does not declare.
    const leaf = served.get('Switch/default/leaf-01')!;
    expect(leaf.spec).toMatchObject({ asn: expect.any(Number), vtepIP: expect.stringMatching(/\/32$/) });
    expect(git.find((o) => o.metadata.name === 'leaf-01')!.spec.asn).toBeUndefined();
  });
});

describe('generateSampleFabric', () => {
  test('is deterministic for a seed; the seed varies specs, not the topology', () => {
    const a = generateSampleFabric({ leaves: 10, serversPerLeaf: 6, seed: 42 });
    expect(generateSampleFabric({ leaves: 10, serversPerLeaf: 6, seed: 42 })).toEqual(a);
    const b = generateSampleFabric({ leaves: 10, serversPerLeaf: 6, seed: 43 });
    expect(JSON.stringify(b)).not.toBe(JSON.stringify(a));
    const topo = (objs: KubeObjectLike[]) =>
      objs.filter((o) => ['Switch', 'Server', 'Connection'].includes(o.kind)).map(key);
    expect(topo(b)).toEqual(topo(a));
  });

  test('follows the explicit topology options', () => {
    const objs = generateSampleFabric({
      spines: 3,
      leaves: 6,
      serversPerLeaf: 5,
      vpcs: 7,
      subnetsPerVpc: 3,
      namespace: 'fab-a',
    });
    const c = countKinds(objs);
    expect(c.Switch).toBe(9);
    expect(c.Server).toBe(30);
    expect(c.VPC).toBe(7);
    expect(objs.filter((o) => o.kind === 'VPC').every((o) => Object.keys(o.spec.subnets as object).length === 3)).toBe(
      true,
    );
    expect(objs.filter((o) => o.kind === 'Connection' && connType(o) === 'fabric')).toHaveLength(18);
    expect(objs.every((o) => o.metadata.namespace === 'fab-a')).toBe(true);
    expect(integrityProblems(objs)).toEqual([]);
  });

  test.each([
    { leaves: 1 },
    { leaves: 3, spines: 1 },
    { leaves: 9, serversPerLeaf: 0 },
    { leaves: 17, spines: 5, vpcs: 3, subnetsPerVpc: 1 },
    { leaves: 33, serversPerLeaf: 1, vpcs: 2000, subnetsPerVpc: 7 },
  ])('odd topology %j is still whole and counted right', (opts) => {
    const objs = generateSampleFabric(opts);
    expect(countKinds(objs)).toEqual(sampleFabricCounts(opts));
    expectWellFormed(objs);
    expect(integrityProblems(objs)).toEqual([]);
  });

  test('a mid-size fabric is whole: border leaves, several pods, every connection type', () => {
    // Few subnets per pod force several IPv4/VLAN namespaces.
    const objs = generateSampleFabric({ leaves: 20, serversPerLeaf: 30, vpcs: 1400, seed: 5 });
    expectWellFormed(objs);
    expect(integrityProblems(objs)).toEqual([]);
    const c = countKinds(objs);
    expect(c.VLANNamespace).toBeGreaterThan(1);
    expect(objs.some((o) => o.kind === 'Switch' && o.spec.role === 'border-leaf')).toBe(true);
    expect(new Set(objs.filter((o) => o.kind === 'Connection').map(connType)).size).toBe(CONNECTION_TYPES.length);
  });

  test.each([25, 50, 51, 99, 250, 1000, 4321, 20000])(
    'targetObjects %i gives that many objects (±2%%), all consistent',
    (target) => {
      const objs = generateSampleFabric({ targetObjects: target, seed: target });
      expect(Math.abs(objs.length - target)).toBeLessThanOrEqual(Math.floor(target * 0.02));
      expect(countKinds(objs)).toEqual(sampleFabricCounts({ targetObjects: target, seed: target }));
      expectWellFormed(objs);
      expect(integrityProblems(objs)).toEqual([]);
    },
  );

  test.each([100_000, 123_457, 200_000])('targetObjects %i scales too', (target) => {
    const counts = sampleFabricCounts({ targetObjects: target });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(Math.abs(total - target)).toBeLessThanOrEqual(Math.floor(target * 0.02));
  });

  test('a 100,000-object fabric is built with unique names and a realistic mix', () => {
    const objs = generateSampleFabric({ targetObjects: 100_000 });
    expect(objs).toHaveLength(100_000);
    expect(new Set(objs.map(key)).size).toBe(100_000);
    const c = countKinds(objs);
    expect(c.Server!).toBeGreaterThan(0.2 * objs.length);
    expect(c.Connection! / c.Server!).toBeGreaterThan(0.9);
    expect(c.Connection! / c.Server!).toBeLessThan(1.5);
    expect(c.VPCAttachment! / c.Server!).toBeGreaterThan(0.9);
    expect(c.VPC!).toBeLessThan(c.Server! / 4);
    expect(c.VPCPeering!).toBeLessThan(c.VPC!);
    expect(c.ExternalPeering!).toBeLessThan(c.VPC!);
    expect(c.Switch!).toBeLessThan(c.Server! / 20);
  });

  test('refuses nonsense options with a message naming the option', () => {
    expect(() => generateSampleFabric({ leaves: 0 })).toThrow(/leaves/);
    expect(() => generateSampleFabric({ vpcs: 1.5 })).toThrow(/vpcs/);
    expect(() => generateSampleFabric({ targetObjects: -3 })).toThrow(/targetObjects/);
  });
});

describe('withServerDefaults', () => {
  const objs = generateSampleFabric({ leaves: 12, serversPerLeaf: 8, seed: 3 });

  test('keeps every declared value, adds server-side ones, and does not mutate its input', () => {
    const before = JSON.stringify(objs);
    const served = objs.map((o) => withServerDefaults(o));
    expect(JSON.stringify(objs)).toBe(before);
    for (let i = 0; i < objs.length; i++) {
      expect({ key: key(objs[i]!), kept: declaredKept(objs[i]!.spec, served[i]!.spec) }).toEqual({
        key: key(objs[i]!),
        kept: true,
      });
      expect(served[i]!.metadata.name).toBe(objs[i]!.metadata.name);
    }
    // Applying it again changes nothing.
    expect(served.map((o) => withServerDefaults(o))).toEqual(served);
  });

  test('assigns switches unique ASNs (leaves) and IPs', () => {
    const sw = objs.filter((o) => o.kind === 'Switch').map((o) => withServerDefaults(o));
    const leaves = sw.filter((o) => o.spec.role !== 'spine');
    expect(new Set(leaves.map((o) => o.spec.asn)).size).toBe(leaves.length);
    for (const f of ['ip', 'protocolIP']) expect(new Set(sw.map((o) => o.spec[f])).size).toBe(sw.length);
    expect(new Set(leaves.map((o) => o.spec.vtepIP)).size).toBe(leaves.length);
    expect(sw.find((o) => o.spec.role === 'spine')!.spec.vtepIP).toBeUndefined();
    expect(sw[0]!.metadata.labels).toMatchObject({
      'fabric.githedgehog.com/profile': sw[0]!.spec.profile,
      'vlanns.fabric.githedgehog.com/default': 'true',
    });
  });

  test('fills CRD schema defaults and webhook defaults', () => {
    const spine = withServerDefaults(objs.find((o) => o.spec.role === 'spine')!);
    expect(spine.spec.linkFlapErrDisable).toEqual({ flapThreshold: 3, recoveryInterval: 300, samplingInterval: 30 });
    const vpc = withServerDefaults({
      apiVersion: 'vpc.githedgehog.com/v1beta1',
      kind: 'VPC',
      metadata: { name: 'v', namespace: 'default', labels: { team: 'a', 'fabric.githedgehog.com/vlanns': 'stale' } },
      spec: {
        subnets: {
          a: { subnet: '10.1.2.0/24', vlan: 1001, dhcp: { enable: true } },
          b: { subnet: '10.1.3.0/24', vlan: 1002 },
        },
      },
    });
    expect(vpc.spec).toEqual({
      ipv4Namespace: 'default',
      vlanNamespace: 'default',
      subnets: {
        a: {
          subnet: '10.1.2.0/24',
          vlan: 1001,
          gateway: '10.1.2.1',
          dhcp: { enable: true, range: { start: '10.1.2.2', end: '10.1.2.255' } },
        },
        b: { subnet: '10.1.3.0/24', vlan: 1002, gateway: '10.1.3.1', dhcp: {} },
      },
    });
    expect(vpc.metadata.labels).toEqual({
      team: 'a',
      'fabric.githedgehog.com/ipv4ns': 'default',
      'fabric.githedgehog.com/vlanns': 'default',
    });
    const att = withServerDefaults({
      apiVersion: 'vpc.githedgehog.com/v1beta1',
      kind: 'VPCAttachment',
      metadata: { name: 'x', namespace: 'default' },
      spec: { connection: 'c', subnet: 'vpc-9' },
    });
    expect(att.spec.subnet).toBe('vpc-9/default');
    expect(att.metadata.labels).toEqual({
      'fabric.githedgehog.com/vpc': 'vpc-9',
      'fabric.githedgehog.com/subnet': 'default',
      'fabric.githedgehog.com/connection': 'c',
    });
  });

  test('labels connections with their type and endpoints', () => {
    const conn = withServerDefaults(objs.find((o) => o.kind === 'Connection' && connType(o) === 'eslag')!);
    const devices = portsOf(conn).map((p) => p.port?.split('/')[0]);
    expect(conn.metadata.labels!['fabric.githedgehog.com/connection-type']).toBe('eslag');
    for (const d of devices)
      expect(Object.keys(conn.metadata.labels!)).toContain(
        d!.startsWith('server') ? `server.fabric.githedgehog.com/${d}` : `switch.fabric.githedgehog.com/${d}`,
      );
    expect(withServerDefaults(conn, 1, { labels: false }).metadata.labels).toEqual(conn.metadata.labels); // existing labels stay
    const plain = objs.find((o) => o.kind === 'Connection')!;
    expect(withServerDefaults(plain, 1, { labels: false }).metadata.labels).toBeUndefined();
  });
});

describe('toManifestFiles', () => {
  test('spreads objects over the requested number of per-kind files that parse back to them', () => {
    const objs = generateSampleFabric({ targetObjects: 600, seed: 9 });
    const files = toManifestFiles(objs, { files: 40 });
    const paths = Object.keys(files);
    expect(paths).toHaveLength(40);
    const back: KubeObjectLike[] = [];
    const bad: string[] = [];
    for (const p of paths) {
      const m = /^fabric\/([a-z0-9]+)\/(\d{3})\.yaml$/.exec(p);
      const text = files[p]!;
      const docs = parseAllDocuments(text);
      const parsed = docs.map((d) => d.toJS() as KubeObjectLike);
      if (!m) bad.push(`${p}: odd path`);
      if (!text.startsWith('# Hedgehog fabric manifests')) bad.push(`${p}: no header`);
      if (docs.some((d) => d.errors.length > 0)) bad.push(`${p}: YAML errors`);
      if (parsed.length === 0) bad.push(`${p}: empty`);
      if (parsed.some((o) => o.kind.toLowerCase() !== m?.[1])) bad.push(`${p}: holds another kind`);
      for (const o of parsed)
        if (!text.includes(`# ${o.kind} ${o.metadata.name}\n`)) bad.push(`${p}: no comment for ${key(o)}`);
      back.push(...parsed);
    }
    expect(bad).toEqual([]);
    const sortByKey = (list: KubeObjectLike[]) => [...list].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(sortByKey(back)).toEqual(sortByKey(objs));
  });

  test('gives every kind a file even when fewer are asked for; header and namespace options', () => {
    const demo = demoFabric();
    const files = toManifestFiles(demo, { files: 1, header: 'line one\nline two', omitDefaultNamespace: true });
    expect(Object.keys(files)).toHaveLength(Object.keys(countKinds(demo)).length);
    const sw = files['fabric/switch/001.yaml']!;
    expect(sw.startsWith('# line one\n# line two\n# Switch spine-01\n')).toBe(true);
    expect(sw).not.toContain('namespace:');
    expect(parseAllDocuments(sw).map((d) => (d.toJS() as KubeObjectLike).metadata.name)).toEqual(
      demo.filter((o) => o.kind === 'Switch').map((o) => o.metadata.name),
    );
    const noHeader = toManifestFiles(demo.slice(0, 1), { header: '' });
    expect(Object.values(noHeader)[0]!.startsWith('# IPv4Namespace default\napiVersion:')).toBe(true);
  });

  test('keeps strings that look like other YAML types as strings', () => {
    const demo = demoClusterFabric();
    const files = toManifestFiles(demo);
    const ext = parseAllDocuments(files['fabric/external/001.yaml']!)[0]!.toJS() as KubeObjectLike;
    expect(ext.spec.inboundCommunity).toBe('65102:5000');
    const sw = parseAllDocuments(files['fabric/switch/001.yaml']!).map((d) => d.toJS() as KubeObjectLike);
    expect(sw[0]!.metadata.labels!['vlanns.fabric.githedgehog.com/default']).toBe('true');
  });
});

// The real CRDs live beside the project when ../shared is there; the tests above stand alone.
const SHARED_CRDS = fileURLToPath(new URL('../../shared/hedgehog-crds', import.meta.url));
if (existsSync(SHARED_CRDS)) {
  describe('against the real Hedgehog CRDs (../shared/hedgehog-crds)', () => {
    const validators = new Map<string, ValidateFunction>();
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });

    /**
     * The API server prunes fields a structural schema does not know, so such a field would
     * vanish in the cluster (and show up as drift). Reject them here instead: every object
     * schema that lists properties and allows no others gets additionalProperties: false.
     */
    const closeSchema = (s: any, atRoot = false): any => {
      if (Array.isArray(s)) return s.map((x) => closeSchema(x));
      if (!s || typeof s !== 'object') return s;
      const out: any = {};
      for (const [k, v] of Object.entries(s)) {
        if (k.startsWith('x-kubernetes-')) continue;
        out[k] =
          k === 'properties'
            ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, closeSchema(ps)]))
            : k === 'default' || k === 'enum'
              ? v
              : closeSchema(v);
      }
      if (out.type === 'object' && out.properties && out.additionalProperties === undefined && !atRoot)
        out.additionalProperties = false;
      return out;
    };

    beforeAll(() => {
      for (const f of readdirSync(SHARED_CRDS).filter((n) => n.endsWith('.yaml'))) {
        const crd = parse(readFileSync(path.join(SHARED_CRDS, f), 'utf8'));
        for (const v of crd.spec.versions) {
          const schema = closeSchema(v.schema.openAPIV3Schema, true);
          validators.set(`${crd.spec.group}/${v.name}:${crd.spec.names.kind}`, ajv.compile(schema));
        }
      }
    });

    const check = (objs: KubeObjectLike[]) => {
      const failures: string[] = [];
      for (const o of objs) {
        const validate = validators.get(`${o.apiVersion}:${o.kind}`);
        if (!validate) {
          failures.push(`${key(o)}: no CRD`);
          continue;
        }
        if (!validate(o)) failures.push(`${key(o)}: ${ajv.errorsText(validate.errors)}`);
      }
      return failures;
    };

    test('there is a CRD for every catalog kind', () => {
      for (const k of FABRIC_KINDS) expect(validators.has(`${k.apiVersion}:${k.kind}`)).toBe(true);
    });

    test('every object of a mid-size fabric validates, as declared and as served', () => {
      const objs = generateSampleFabric({ targetObjects: 5000, seed: 11 });
      expect(new Set(objs.map((o) => o.kind)).size).toBeGreaterThanOrEqual(13);
      expect(check(objs)).toEqual([]);
      expect(check(objs.map((o) => withServerDefaults(o)))).toEqual([]);
    });

    test('the demo fabric and its Git variant validate', () => {
      expect(check(demoFabric())).toEqual([]);
      expect(check(demoClusterFabric())).toEqual([]);
      expect(check(demoGitFabric().objects)).toEqual([]);
      expect(check(generateSampleFabric({ leaves: 24, serversPerLeaf: 4, seed: 2 }))).toEqual([]);
    });

    test('the check is not vacuous: a wrong enum, a bad IP and an unknown field fail', () => {
      const demo = demoFabric();
      const sw = structuredClone(demo.find((o) => o.kind === 'Switch')!);
      sw.spec.role = 'core';
      const fab = structuredClone(demo.find((o) => o.kind === 'Connection' && connType(o) === 'fabric')!);
      (fab.spec.fabric as any).links[0].leaf.ip = '10.0.0.300/31';
      const vpc = structuredClone(demo.find((o) => o.kind === 'VPC')!);
      (vpc.spec as any).subnets.default.vlanId = 5;
      const failures = check([sw, fab, vpc]);
      expect(failures).toHaveLength(3);
      expect(failures[0]).toMatch(/allowed values/);
      expect(failures[1]).toMatch(/pattern/);
      expect(failures[2]).toMatch(/additional properties/);
    });
  });
}
