/**
 * The `default` values a CRD schema declares, arranged so the drift engine can ask, while it walks an
 * object, "is this value the schema default here?". Only branches of the schema that lead to a default
 * are kept, so kinds without defaults (most Hedgehog kinds) cost nothing.
 *
 * Structural schemas (the only kind apiextensions.k8s.io/v1 accepts) put defaults in `properties`,
 * `additionalProperties` and `items`, never inside allOf/anyOf/oneOf/not, so those three are all we walk.
 */
import { isRecord } from '../common/values.js';
import { crdSchemaKey, type CrdSchemas, type OpenApiSchema } from './crd-schemas.js';

/** One schema position on a path that leads to at least one default. */
export interface DefaultsNode {
  /** True when the schema declares `default` at this position (the value is in `value`). */
  readonly hasDefault: boolean;
  readonly value?: unknown;
  readonly properties?: ReadonlyMap<string, DefaultsNode>;
  /** additionalProperties (map values). */
  readonly additional?: DefaultsNode;
  /** items (array elements). */
  readonly items?: DefaultsNode;
}

/** Structural equality of JSON values (key order irrelevant, 1 === 1.0 as in JS). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!Object.prototype.hasOwnProperty.call(bo, k) || !jsonEqual(ao[k], bo[k])) return false;
  return true;
}

function compile(schema: unknown, depth = 0): DefaultsNode | null {
  // Structural schemas are trees (no $ref); the depth guard only protects against hostile input.
  if (!isRecord(schema) || depth > 64) return null;
  let properties: Map<string, DefaultsNode> | undefined;
  if (isRecord(schema.properties)) {
    for (const [k, sub] of Object.entries(schema.properties)) {
      const node = compile(sub, depth + 1);
      if (node) (properties ??= new Map()).set(k, node);
    }
  }
  const additional = isRecord(schema.additionalProperties) ? compile(schema.additionalProperties, depth + 1) : null;
  const items = isRecord(schema.items) ? compile(schema.items, depth + 1) : null;
  const hasDefault = Object.prototype.hasOwnProperty.call(schema, 'default');
  if (!hasDefault && !properties && !additional && !items) return null;
  return {
    hasDefault,
    ...(hasDefault ? { value: schema.default } : {}),
    ...(properties ? { properties } : {}),
    ...(additional ? { additional } : {}),
    ...(items ? { items } : {}),
  };
}

function unescapePointer(segment: string): string {
  return segment.includes('~') ? segment.replace(/~1/g, '/').replace(/~0/g, '~') : segment;
}

/** The defaults of one kind's schema, rooted at the whole object (so pointers start with /spec). */
export class SchemaDefaults {
  constructor(readonly root: DefaultsNode) {}

  /** Builds from an openAPIV3Schema; null when the schema declares no default anywhere. */
  static fromSchema(schema: OpenApiSchema): SchemaDefaults | null {
    const root = compile(schema);
    return root ? new SchemaDefaults(root) : null;
  }

  /**
   * The node one step below `node`: array elements for an array schema (whatever the key), else the
   * named property, else additionalProperties. null when nothing below has a default.
   */
  static child(node: DefaultsNode | null | undefined, key: string): DefaultsNode | null {
    if (!node) return null;
    if (node.items) return node.items;
    return node.properties?.get(key) ?? node.additional ?? null;
  }

  /** True when `node` declares a default equal to `value`. */
  static matches(node: DefaultsNode | null | undefined, value: unknown): boolean {
    return !!node && node.hasDefault && jsonEqual(node.value, value);
  }

  /** The node at an RFC 6901 pointer ('' is the root), or null. */
  at(pointer: string): DefaultsNode | null {
    if (pointer === '') return this.root;
    if (!pointer.startsWith('/'))
      throw new Error(`invalid JSON pointer ${JSON.stringify(pointer)}: must start with "/"`);
    let node: DefaultsNode | null = this.root;
    for (const seg of pointer.slice(1).split('/')) {
      node = SchemaDefaults.child(node, unescapePointer(seg));
      if (!node) return null;
    }
    return node;
  }

  /** The schema default at `pointer`, as `{ value }`, or undefined when there is none. */
  defaultAt(pointer: string): { value: unknown } | undefined {
    const node = this.at(pointer);
    return node?.hasDefault ? { value: node.value } : undefined;
  }

  /** Is `value` the schema default at `pointer` (e.g. "/spec/linkFlapErrDisable/flapThreshold")? */
  isDefault(pointer: string, value: unknown): boolean {
    return SchemaDefaults.matches(this.at(pointer), value);
  }
}

const cache = new WeakMap<CrdSchemas, Map<string, SchemaDefaults | null>>();

/**
 * The defaults for `apiVersion` ("group/version") + `kind`; null when there is no schema for it or the
 * schema declares no default. Cached per CrdSchemas instance.
 */
export function schemaDefaultsFor(
  schemas: CrdSchemas | null | undefined,
  apiVersion: string,
  kind: string,
): SchemaDefaults | null {
  if (!schemas) return null;
  const key = crdSchemaKey(apiVersion, kind);
  let perSchemas = cache.get(schemas);
  if (!perSchemas) cache.set(schemas, (perSchemas = new Map<string, SchemaDefaults | null>()));
  if (perSchemas.has(key)) return perSchemas.get(key)!;
  const schema = schemas.get(key);
  const result = schema ? SchemaDefaults.fromSchema(schema) : null;
  perSchemas.set(key, result);
  return result;
}
