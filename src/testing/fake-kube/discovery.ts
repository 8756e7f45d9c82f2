/**
 * Discovery documents: /api (APIVersions), /apis (APIGroupList), /apis/{g} (APIGroup),
 * /apis/{g}/{v} (APIResourceList) and /version, built from the served kinds. When CRD objects are given,
 * their names (singular, shortNames, categories) enrich the resource entries, and the apiextensions.k8s.io
 * group is served too.
 */
import { createHash } from 'node:crypto';
import type { KindInfo } from '../../kube/catalog.js';

export const CRD_GROUP = 'apiextensions.k8s.io';
export const CRD_VERSION = 'v1';
export const CRD_PLURAL = 'customresourcedefinitions';

/** Verbs a CustomResourceDefinition's resource has on a real server. */
const CR_VERBS = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

interface CrdNames {
  singular?: string;
  shortNames?: string[];
  categories?: string[];
  hasStatus: boolean;
}

interface GroupVersion {
  groupVersion: string;
  version: string;
}

function storageVersionHash(info: KindInfo): string {
  return createHash('sha256')
    .update(`${info.group}/${info.version}/${info.kind}`)
    .digest()
    .subarray(0, 8)
    .toString('base64');
}

function crdNames(crds: readonly object[]): Map<string, CrdNames> {
  const out = new Map<string, CrdNames>();
  for (const c of crds) {
    const spec = (c as { spec?: Record<string, unknown> }).spec;
    const names = spec?.names as Record<string, unknown> | undefined;
    if (!spec || !names || typeof spec.group !== 'string' || typeof names.plural !== 'string') continue;
    const versions = Array.isArray(spec.versions) ? (spec.versions as Record<string, unknown>[]) : [];
    const hasStatus = versions.some((v) => !!(v.subresources as Record<string, unknown> | undefined)?.status);
    out.set(`${names.plural}.${spec.group}`, {
      singular: typeof names.singular === 'string' ? names.singular : undefined,
      shortNames: Array.isArray(names.shortNames) ? (names.shortNames as string[]) : undefined,
      categories: Array.isArray(names.categories) ? (names.categories as string[]) : undefined,
      hasStatus,
    });
  }
  return out;
}

export class Discovery {
  private readonly groups = new Map<string, GroupVersion[]>();
  private readonly names: Map<string, CrdNames>;

  constructor(
    private readonly kinds: readonly KindInfo[],
    private readonly crds: readonly object[] | undefined,
  ) {
    this.names = crdNames(crds ?? []);
    for (const k of kinds) {
      if (!k.group) continue;
      const list = this.groups.get(k.group) ?? [];
      if (!list.some((v) => v.version === k.version)) list.push({ groupVersion: k.apiVersion, version: k.version });
      this.groups.set(k.group, list);
    }
    if (crds) this.groups.set(CRD_GROUP, [{ groupVersion: `${CRD_GROUP}/${CRD_VERSION}`, version: CRD_VERSION }]);
  }

  version(): object {
    return {
      major: '1',
      minor: '31',
      gitVersion: 'v1.31.0-hedgehog-fake',
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2024-08-13T00:00:00Z',
      goVersion: 'go1.22.5',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
  }

  apiVersions(serverAddress: string): object {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }

  /** /api/v1: the fake serves no core resources. */
  coreResources(): object {
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: [] };
  }

  groupList(): object {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...this.groups.keys()].map((g) => this.groupBody(g)),
    };
  }

  group(name: string): object | undefined {
    if (!this.groups.has(name)) return undefined;
    return { kind: 'APIGroup', apiVersion: 'v1', ...this.groupBody(name) };
  }

  resourceList(group: string, version: string): object | undefined {
    const versions = this.groups.get(group);
    if (!versions?.some((v) => v.version === version)) return undefined;
    const resources: object[] = [];
    if (group === CRD_GROUP && this.crds) {
      resources.push({
        name: CRD_PLURAL,
        singularName: 'customresourcedefinition',
        namespaced: false,
        kind: 'CustomResourceDefinition',
        verbs: CR_VERBS,
        shortNames: ['crd', 'crds'],
        storageVersionHash: 'jfWCUB31mvA=',
      });
    }
    for (const k of this.kinds) {
      if (k.group !== group || k.version !== version) continue;
      const n = this.names.get(`${k.plural}.${k.group}`);
      resources.push({
        name: k.plural,
        singularName: n?.singular ?? k.kind.toLowerCase(),
        namespaced: k.namespaced,
        kind: k.kind,
        verbs: CR_VERBS,
        ...(n?.shortNames ? { shortNames: n.shortNames } : {}),
        ...(n?.categories ? { categories: n.categories } : {}),
        storageVersionHash: storageVersionHash(k),
      });
      if (!n || n.hasStatus) {
        resources.push({
          name: `${k.plural}/status`,
          singularName: '',
          namespaced: k.namespaced,
          kind: k.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
    }
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources };
  }

  private groupBody(name: string): object {
    const versions = this.groups.get(name)!;
    return { name, versions, preferredVersion: versions[0] };
  }
}
