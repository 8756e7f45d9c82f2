/**
 * Which lists of a fabric kind's spec are merged element by element, and by which key fields.
 *
 * First the CRD schema: a list with `x-kubernetes-list-type: map` is keyed by its `x-kubernetes-list-map-keys`;
 * a list the schema declares `atomic` or `set` is compared as a whole even when the table below names it (the
 * schema is the API server's own word). The Hedgehog CRDs (v1beta1) declare neither anywhere, so in practice the
 * table decides. It names only lists whose elements carry a field that is unique among them in a valid object
 * (the CRD descriptions and the fabric's validation say so); there is deliberately NO generic rule (such as "any
 * list of objects with a `name`"): a list not in the table is compared as a whole, which is predictable.
 *
 * Schema paths are those of ListKeys: member names below `spec`, '*' for a list element. In a table path, '*'
 * also matches any member name of a map (VPC `subnets` is a map of subnet name → subnet).
 */
import { isRecord } from '../common/values.js';
import type { ListKeys } from './three-way-merge.js';

interface KeyedList {
  path: readonly string[];
  keys: readonly string[];
}

function keyed(path: string, ...keys: string[]): KeyedList {
  return { path: path.split('.'), keys };
}

/**
 * Connection links are identified by the ports they join: a port ("device/port") carries at most one link, so
 * the pair names the cable. Changing a port is therefore a different link (removed + added), while the link's
 * other fields (fabric/mesh/gateway `ip`) merge. The key fields are dotted: `server.port` is link.server.port.
 */
const FABRIC_LIST_KEYS: ReadonlyMap<string, readonly KeyedList[]> = new Map([
  [
    'Connection',
    [
      keyed('bundled.links', 'server.port', 'switch.port'),
      keyed('mclag.links', 'server.port', 'switch.port'),
      keyed('eslag.links', 'server.port', 'switch.port'),
      keyed('fabric.links', 'spine.port', 'leaf.port'),
      keyed('mesh.links', 'leaf1.port', 'leaf2.port'),
      keyed('gateway.links', 'switch.port', 'gateway.port'),
      keyed('mclagDomain.peerLinks', 'switch1.port', 'switch2.port'),
      keyed('mclagDomain.sessionLinks', 'switch1.port', 'switch2.port'),
      keyed('vpcLoopback.links', 'switch1.port', 'switch2.port'),
    ],
  ],
  // NIC and port names are unique within a server profile (they name the OS interfaces).
  ['ServerProfile', [keyed('nics', 'name'), keyed('nics.*.ports', 'name')]],
  // One static route per prefix; one advertised DHCP route per destination.
  ['VPC', [keyed('staticRoutes', 'prefix'), keyed('subnets.*.dhcp.options.advertisedRoutes', 'destination')]],
  // `seq` is the required, unique sequence number of an ACL statement.
  ['ExternalAttachment', [keyed('inboundACL.statements', 'seq')]],
  ['ExternalPeering', [keyed('permit.external.prefixes', 'prefix')]],
  // VLAN ranges may not overlap, so no two start at the same VLAN.
  ['VLANNamespace', [keyed('ranges', 'from')]],
]);

/** The fabric kinds and list paths the fallback table keys (for documentation and tests). */
export function fabricListKeyTable(): ReadonlyMap<string, readonly { path: string; keys: readonly string[] }[]> {
  return new Map(
    [...FABRIC_LIST_KEYS].map(([kind, lists]) => [kind, lists.map((l) => ({ path: l.path.join('.'), keys: l.keys }))]),
  );
}

/**
 * The ListKeys of `kind` (Kubernetes spelling, e.g. 'Connection'), from its openAPIV3Schema (the whole object's
 * schema; its `properties.spec` is walked) when given, else from the table of fabric kinds.
 */
export function listKeysFor(kind: string, schema?: Record<string, unknown> | null): ListKeys {
  const table = FABRIC_LIST_KEYS.get(kind) ?? [];
  const specSchema = isRecord(schema) && isRecord(schema.properties) ? schema.properties.spec : undefined;
  const cache = new Map<string, readonly string[] | null>();
  return (listPath) => {
    const id = JSON.stringify(listPath);
    if (!cache.has(id)) cache.set(id, keysAt(specSchema, table, listPath));
    return cache.get(id)!;
  };
}

function keysAt(
  specSchema: unknown,
  table: readonly KeyedList[],
  listPath: readonly string[],
): readonly string[] | null {
  const declared = schemaListKeys(schemaAt(specSchema, listPath));
  if (declared !== undefined) return declared;
  return table.find((entry) => pathMatches(entry.path, listPath))?.keys ?? null;
}

/**
 * What the schema node of a list says: its keys (list-type map), null (atomic, set, or map without usable keys),
 * undefined (nothing: the table decides).
 */
function schemaListKeys(node: Record<string, unknown> | undefined): readonly string[] | null | undefined {
  const listType = node?.['x-kubernetes-list-type'];
  if (listType === undefined) return undefined;
  if (listType !== 'map') return null;
  const keys = node?.['x-kubernetes-list-map-keys'];
  const usable = Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'string');
  return usable ? keys : null;
}

/** The schema node at a ListKeys path: '*' steps into `items`, a name into `properties` or `additionalProperties`. */
function schemaAt(node: unknown, path: readonly string[]): Record<string, unknown> | undefined {
  let here = node;
  for (const step of path) {
    if (!isRecord(here)) return undefined;
    if (step === '*' && isRecord(here.items)) here = here.items;
    else if (isRecord(here.properties) && Object.prototype.hasOwnProperty.call(here.properties, step)) {
      here = here.properties[step];
    } else here = here.additionalProperties;
  }
  return isRecord(here) ? here : undefined;
}

function pathMatches(pattern: readonly string[], path: readonly string[]): boolean {
  return pattern.length === path.length && pattern.every((step, i) => step === '*' || step === path[i]);
}
