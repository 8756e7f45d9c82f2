import { fileURLToPath } from 'node:url';
import { loadCrdSchemasFromDir, schemaDefaultsFor, type SchemaDefaults } from '../src/crds/index.js';
import {
  computeDrift,
  normalizeSide,
  type DriftInput,
  type DriftOp,
  type DriftResult,
  type SideState,
} from '../src/drift/index.js';
import { wholeSideValue } from '../src/drift/compute-drift.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/crds', import.meta.url));

let switchDefaults: SchemaDefaults;
let connectionDefaults: SchemaDefaults;
beforeAll(async () => {
  const schemas = await loadCrdSchemasFromDir(FIXTURES);
  switchDefaults = schemaDefaultsFor(schemas, 'wiring.githedgehog.com/v1beta1', 'Switch')!;
  connectionDefaults = schemaDefaultsFor(schemas, 'wiring.githedgehog.com/v1beta1', 'Connection')!;
});

const side = (
  spec: Record<string, unknown>,
  labels?: Record<string, string>,
  annotations?: Record<string, string>,
): SideState => ({
  spec,
  ...(labels ? { labels } : {}),
  ...(annotations ? { annotations } : {}),
});

const drift = (over: Partial<DriftInput> & Pick<DriftInput, 'desired' | 'actual'>): DriftResult =>
  computeDrift({ kind: 'Server', name: 'server-01', ...over });

interface Case {
  name: string;
  input: () => Partial<DriftInput> & Pick<DriftInput, 'desired' | 'actual'>;
  status: DriftResult['status'];
  differences?: DriftOp[];
  extras?: DriftOp[];
  score?: number;
  severity?: DriftResult['severity'];
  comparedPaths?: number;
}

const link = (i: number, extra: Record<string, unknown> = {}) => ({
  leaf: { port: `leaf-01/E1/${i}`, ip: `172.30.30.${2 * i + 1}/31` },
  spine: { port: `spine-01/E1/${i}`, ip: `172.30.30.${2 * i}/31` },
  ...extra,
});
const fabricConn = (links: unknown[]) => ({ fabric: { links } });

const cases: Record<string, Case[]> = {
  normalization: [
    {
      name: 'key order does not matter',
      input: () => ({ desired: side({ a: 1, b: { c: 2, d: 3 } }), actual: side({ b: { d: 3, c: 2 }, a: 1 }) }),
      status: 'in_sync',
      score: 0,
      severity: 'none',
      comparedPaths: 3,
    },
    {
      name: '1 and 1.0 are the same number',
      input: () => ({ desired: side({ mtu: 9000 }), actual: side(JSON.parse('{"mtu": 9000.0}')) }),
      status: 'in_sync',
    },
    {
      name: 'a numeric string is not a number',
      input: () => ({ desired: side({ vlan: '1001' }), actual: side({ vlan: 1001 }) }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/vlan', desired: '1001', actual: 1001 }],
      score: 1,
    },
    {
      name: 'null and empty collections equal absence, both ways, and are not extras',
      input: () => ({
        desired: side({ profile: 'p', description: null, groups: [], boot: {} }),
        actual: side({ profile: 'p', ecmp: {}, portSpeeds: { x: null } }),
      }),
      status: 'in_sync',
      extras: [],
    },
    {
      name: 'zero values are values: false vs absent is drift',
      input: () => ({ desired: side({ enableAllPorts: false }), actual: side({}) }),
      status: 'spec_drift',
      differences: [{ op: 'add', path: '/spec/enableAllPorts', desired: false }],
    },
    {
      name: 'a type change is one replace',
      input: () => ({ desired: side({ boot: 'pxe' }), actual: side({ boot: { mac: 'aa' } }) }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/boot', desired: 'pxe', actual: { mac: 'aa' } }],
    },
    {
      name: 'server metadata, status and the last-applied annotation (normalized from full objects) are never drift',
      input: () => ({
        desired: normalizeSide({ metadata: { labels: { a: '1' } }, spec: { profile: 'p' } }),
        actual: normalizeSide({
          metadata: {
            labels: { a: '1', 'kustomize.toolkit.fluxcd.io/name': 'fabric' },
            annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
            resourceVersion: '9',
            uid: 'u',
            generation: 3,
            managedFields: [{}],
            creationTimestamp: 'now',
          },
          spec: { profile: 'p' },
          status: { ok: true },
        } as never),
      }),
      status: 'in_sync',
      extras: [],
    },
    {
      name: 'tool-written annotations are skipped even when the sides were not normalized',
      input: () => ({
        desired: side({}, {}, { 'kubectl.kubernetes.io/last-applied-configuration': 'old' }),
        actual: side(
          {},
          { 'helm.toolkit.fluxcd.io/name': 'x' },
          { 'kubectl.kubernetes.io/last-applied-configuration': 'new', 'argocd.argoproj.io/tracking-id': 't' },
        ),
      }),
      status: 'in_sync',
      extras: [],
      comparedPaths: 0,
    },
  ],

  'server defaults and extras': [
    {
      name: 'a controller fill-in (assigned ASN) is an extra, not drift',
      input: () => ({
        kind: 'Switch',
        desired: side({ role: 'server-leaf' }),
        actual: side({ role: 'server-leaf', asn: 65101 }),
      }),
      status: 'in_sync',
      differences: [],
      extras: [{ op: 'remove', path: '/spec/asn', actual: 65101 }],
      score: 0,
      severity: 'none',
      comparedPaths: 1,
    },
    {
      name: 'extras equal to the CRD schema default are left out',
      input: () => ({
        kind: 'Switch',
        schemaDefaults: switchDefaults,
        desired: side({ role: 'spine', linkFlapErrDisable: { flapThreshold: 5 } }),
        actual: side({
          role: 'spine',
          linkFlapErrDisable: { flapThreshold: 5, recoveryInterval: 600, samplingInterval: 30 },
        }),
      }),
      status: 'in_sync',
      extras: [{ op: 'remove', path: '/spec/linkFlapErrDisable/recoveryInterval', actual: 600 }],
    },
    {
      name: 'without schema defaults the same fill-ins are all listed',
      input: () => ({
        kind: 'Switch',
        desired: side({ role: 'spine', linkFlapErrDisable: { flapThreshold: 5 } }),
        actual: side({
          role: 'spine',
          linkFlapErrDisable: { flapThreshold: 5, recoveryInterval: 600, samplingInterval: 30 },
        }),
      }),
      status: 'in_sync',
      extras: [
        { op: 'remove', path: '/spec/linkFlapErrDisable/recoveryInterval', actual: 600 },
        { op: 'remove', path: '/spec/linkFlapErrDisable/samplingInterval', actual: 30 },
      ],
    },
    {
      name: 'an extra subtree is one op, its schema-default members pruned',
      input: () => ({
        kind: 'Switch',
        schemaDefaults: switchDefaults,
        desired: side({ role: 'spine' }),
        actual: side({
          role: 'spine',
          linkFlapErrDisable: { flapThreshold: 3, recoveryInterval: 0, samplingInterval: 30 },
        }),
      }),
      status: 'in_sync',
      extras: [{ op: 'remove', path: '/spec/linkFlapErrDisable', actual: { recoveryInterval: 0 } }],
    },
    {
      name: 'an extra subtree made only of defaults disappears',
      input: () => ({
        kind: 'Switch',
        schemaDefaults: switchDefaults,
        desired: side({ role: 'spine' }),
        actual: side({
          role: 'spine',
          linkFlapErrDisable: { flapThreshold: 3, recoveryInterval: 300, samplingInterval: 30 },
        }),
      }),
      status: 'in_sync',
      extras: [],
    },
    {
      name: 'a desired value that differs is drift even when the actual one is the schema default',
      input: () => ({
        kind: 'Switch',
        schemaDefaults: switchDefaults,
        desired: side({ role: 'spine', linkFlapErrDisable: { flapThreshold: 5 } }),
        actual: side({ role: 'spine', linkFlapErrDisable: { flapThreshold: 3 } }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/linkFlapErrDisable/flapThreshold', desired: 5, actual: 3 }],
      score: 0.5,
      severity: 'high',
    },
    {
      name: 'a server default inside array items is an extra (schema default left out)',
      input: () => ({
        kind: 'Connection',
        schemaDefaults: connectionDefaults,
        desired: side(fabricConn([link(1), link(2)])),
        actual: side(fabricConn([link(1, { speed: 'auto' }), link(2, { speed: '100G' })])),
      }),
      status: 'in_sync',
      extras: [{ op: 'remove', path: '/spec/fabric/links/1/speed', actual: '100G' }],
      comparedPaths: 8,
    },
  ],

  'previously declared fields': [
    {
      name: 'a field the previous desired spec declared is a removal not yet applied',
      input: () => ({
        kind: 'Switch',
        previousDesiredSpec: { role: 'spine', asn: 65101 },
        desired: side({ role: 'spine' }),
        actual: side({ role: 'spine', asn: 65101 }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'remove', path: '/spec/asn', actual: 65101 }],
      extras: [],
      score: 0.5,
      severity: 'critical',
      comparedPaths: 2,
    },
    {
      name: 'inside a removed object, what was declared is drift and the rest extras',
      input: () => ({
        kind: 'Switch',
        previousDesiredSpec: { role: 'spine', boot: { mac: '0c:20' } },
        desired: side({ role: 'spine' }),
        actual: side({ role: 'spine', boot: { mac: '0c:20', serial: 'SN1' } }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'remove', path: '/spec/boot/mac', actual: '0c:20' }],
      extras: [{ op: 'remove', path: '/spec/boot/serial', actual: 'SN1' }],
    },
    {
      name: 'a removed field the server set back to its schema default is in sync',
      input: () => ({
        kind: 'Switch',
        schemaDefaults: switchDefaults,
        previousDesiredSpec: { role: 'spine', linkFlapErrDisable: { flapThreshold: 5 } },
        desired: side({ role: 'spine', linkFlapErrDisable: { samplingInterval: 60 } }),
        actual: side({ role: 'spine', linkFlapErrDisable: { flapThreshold: 3, samplingInterval: 60 } }),
      }),
      status: 'in_sync',
      extras: [],
    },
    {
      name: 'previously declared array items: objects in arrays follow the previous spec too',
      input: () => ({
        kind: 'Connection',
        previousDesiredSpec: fabricConn([link(1, { speed: '25G' })]),
        desired: side(fabricConn([link(1)])),
        actual: side(fabricConn([link(1, { speed: '25G' })])),
      }),
      status: 'spec_drift',
      differences: [{ op: 'remove', path: '/spec/fabric/links/0/speed', actual: '25G' }],
    },
    {
      name: 'previously declared labels, when the caller keeps them',
      input: () => ({
        previousDesiredMetadata: { labels: { team: 'net' } },
        desired: side({}, {}),
        actual: side({}, { team: 'net', 'fabric.githedgehog.com/profile': 'vs' }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'remove', path: '/metadata/labels/team', actual: 'net' }],
      extras: [{ op: 'remove', path: '/metadata/labels/fabric.githedgehog.com~1profile', actual: 'vs' }],
      severity: 'low',
    },
  ],

  'ignore rules': [
    {
      name: 'kind-scoped rule applies to its kind',
      input: () => ({
        kind: 'Switch',
        ignore: [{ pointer: '/spec/asn', kind: 'Switch' }],
        desired: side({ role: 'spine', asn: 1 }),
        actual: side({ role: 'spine', asn: 2 }),
      }),
      status: 'in_sync',
      comparedPaths: 1,
    },
    {
      name: 'kind-scoped rule leaves other kinds alone',
      input: () => ({
        kind: 'Server',
        ignore: [{ pointer: '/spec/asn', kind: 'Switch' }],
        desired: side({ asn: 1 }),
        actual: side({ asn: 2 }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/asn', desired: 1, actual: 2 }],
    },
    {
      name: 'name-scoped rule applies to that object',
      input: () => ({
        kind: 'Switch',
        name: 'leaf-01',
        ignore: [{ pointer: '/spec/description', kind: 'Switch', name: 'leaf-01' }],
        desired: side({ role: 'spine', description: 'a' }),
        actual: side({ role: 'spine', description: 'b' }),
      }),
      status: 'in_sync',
    },
    {
      name: 'name-scoped rule leaves other names alone',
      input: () => ({
        kind: 'Switch',
        name: 'leaf-02',
        ignore: [{ pointer: '/spec/description', kind: 'Switch', name: 'leaf-01' }],
        desired: side({ role: 'spine', description: 'a' }),
        actual: side({ role: 'spine', description: 'b' }),
      }),
      status: 'spec_drift',
    },
    {
      name: 'a fabric-wide rule (no kind) with a * segment covers every array item',
      input: () => ({
        kind: 'Connection',
        ignore: [{ pointer: '/spec/fabric/links/*/leaf/ip' }],
        desired: side(fabricConn([link(1), link(2)])),
        actual: side(
          fabricConn([
            link(1, { leaf: { port: 'leaf-01/E1/1', ip: '10.0.0.1/31' } }),
            link(2, { leaf: { port: 'leaf-01/E1/2', ip: '10.0.0.3/31' } }),
          ]),
        ),
      }),
      status: 'in_sync',
      comparedPaths: 6,
    },
    {
      name: 'an ignored subtree is hidden from extras and from pending removals',
      input: () => ({
        kind: 'Switch',
        ignore: [{ pointer: '/spec/asn' }, { pointer: '/spec/boot' }],
        previousDesiredSpec: { role: 'spine', boot: { mac: 'x' } },
        desired: side({ role: 'spine' }),
        actual: side({ role: 'spine', asn: 65101, boot: { mac: 'x' } }),
      }),
      status: 'in_sync',
      extras: [],
    },
    {
      name: 'ignored members are cut out of reported values',
      input: () => ({
        ignore: [{ pointer: '/spec/boot/serial' }],
        desired: side({ boot: { mac: 'm', serial: 's' } }),
        actual: side({}),
      }),
      status: 'spec_drift',
      differences: [{ op: 'add', path: '/spec/boot', desired: { mac: 'm' } }],
    },
    {
      name: 'labels and annotations can be ignored by key (escaped pointer)',
      input: () => ({
        ignore: [{ pointer: '/metadata/labels/fabric.githedgehog.com~1owner' }, { pointer: '/metadata/annotations' }],
        desired: side({}, { 'fabric.githedgehog.com/owner': 'a' }, { note: 'x' }),
        actual: side({}, { 'fabric.githedgehog.com/owner': 'b' }, { note: 'y' }),
      }),
      status: 'in_sync',
    },
  ],

  arrays: [
    {
      name: 'order matters: swapped links are drift',
      input: () => ({
        kind: 'Connection',
        desired: side(fabricConn([link(1), link(2)])),
        actual: side(fabricConn([link(2), link(1)])),
      }),
      status: 'spec_drift',
      differences: [
        { op: 'replace', path: '/spec/fabric/links/0/leaf/port', desired: 'leaf-01/E1/1', actual: 'leaf-01/E1/2' },
        { op: 'replace', path: '/spec/fabric/links/0/leaf/ip', desired: '172.30.30.3/31', actual: '172.30.30.5/31' },
        { op: 'replace', path: '/spec/fabric/links/0/spine/port', desired: 'spine-01/E1/1', actual: 'spine-01/E1/2' },
        { op: 'replace', path: '/spec/fabric/links/0/spine/ip', desired: '172.30.30.2/31', actual: '172.30.30.4/31' },
        { op: 'replace', path: '/spec/fabric/links/1/leaf/port', desired: 'leaf-01/E1/2', actual: 'leaf-01/E1/1' },
        { op: 'replace', path: '/spec/fabric/links/1/leaf/ip', desired: '172.30.30.5/31', actual: '172.30.30.3/31' },
        { op: 'replace', path: '/spec/fabric/links/1/spine/port', desired: 'spine-01/E1/2', actual: 'spine-01/E1/1' },
        { op: 'replace', path: '/spec/fabric/links/1/spine/ip', desired: '172.30.30.4/31', actual: '172.30.30.2/31' },
      ],
      score: 1,
      severity: 'critical',
    },
    {
      name: 'a link only Git has is added at its index',
      input: () => ({ desired: side(fabricConn([link(1), link(2)])), actual: side(fabricConn([link(1)])) }),
      status: 'spec_drift',
      differences: [{ op: 'add', path: '/spec/fabric/links/1', desired: link(2) }],
      score: 0.5,
      comparedPaths: 8,
    },
    {
      name: 'trailing items only the cluster has are drift (not extras), removed last first',
      input: () => ({ desired: side({ groups: ['a'] }), actual: side({ groups: ['a', 'b', 'c'] }) }),
      status: 'spec_drift',
      differences: [
        { op: 'remove', path: '/spec/groups/2', actual: 'c' },
        { op: 'remove', path: '/spec/groups/1', actual: 'b' },
      ],
      extras: [],
      comparedPaths: 3,
    },
    {
      name: 'scalar lists compare index by index',
      input: () => ({ desired: side({ groups: ['a', 'b'] }), actual: side({ groups: ['a', 'c'] }) }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/groups/1', desired: 'b', actual: 'c' }],
      score: 0.5,
    },
    {
      name: 'null items are values in arrays',
      input: () => ({ desired: side({ l: [null, 1] }), actual: side({ l: [0, 1] }) }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/l/0', desired: null, actual: 0 }],
    },
    {
      name: 'a whole array only the cluster has is an extra',
      input: () => ({ desired: side({}), actual: side({ vlanNamespaces: ['default'] }) }),
      status: 'in_sync',
      extras: [{ op: 'remove', path: '/spec/vlanNamespaces', actual: ['default'] }],
    },
  ],

  'labels vs spec': [
    {
      name: 'a label difference alone is spec_drift with low severity',
      input: () => ({ desired: side({ profile: 'p' }, { app: 'a' }), actual: side({ profile: 'p' }, { app: 'b' }) }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/metadata/labels/app', desired: 'a', actual: 'b' }],
      score: 0.5,
      severity: 'low',
      comparedPaths: 2,
    },
    {
      name: 'a missing label and a missing annotation are add ops; keys are escaped',
      input: () => ({ desired: side({}, { 'a/b': '1' }, { 'x~y': '2' }), actual: side({}) }),
      status: 'spec_drift',
      differences: [
        { op: 'add', path: '/metadata/labels/a~1b', desired: '1' },
        { op: 'add', path: '/metadata/annotations/x~0y', desired: '2' },
      ],
    },
    {
      name: 'labels only the cluster has (webhook-set) are extras',
      input: () => ({
        desired: side({}, { app: 'a' }),
        actual: side({}, { app: 'a', 'vlanns.fabric.githedgehog.com/default': 'true' }),
      }),
      status: 'in_sync',
      extras: [{ op: 'remove', path: '/metadata/labels/vlanns.fabric.githedgehog.com~1default', actual: 'true' }],
    },
    {
      name: 'a spec field named like a label is not confused with it',
      input: () => ({
        desired: side({ labels: { app: 'a' } }, { app: 'b' }),
        actual: side({ labels: { app: 'b' } }, { app: 'b' }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/labels/app', desired: 'a', actual: 'b' }],
    },
    {
      name: 'long annotation values are truncated in details, compared in full',
      input: () => ({
        desired: side({}, {}, { big: 'x'.repeat(2000) + 'A' }),
        actual: side({}, {}, { big: 'x'.repeat(2000) + 'B' }),
      }),
      status: 'spec_drift',
      differences: [
        {
          op: 'replace',
          path: '/metadata/annotations/big',
          desired: `${'x'.repeat(1024)}…[truncated 977 characters]`,
          actual: `${'x'.repeat(1024)}…[truncated 977 characters]`,
        },
      ],
    },
  ],

  'score and severity': [
    {
      name: 'one of four leaves differs: 0.25, medium',
      input: () => ({
        kind: 'Server',
        desired: side({ a: 1, b: 2, c: { d: 3, e: 4 } }),
        actual: side({ a: 1, b: 2, c: { d: 3, e: 5 } }),
      }),
      status: 'spec_drift',
      score: 0.25,
      severity: 'medium',
      comparedPaths: 4,
    },
    {
      name: 'a missing subtree counts its leaves: 3 of 4, high',
      input: () => ({ kind: 'Server', desired: side({ a: 1, c: { d: 3, e: 4, f: [5] } }), actual: side({ a: 1 }) }),
      status: 'spec_drift',
      differences: [{ op: 'add', path: '/spec/c', desired: { d: 3, e: 4, f: [5] } }],
      score: 0.75,
      severity: 'high',
      comparedPaths: 4,
    },
    {
      name: 'extras do not count',
      input: () => ({
        kind: 'Server',
        desired: side({ a: 1, b: 2 }),
        actual: side({ a: 1, b: 3, x: 1, y: 2, z: { w: 3 } }),
      }),
      status: 'spec_drift',
      score: 0.5,
      comparedPaths: 2,
    },
    {
      name: 'a critical path (VPC subnet VLAN) is critical whatever the score',
      input: () => ({
        kind: 'VPC',
        desired: side({
          subnets: {
            default: { subnet: '10.0.1.0/24', vlan: 1001, dhcp: { enable: true, range: { start: '10.0.1.10' } } },
          },
        }),
        actual: side({
          subnets: {
            default: { subnet: '10.0.1.0/24', vlan: 1002, dhcp: { enable: true, range: { start: '10.0.1.10' } } },
          },
        }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'replace', path: '/spec/subnets/default/vlan', desired: 1001, actual: 1002 }],
      score: 0.25,
      severity: 'critical',
    },
    {
      name: 'adding a whole subnet touches its critical subnet/vlan',
      input: () => ({
        kind: 'VPC',
        desired: side({ subnets: { a: { subnet: '10.0.1.0/24' }, b: { subnet: '10.0.2.0/24' } } }),
        actual: side({ subnets: { a: { subnet: '10.0.1.0/24' } } }),
      }),
      status: 'spec_drift',
      differences: [{ op: 'add', path: '/spec/subnets/b', desired: { subnet: '10.0.2.0/24' } }],
      severity: 'critical',
    },
    {
      name: 'a non-critical VPC field stays medium',
      input: () => ({
        kind: 'VPC',
        desired: side({ subnets: { a: { subnet: '10.0.1.0/24', vlan: 1, isolated: true } } }),
        actual: side({ subnets: { a: { subnet: '10.0.1.0/24', vlan: 1, isolated: false } } }),
      }),
      status: 'spec_drift',
      severity: 'medium',
    },
  ],

  'whole-object statuses': [
    {
      name: 'declared in Git, missing from the cluster: desired_only, score 1, high',
      input: () => ({ desired: side({ profile: 'p', description: null }, { app: 'a' }), actual: null }),
      status: 'desired_only',
      differences: [{ op: 'add', path: '', desired: { metadata: { labels: { app: 'a' } }, spec: { profile: 'p' } } }],
      score: 1,
      severity: 'high',
      comparedPaths: 2,
    },
    {
      name: 'just changed in Git: creation_pending, low',
      input: () => ({ desired: side({ profile: 'p' }), actual: null, pending: { desiredChangedRecently: true } }),
      status: 'creation_pending',
      score: 1,
      severity: 'low',
    },
    {
      name: 'in the cluster only: actual_only, score 1, medium',
      input: () => ({
        desired: null,
        actual: side({ profile: 'p' }, {}, { 'kubectl.kubernetes.io/last-applied-configuration': '{}' }),
      }),
      status: 'actual_only',
      differences: [{ op: 'remove', path: '', actual: { spec: { profile: 'p' } } }],
      score: 1,
      severity: 'medium',
    },
    {
      name: 'just removed from Git: deletion_pending, low',
      input: () => ({ desired: null, actual: side({ profile: 'p' }), pending: { desiredRemovedRecently: true } }),
      status: 'deletion_pending',
      severity: 'low',
    },
    {
      name: 'pending flags for the other direction do not apply',
      input: () => ({ desired: null, actual: side({ profile: 'p' }), pending: { desiredChangedRecently: true } }),
      status: 'actual_only',
    },
    {
      name: 'neither side: nothing to compare',
      input: () => ({ desired: null, actual: null }),
      status: 'in_sync',
      score: 0,
      differences: [],
      comparedPaths: 0,
    },
  ],

  'strict mode': [
    {
      name: 'fields only the cluster has are differences, not extras; schema defaults and previous spec ignored',
      input: () => ({
        kind: 'Switch',
        strict: true,
        schemaDefaults: switchDefaults,
        previousDesiredSpec: { role: 'spine', boot: { mac: 'm' } },
        desired: side({ role: 'spine' }, {}),
        actual: side(
          { role: 'spine', asn: 65101, boot: { mac: 'm', serial: 's' }, linkFlapErrDisable: { flapThreshold: 3 } },
          { x: '1' },
        ),
      }),
      status: 'spec_drift',
      differences: [
        { op: 'remove', path: '/spec/asn', actual: 65101 },
        { op: 'remove', path: '/spec/boot', actual: { mac: 'm', serial: 's' } },
        { op: 'remove', path: '/spec/linkFlapErrDisable', actual: { flapThreshold: 3 } },
        { op: 'remove', path: '/metadata/labels/x', actual: '1' },
      ],
      extras: [],
      score: 5 / 6,
      comparedPaths: 6,
    },
  ],
};

describe.each(Object.entries(cases))('computeDrift: %s', (_group, list) => {
  test.each(list.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const result = drift(c.input());
    expect(result.status).toBe(c.status);
    if (c.differences) expect(result.differences).toEqual(c.differences);
    if (c.extras) expect(result.extras).toEqual(c.extras);
    if (c.score !== undefined) expect(result.score).toBeCloseTo(c.score, 10);
    if (c.severity) expect(result.severity).toBe(c.severity);
    if (c.comparedPaths !== undefined) expect(result.comparedPaths).toBe(c.comparedPaths);
    // Invariants of every result.
    expect(result.score).toBeGreaterThanOrEqual(0);
    expect(result.score).toBeLessThanOrEqual(1);
    expect(result.differences.length > 0).toBe(result.status !== 'in_sync');
    if (result.status === 'in_sync') expect(result.severity).toBe('none');
  });
});

describe('computeDrift: bad input', () => {
  test('an invalid ignore rule is a clear error', () => {
    expect(() => drift({ desired: side({}), actual: side({}), ignore: [{ pointer: 'spec/asn' }] })).toThrow(
      /must start with "\/"/,
    );
    expect(() => drift({ desired: side({}), actual: side({}), ignore: [{ pointer: '/status/x' }] })).toThrow(
      /must start with \/spec or \/metadata/,
    );
    expect(() => drift({ desired: side({}), actual: side({}), ignore: [{ pointer: '' }] })).toThrow(/empty pointer/);
    expect(() => drift({ desired: side({}), actual: side({}), ignore: [{ pointer: '/metadata/name' }] })).toThrow(
      /only \/metadata\/labels/,
    );
    expect(() => drift({ desired: side({}), actual: side({}), ignore: [{ pointer: '/spec/a~2b' }] })).toThrow(
      /"~" must be followed by 0 or 1/,
    );
  });

  test('a spec that is not an object names the object', () => {
    expect(() => drift({ desired: { spec: [] as never }, actual: side({}) })).toThrow(
      /Server server-01: the desired spec must be an object/,
    );
  });

  test('the inputs are not modified', () => {
    const desired = side({ a: { b: [1, { c: null }] }, d: null }, { l: 'x' });
    const actual = side({ a: { b: [2] }, e: {} }, { l: 'y', m: 'z' });
    const before = JSON.stringify([desired, actual]);
    drift({ desired, actual, previousDesiredSpec: { e: 1 }, ignore: [{ pointer: '/spec/a/b/*/c' }] });
    expect(JSON.stringify([desired, actual])).toBe(before);
  });
});

describe('omitWholeValue (a store that keeps the sides itself)', () => {
  const side = { spec: { role: 'server-leaf', ports: [1, 2] }, labels: { rack: 'r1' }, annotations: {} };
  test.each([
    ['desired only', { desired: side, actual: null }, 'add', 'desired'],
    ['actual only', { desired: null, actual: side }, 'remove', 'actual'],
  ] as const)(
    '%s: same status, score and severity; the root op has no value; wholeSideValue rebuilds it',
    (_, sides, op, key) => {
      const full = computeDrift({ kind: 'Switch', name: 'leaf-1', ...sides });
      const lean = computeDrift({ kind: 'Switch', name: 'leaf-1', ...sides, omitWholeValue: true });
      expect(lean).toMatchObject({
        status: full.status,
        score: full.score,
        severity: full.severity,
        comparedPaths: full.comparedPaths,
      });
      expect(lean.differences).toEqual([{ op, path: '' }]);
      expect(wholeSideValue(side, 'Switch', 'leaf-1')).toEqual(
        (full.differences[0] as unknown as Record<string, unknown>)[key],
      );
    },
  );
});
