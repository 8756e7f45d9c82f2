/**
 * Drift benchmark: computeDrift over 10,000 realistic desired/actual pairs (target: under 300 ms).
 *
 * The pairs look like a mid-size fabric: connections with link lists, servers, VPC attachments, switches
 * with controller fill-ins (ASN) and CRD defaults, VPCs with subnets; actual objects carry webhook labels
 * and kubectl's last-applied annotation (a copy of the manifest); about one in ten objects drifts (changed
 * value, extra link, pending removal). Ignore rules and schema defaults are on, as in a real sync.
 * Inputs are built before the clock starts: the bench measures the engine, not the generator.
 *
 * `benchDrift()` is called by the bench runner; `node dist/bench/drift-bench.js` runs it alone.
 */
import { pathToFileURL } from 'node:url';
import { crdSchemasFromObjects, schemaDefaultsFor } from '../src/crds/index.js';
import { computeDrift, type DriftInput, type IgnoreRule, type SideState } from '../src/drift/index.js';

const PAIRS = 10_000;
const TARGET_MS = 300;

/** The Switch schema's defaults, as the real CRD declares them (linkFlapErrDisable). */
const schemas = crdSchemasFromObjects([
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'switches.wiring.githedgehog.com' },
    spec: {
      group: 'wiring.githedgehog.com',
      names: { kind: 'Switch', plural: 'switches' },
      versions: [
        {
          name: 'v1beta1',
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: {
                  type: 'object',
                  properties: {
                    linkFlapErrDisable: {
                      type: 'object',
                      properties: {
                        flapThreshold: { type: 'integer', default: 3 },
                        recoveryInterval: { type: 'integer', default: 300 },
                        samplingInterval: { type: 'integer', default: 30 },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      ],
    },
  },
]);
const switchDefaults = schemaDefaultsFor(schemas, 'wiring.githedgehog.com/v1beta1', 'Switch');

const ignore: readonly IgnoreRule[] = [
  { pointer: '/metadata/annotations/fabric.githedgehog.com~1last-seen' },
  { pointer: '/spec/description', kind: 'Server' },
  { pointer: '/spec/portSpeeds/*', kind: 'Switch', name: 'leaf-7' },
];

function desiredFor(i: number): {
  kind: string;
  name: string;
  spec: Record<string, unknown>;
  labels: Record<string, string>;
} {
  const r = i % 20;
  if (r < 7) {
    const links = Array.from({ length: 1 + (i % 4) }, (_, j) => ({
      server: { port: `server-${i}/enp2s${j}` },
      switch: { port: `leaf-${i % 16}/E1/${(i + j) % 48}` },
    }));
    return {
      kind: 'Connection',
      name: `server-${i}--bundled--leaf-${i % 16}`,
      spec: { bundled: { links, mtu: 9036 } },
      labels: { 'app.kubernetes.io/part-of': 'fabric' },
    };
  }
  if (r < 11)
    return {
      kind: 'Server',
      name: `server-${i}`,
      spec: { description: `rack ${i % 40} unit ${i % 42}`, profile: 'default' },
      labels: {},
    };
  if (r < 15)
    return {
      kind: 'VPCAttachment',
      name: `vpc-${i % 200}--s${i}`,
      spec: {
        connection: `server-${i}--bundled--leaf-${i % 16}`,
        subnet: `vpc-${i % 200}/default`,
        nativeVLAN: i % 3 === 0,
      },
      labels: {},
    };
  if (r < 18) {
    const subnets: Record<string, unknown> = {};
    for (let s = 0; s < 1 + (i % 3); s++) {
      subnets[`subnet-${s}`] = {
        subnet: `10.${i % 250}.${s}.0/24`,
        gateway: `10.${i % 250}.${s}.1`,
        vlan: 1000 + s,
        dhcp: { enable: true, range: { start: `10.${i % 250}.${s}.10` } },
      };
    }
    return {
      kind: 'VPC',
      name: `vpc-${i}`,
      spec: { ipv4Namespace: 'default', vlanNamespace: 'default', subnets, permit: [['subnet-0', 'subnet-1']] },
      labels: { team: `t${i % 7}` },
    };
  }
  return {
    kind: 'Switch',
    name: `leaf-${i % 64}`,
    spec: {
      role: 'server-leaf',
      description: `leaf ${i}`,
      profile: 'dell-s5248f-on',
      groups: ['mclag-1'],
      redundancy: { group: 'mclag-1', type: 'mclag' },
      vlanNamespaces: ['default'],
      portBreakouts: { 'E1/55': '4x25G' },
      portSpeeds: { 'E1/1': '25G', 'E1/2': '25G' },
      linkFlapErrDisable: { flapThreshold: 5 },
      boot: { mac: `0c:20:12:fe:${(i % 256).toString(16).padStart(2, '0')}:01` },
    },
    labels: {},
  };
}

/** The cluster's copy of a spec, with the fields this bench edits to make drift (desiredFor builds them). */
type ClusterSpec = Record<string, unknown> & {
  asn?: number;
  linkFlapErrDisable?: Record<string, unknown>;
  description?: string;
  legacy?: boolean;
  bundled?: { links: unknown[] };
  subnets?: Record<string, { vlan?: number }>;
};

function buildInputs(n: number): DriftInput[] {
  const inputs: DriftInput[] = [];
  for (let i = 0; i < n; i++) {
    const d = desiredFor(i);
    const desired: SideState = { spec: d.spec, labels: d.labels, annotations: {} };
    // The cluster's copy: parsed from JSON like a real response, so no object is shared with Git's.
    const spec = JSON.parse(JSON.stringify(d.spec)) as ClusterSpec;
    const labels: Record<string, string> = { ...d.labels };
    const annotations: Record<string, string> = {
      'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
        kind: d.kind,
        metadata: { name: d.name },
        spec: d.spec,
      }),
    };
    let previousDesiredSpec: Record<string, unknown> | null = null;
    if (d.kind === 'Switch') {
      spec.asn = 65100 + (i % 64); // controller fill-in: an extra
      spec.linkFlapErrDisable = { ...spec.linkFlapErrDisable, recoveryInterval: 300, samplingInterval: 30 }; // CRD defaults
      labels['fabric.githedgehog.com/profile'] = 'dell-s5248f-on'; // webhook label
    }
    if (d.kind === 'Connection') labels['fabric.githedgehog.com/connection-type'] = 'bundled';
    // About one object in ten drifts, in different ways.
    switch (i % 97) {
      case 3:
      case 41:
        if (d.kind === 'Connection')
          spec.bundled!.links.push({ server: { port: 'x/eth9' }, switch: { port: 'leaf-0/E1/48' } });
        else spec.description = 'changed by hand';
        break;
      case 17:
        previousDesiredSpec = { ...d.spec, legacy: true };
        spec.legacy = true; // removed from Git, still in the cluster
        break;
      case 29:
        labels['app.kubernetes.io/part-of'] = 'other';
        break;
      default:
        if (i % 11 === 0 && d.kind === 'VPC') spec.subnets!['subnet-0']!.vlan = 2000;
    }
    inputs.push({
      kind: d.kind,
      name: d.name,
      desired,
      actual: { spec, labels, annotations },
      previousDesiredSpec,
      ignore,
      schemaDefaults: d.kind === 'Switch' ? switchDefaults : null,
    });
  }
  return inputs;
}

function timedPass(inputs: readonly DriftInput[]): { ms: number; drifted: number } {
  // Collect earlier garbage first when the runner allows it (node --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.hrtime.bigint();
  let drifted = 0;
  for (const input of inputs) if (computeDrift(input).status !== 'in_sync') drifted++;
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, drifted };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * `ms`: the first pass over the 10,000 pairs, after a short warm-up on 1,000 other pairs (what a sync
 * pays). `steadyMs`: the median of three further passes (what a long-running watcher pays once the JIT
 * has done its work).
 */
export function benchDrift(): { pairs: number; ms: number; steadyMs: number; drifted: number } {
  const inputs = buildInputs(PAIRS);
  for (const input of buildInputs(1_000)) computeDrift(input);
  const first = timedPass(inputs);
  const more = [timedPass(inputs).ms, timedPass(inputs).ms, timedPass(inputs).ms].sort((a, b) => a - b);
  return { pairs: PAIRS, ms: round(first.ms), steadyMs: round(more[1]!), drifted: first.drifted };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { pairs, ms, steadyMs, drifted } = benchDrift();
  const verdict = ms < TARGET_MS ? 'ok' : 'SLOW';
  console.log(
    `drift: ${pairs} pairs in ${ms} ms (steady state ${steadyMs} ms; ${drifted} drifted) — target < ${TARGET_MS} ms: ${verdict}`,
  );
  if (ms >= TARGET_MS) process.exitCode = 1;
}
