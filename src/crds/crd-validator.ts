/**
 * Validating manifests against their kind's CRD schema with ajv, the way the API server and
 * `kubectl apply` (field validation "Strict", kubectl's default) would judge them:
 * - x-kubernetes-* keywords are ignored (ajv strict: false), `format` is not checked (the API server
 *   does not check formats such as int32 either);
 * - `nullable: true` allows null; a null value in a field that is not nullable is dropped before
 *   validation, as the API server prunes it (YAML `dhcp:` with nothing after it is such a null);
 * - fields the schema does not know are errors ("unknown field"), except under
 *   `x-kubernetes-preserve-unknown-fields`, in `metadata` (the API server checks it itself) and in the
 *   top-level `status` (ignored on the main resource). Pass `{ unknownFields: 'ignore' }` to prune
 *   silently like the API server does without strict field validation.
 * Problems are readable strings with a kubectl-style field path: `spec.subnets.default.vlan: must be integer`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isRecord } from '../common/values.js';
import { crdSchemaKey, type CrdSchemas, type OpenApiSchema } from './crd-schemas.js';

export interface CrdValidatorOptions {
  /** 'error' (default): fields the schema does not declare are problems. 'ignore': they are not. */
  unknownFields?: 'error' | 'ignore';
}

/** Returns the problems of one manifest object; [] when it is valid or its kind has no schema. */
export interface CrdValidator {
  (obj: unknown): string[];
  /** Schemas ajv could not compile ("group/version/Kind: reason"); documents of those kinds are not checked. */
  readonly schemaProblems: readonly string[];
}

/**
 * A copy of a CRD schema that ajv judges like the API server: `nullable` made ajv-compatible and,
 * when asked, additionalProperties: false on objects that do not preserve unknown fields.
 */
function prepareSchema(schema: unknown, strictFields: boolean, at: 'root' | 'metadata' | 'status' | 'other'): unknown {
  if (!isRecord(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && isRecord(v)) {
      const props: Record<string, unknown> = {};
      for (const [pk, pv] of Object.entries(v)) {
        const where = at === 'root' && (pk === 'metadata' || pk === 'status') ? pk : 'other';
        props[pk] = prepareSchema(pv, strictFields, where);
      }
      out[k] = props;
    } else if ((k === 'additionalProperties' || k === 'items' || k === 'not') && isRecord(v)) {
      out[k] = prepareSchema(v, strictFields, 'other');
    } else if ((k === 'allOf' || k === 'anyOf' || k === 'oneOf') && Array.isArray(v)) {
      out[k] = v.map((s) => prepareSchema(s, strictFields, 'other'));
    } else {
      out[k] = v;
    }
  }
  if (out.nullable === true) {
    // ajv refuses `nullable` without `type`; an enum must list null for null to pass.
    if (out.type === undefined) delete out.nullable;
    else if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
  }
  const isObjectSchema = out.type === 'object' || isRecord(out.properties);
  if (
    strictFields &&
    isObjectSchema &&
    at !== 'metadata' &&
    at !== 'status' &&
    out.additionalProperties === undefined &&
    out['x-kubernetes-preserve-unknown-fields'] !== true &&
    out['x-kubernetes-embedded-resource'] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** The object with nulls dropped where the schema does not say `nullable: true` (API server pruning). */
function pruneNulls(value: unknown, schema: unknown): unknown {
  const s = isRecord(schema) ? schema : {};
  if (Array.isArray(value)) return value.map((item) => pruneNulls(item, s.items));
  if (!isRecord(value)) return value;
  const props = isRecord(s.properties) ? s.properties : {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const sub = Object.prototype.hasOwnProperty.call(props, k) ? props[k] : s.additionalProperties;
    if (v === null && !(isRecord(sub) && sub.nullable === true)) continue;
    out[k] = pruneNulls(v, sub);
  }
  return out;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Where an ajv instance path points: the kubectl-style field path ("/spec/links/0/leaf/ip" →
 * "spec.links[0].leaf.ip"; map keys that are not identifiers go in brackets) and the value found there.
 */
function locate(pointer: string, data: unknown): { path: string; value: unknown } {
  if (pointer === '') return { path: '<root>', value: data };
  let path = '';
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) path += `[${seg}]`;
    else if (IDENT.test(seg)) path += path ? `.${seg}` : seg;
    else path += `[${seg}]`;
    cur = isRecord(cur) || Array.isArray(cur) ? (cur as Record<string, unknown>)[seg] : undefined;
  }
  return { path, value: cur };
}

function describe(v: unknown): string {
  // Typed as string, but undefined for undefined, functions and symbols.
  const json = JSON.stringify(v) as string | undefined;
  const text = json === undefined ? String(v) : json.length > 80 ? `${json.slice(0, 77)}...` : json;
  return `${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v} ${text}`;
}

function formatError(e: ErrorObject, data: unknown): string {
  const { path: here, value } = locate(e.instancePath, data);
  const join = (child: string) =>
    e.instancePath === '' ? child : `${here}${IDENT.test(child) ? `.${child}` : `[${child}]`}`;
  const got = () => describe(value);
  switch (e.keyword) {
    case 'required':
      return `${join(String(e.params.missingProperty))}: required field is missing`;
    case 'additionalProperties':
      return `${join(String(e.params.additionalProperty))}: unknown field`;
    case 'enum':
      return `${here}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${got()})`;
    case 'type':
      return `${here}: must be ${String(e.params.type)} (got ${got()})`;
    case 'pattern':
      return `${here}: must match ${e.params.pattern} (got ${got()})`;
    default:
      return `${here}: ${e.message ?? e.keyword}`;
  }
}

/**
 * A validator for manifests of the kinds in `schemas`, for the gitops reader's `validate` hook. Schemas
 * are compiled on first use and cached.
 */
export function createCrdValidator(schemas: CrdSchemas, options: CrdValidatorOptions = {}): CrdValidator {
  const strictFields = (options.unknownFields ?? 'error') === 'error';
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    validateFormats: false,
    validateSchema: false,
    addUsedSchema: false,
  });
  const compiled = new Map<string, { fn: ValidateFunction; raw: OpenApiSchema } | null>();
  const schemaProblems: string[] = [];

  const lookup = (key: string) => {
    if (compiled.has(key)) return compiled.get(key)!;
    const raw = schemas.get(key);
    let entry: { fn: ValidateFunction; raw: OpenApiSchema } | null = null;
    if (raw) {
      try {
        entry = { fn: ajv.compile(prepareSchema(raw, strictFields, 'root') as object), raw };
      } catch (err) {
        schemaProblems.push(`${key}: ${(err as Error).message}`);
      }
    }
    compiled.set(key, entry);
    return entry;
  };

  const validate = (obj: unknown): string[] => {
    if (!isRecord(obj)) return ['<root>: document is not an object'];
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') return [];
    const entry = lookup(crdSchemaKey(obj.apiVersion, obj.kind));
    if (!entry) return [];
    const data = pruneNulls(obj, entry.raw);
    if (entry.fn(data)) return [];
    const seen = new Set<string>();
    for (const e of entry.fn.errors ?? []) seen.add(formatError(e, data));
    return [...seen];
  };
  Object.defineProperty(validate, 'schemaProblems', { get: () => schemaProblems });
  return validate as CrdValidator;
}
