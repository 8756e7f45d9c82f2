/**
 * Checks one object read from the Kubernetes API before it may become an ActualObservation.
 * A bad object is reported (kind, namespace, name, reason) and skipped; it never stops the others.
 *
 * The rules live as class-validator decorators on a plain input class so they read as a list:
 * DNS-1123 name and namespace, the kind/apiVersion of the list it came from, spec/status/labels
 * of the right shapes, uid and resourceVersion present, and a serialized size within the limit
 * (the API server itself refuses objects over ~1.5 MiB; anything larger did not come from one).
 * Last, no stored string may hold what PostgreSQL refuses (NUL, lone surrogates: src/json-safety.ts).
 */
import {
  IsNotEmpty,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  ValidateBy,
  ValidateIf,
  validateSync,
  type ValidationArguments,
  type ValidationError,
} from 'class-validator';
import type { KindInfo } from './catalog.js';
import type { ActualObservation, ObjectError, ObjectStamp } from '../observations.js';
import { DNS1123_LABEL, DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MAX } from '../common/k8s-names.js';
import { isRecord, show, typeName } from '../common/values.js';
import { escapeUnstorable, findUnstorableString, hasSuspectEscape, type UnstorableString } from '../json-safety.js';

/** Kubernetes refuses objects over about 1.5 MiB (etcd's request limit); so do we. */
export const DEFAULT_MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

// Re-exported for the watcher and the tests, which take the patterns from this module.
export { DNS1123_LABEL, DNS1123_SUBDOMAIN };

/** "missing", or "a number, not a string". */
function wrongType(v: unknown, expected: string): string {
  return v === undefined ? 'missing' : `${typeName(v)}, not ${expected}`;
}

/** The property must equal another property of the same object (the expected kind/apiVersion). */
function EqualsProperty(other: string, message: (args: ValidationArguments) => string): PropertyDecorator {
  return ValidateBy(
    {
      name: 'equalsProperty',
      constraints: [other],
      validator: {
        validate: (value: unknown, args?: ValidationArguments) =>
          !!args && value === (args.object as Record<string, unknown>)[other],
        defaultMessage: (args?: ValidationArguments) => (args ? message(args) : `must equal ${other}`),
      },
    },
    { message: message },
  );
}

/** The property must be at most another (numeric) property of the same object (the byte limit). */
function AtMostProperty(other: string, message: (args: ValidationArguments) => string): PropertyDecorator {
  return ValidateBy(
    {
      name: 'atMostProperty',
      constraints: [other],
      validator: {
        validate: (value: unknown, args?: ValidationArguments) =>
          !!args && typeof value === 'number' && value <= ((args.object as Record<string, unknown>)[other] as number),
      },
    },
    { message },
  );
}

/** A Kubernetes string map (labels, annotations): a plain object whose values are all strings. */
function IsStringMap(field: string): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringMap',
      validator: {
        validate: (value: unknown) =>
          !!value &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Object.values(value as Record<string, unknown>).every((x) => typeof x === 'string'),
      },
    },
    {
      message: (a: ValidationArguments) =>
        a.value && typeof a.value === 'object' && !Array.isArray(a.value)
          ? `${field} has a non-string value (${show(Object.entries(a.value as object).find(([, x]) => typeof x !== 'string')?.[0])})`
          : `${field} is ${wrongType(a.value, 'a map of strings')}`,
    },
  );
}

/**
 * The fields of a raw object that the rules look at, flattened. Built fresh for every object.
 * class-validator runs a property's decorators bottom-up and stops at the first failure, so the
 * type check sits lowest: a non-string name is reported as such, not as a bad DNS name.
 */
export class KubeObjectInput {
  @Matches(DNS1123_SUBDOMAIN, {
    message: (a) =>
      `metadata.name ${show(a.value)} is not a valid DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)`,
  })
  @MaxLength(DNS1123_SUBDOMAIN_MAX, {
    message: (a) => `metadata.name is ${String(a.value).length} characters long, over ${DNS1123_SUBDOMAIN_MAX}`,
  })
  @IsNotEmpty({ message: 'metadata.name is empty' })
  @IsString({ message: (a) => `metadata.name is ${wrongType(a.value, 'a string')}` })
  name!: unknown;

  @Matches(DNS1123_LABEL, {
    message: (a) =>
      `metadata.namespace ${show(a.value)} is not a valid DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)`,
  })
  @MaxLength(DNS1123_LABEL_MAX, {
    message: (a) => `metadata.namespace is ${String(a.value).length} characters long, over ${DNS1123_LABEL_MAX}`,
  })
  @IsNotEmpty({ message: 'metadata.namespace is empty (every fabric kind is namespaced)' })
  @IsString({
    message: (a) => `metadata.namespace is ${wrongType(a.value, 'a string')} (every fabric kind is namespaced)`,
  })
  namespace!: unknown;

  @EqualsProperty(
    'expectedKind',
    (a) => `kind ${show(a.value)} does not match the listed kind ${show((a.object as KubeObjectInput).expectedKind)}`,
  )
  kind!: unknown;

  @EqualsProperty(
    'expectedApiVersion',
    (a) =>
      `apiVersion ${show(a.value)} does not match the listed ${show((a.object as KubeObjectInput).expectedApiVersion)}`,
  )
  apiVersion!: unknown;

  @IsObject({ message: (a) => `spec is ${wrongType(a.value, 'an object')}` })
  spec!: unknown;

  @ValidateIf((o: KubeObjectInput) => o.status !== undefined && o.status !== null)
  @IsObject({ message: (a) => `status is ${wrongType(a.value, 'an object')}` })
  status!: unknown;

  @IsStringMap('metadata.labels')
  labels!: unknown;

  @IsStringMap('metadata.annotations')
  annotations!: unknown;

  @IsNotEmpty({ message: 'metadata.uid is empty' })
  @IsString({ message: (a) => `metadata.uid is ${wrongType(a.value, 'a string')}` })
  uid!: unknown;

  @IsNotEmpty({ message: 'metadata.resourceVersion is empty' })
  @IsString({ message: (a) => `metadata.resourceVersion is ${wrongType(a.value, 'a string')}` })
  resourceVersion!: unknown;

  @AtMostProperty(
    'maxBytes',
    (a) => `object is ${a.value} bytes serialized, over the limit of ${(a.object as KubeObjectInput).maxBytes} bytes`,
  )
  serializedBytes!: number;

  // Context for the rules above, not checked themselves.
  expectedKind!: string;
  expectedApiVersion!: string;
  maxBytes!: number;
}

function isStringMap(v: unknown): boolean {
  if (!isRecord(v)) return false;
  for (const k in v) if (typeof v[k] !== 'string') return false;
  return true;
}

/**
 * The rules of KubeObjectInput in plain code, for the common case of an object that passes them all.
 * class-validator spends about 13 µs per object (a metadata lookup and an arguments object per rule):
 * most of the CPU time of a large list. This check never accepts what the decorators refuse (a
 * property test compares the two), so when it says no, validateSync runs and writes the messages;
 * the decorators stay the rules' one readable statement.
 */
export function passesObjectRules(input: KubeObjectInput): boolean {
  const { name, namespace, uid, resourceVersion, status } = input;
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    name.length <= DNS1123_SUBDOMAIN_MAX &&
    DNS1123_SUBDOMAIN.test(name) &&
    typeof namespace === 'string' &&
    namespace.length > 0 &&
    namespace.length <= DNS1123_LABEL_MAX &&
    DNS1123_LABEL.test(namespace) &&
    input.kind === input.expectedKind &&
    input.apiVersion === input.expectedApiVersion &&
    isRecord(input.spec) &&
    (status === undefined || status === null || isRecord(status)) &&
    isStringMap(input.labels) &&
    isStringMap(input.annotations) &&
    typeof uid === 'string' &&
    uid.length > 0 &&
    typeof resourceVersion === 'string' &&
    resourceVersion.length > 0 &&
    typeof input.serializedBytes === 'number' &&
    input.serializedBytes <= input.maxBytes
  );
}

/**
 * What the JSON text of a whole list page proves about every item in it, so that no item has to be serialized again
 * to be checked (JSON.stringify of every listed object was about a tenth of a first sync's CPU time):
 * - `maxItemBytes` bounds every item's serialized size. Serializing parsed JSON again never makes it longer —
 *   whitespace goes, escapes shrink or stay, a number written without an exponent keeps or loses characters — except
 *   a number written with one ("1e20" becomes 21 digits): a page that may hold such a number bounds nothing.
 * - `storable`: no item holds a NUL or a surrogate. Decoded UTF-8 text can only carry those as \u escapes (the decoder
 *   replaces anything else), so a page without such an escape holds none; a page with one (an emoji written as an
 *   escaped pair, say) has each item checked as before.
 */
export interface PageFacts {
  maxItemBytes: number;
  storable: boolean;
}

/** A number token with an exponent: after `:`, `,` or `[` (JSON allows nothing else before a number). */
const EXPONENT_NUMBER = /[:,[]\s*-?\d+(?:\.\d+)?[eE]/;
/** The escape of a NUL or of a surrogate, in either case of hex digits (a server may write `\uD83D`). */
const NUL_OR_SURROGATE_ESCAPE = /\\u(?:0000|[dD][89abcdefABCDEF])/;

export function pageFacts(text: string): PageFacts {
  return {
    maxItemBytes: EXPONENT_NUMBER.test(text) ? Number.POSITIVE_INFINITY : Buffer.byteLength(text, 'utf8'),
    storable: !(text.includes('\\u') && NUL_OR_SURROGATE_ESCAPE.test(text)),
  };
}

export type ValidationOutcome = { ok: true; value: ActualObservation } | { ok: false; error: ObjectError };

/** A name/namespace fit to appear in an error record (only strings, clipped; NULs and lone surrogates escaped). */
function idPart(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const clipped = v.length > 253 ? `${v.slice(0, 253)}…` : v;
  // The error record is stored as jsonb, which refuses these characters: show them as \uXXXX escapes.
  return escapeUnstorable(clipped);
}

/**
 * The first string of the stored fields that PostgreSQL would refuse (see src/json-safety.ts). `json` is the
 * object's JSON text: when it holds no suspect escape, nothing needs walking (the common case).
 */
function findUnstorableField(input: KubeObjectInput, json: string | undefined): UnstorableString | null {
  if (json !== undefined && !hasSuspectEscape(json)) return null;
  return (
    findUnstorableString(input.uid, 'metadata.uid') ??
    findUnstorableString(input.resourceVersion, 'metadata.resourceVersion') ??
    findUnstorableString(input.labels, 'metadata.labels') ??
    findUnstorableString(input.annotations, 'metadata.annotations') ??
    findUnstorableString(input.spec, 'spec') ??
    findUnstorableString(input.status, 'status')
  );
}

function reasonOf(errors: ValidationError[]): string {
  return errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ');
}

/**
 * Validate one raw object from a list or watch of `kind` and map it to an ActualObservation.
 * An absent or null `spec` counts as `{}` (Kubernetes allows objects without one); absent
 * `kind`/`apiVersion` are taken from the list (the API server omits them in some list items),
 * present ones must match it. Labels/annotations absent → `{}`, status absent → null.
 */
export function toActualObservation(
  raw: unknown,
  kind: KindInfo,
  /** `page`: the facts of the list page `raw` came in (pageFacts); when they settle size and storability, no walk. */
  opts: { maxObjectBytes?: number; page?: PageFacts } = {},
): ValidationOutcome {
  const maxBytes = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  if (!isRecord(raw)) {
    return { ok: false, error: { kind: kind.kind, reason: `item is ${wrongType(raw, 'an object')}` } };
  }
  const meta = raw.metadata;
  if (!isRecord(meta)) {
    return { ok: false, error: { kind: kind.kind, reason: `metadata is ${wrongType(meta, 'an object')}` } };
  }

  const settled = opts.page?.storable && opts.page.maxItemBytes <= maxBytes;
  let serializedBytes: number;
  let json: string | undefined;
  if (settled) {
    serializedBytes = opts.page!.maxItemBytes; // a bound, within the limit
  } else {
    try {
      json = JSON.stringify(raw);
      serializedBytes = Buffer.byteLength(json, 'utf8');
    } catch {
      serializedBytes = Number.POSITIVE_INFINITY; // cyclic: cannot have come from JSON; refuse
    }
  }

  const input = new KubeObjectInput();
  input.name = meta.name;
  input.namespace = meta.namespace;
  input.kind = raw.kind ?? kind.kind;
  input.apiVersion = raw.apiVersion ?? kind.apiVersion;
  input.spec = raw.spec ?? {};
  input.status = raw.status;
  input.labels = meta.labels ?? {};
  input.annotations = meta.annotations ?? {};
  input.uid = meta.uid;
  input.resourceVersion = meta.resourceVersion;
  input.serializedBytes = serializedBytes;
  input.expectedKind = kind.kind;
  input.expectedApiVersion = kind.apiVersion;
  input.maxBytes = maxBytes;

  const errors = passesObjectRules(input)
    ? []
    : validateSync(input, { stopAtFirstError: true, forbidUnknownValues: false });
  if (errors.length > 0) {
    return {
      ok: false,
      error: { kind: kind.kind, namespace: idPart(meta.namespace), name: idPart(meta.name), reason: reasonOf(errors) },
    };
  }
  // Decided here, before any SQL: PostgreSQL would refuse the whole batch this object travels in.
  const unstorable = settled ? null : findUnstorableField(input, json);
  if (unstorable) {
    return {
      ok: false,
      error: {
        kind: kind.kind,
        namespace: idPart(meta.namespace),
        name: idPart(meta.name),
        reason: `${unstorable.path} ${unstorable.problem}`,
      },
    };
  }
  return {
    ok: true,
    value: {
      kind: kind.kind,
      apiVersion: kind.apiVersion,
      namespace: input.namespace as string,
      name: input.name as string,
      spec: input.spec as Record<string, unknown>,
      status: (input.status ?? null) as Record<string, unknown> | null,
      labels: input.labels as Record<string, string>,
      annotations: input.annotations as Record<string, string>,
      uid: input.uid as string,
      resourceVersion: input.resourceVersion as string,
    },
  };
}

export type StampOutcome = { ok: true; value: ObjectStamp } | { ok: false; error: ObjectError };

/**
 * One item of a metadata-only list (`PartialObjectMetadata`) of `kind` as an ObjectStamp. Its name and namespace
 * must be valid (else it is refused as the full object would be: nothing could be fetched by that name). A missing or
 * odd uid/resourceVersion becomes '' — a stamp that matches no ledger row, so the full object is fetched and
 * validated like any other. The rest of the object's rules apply to the full object, when it is read.
 */
export function toObjectStamp(raw: unknown, kind: KindInfo): StampOutcome {
  const meta = isRecord(raw) ? raw.metadata : undefined;
  if (!isRecord(meta)) {
    const what = isRecord(raw)
      ? `metadata is ${wrongType(meta, 'an object')}`
      : `item is ${wrongType(raw, 'an object')}`;
    return { ok: false, error: { kind: kind.kind, reason: `metadata-only list: ${what}` } };
  }
  return stampOfMetadata(meta, kind);
}

/** An item's `metadata` (already known to be an object) as an ObjectStamp, as toObjectStamp. */
export function stampOfMetadata(
  meta: { name?: unknown; namespace?: unknown; uid?: unknown; resourceVersion?: unknown },
  kind: KindInfo,
): StampOutcome {
  const { name, namespace, uid, resourceVersion } = meta;
  const nameOk =
    typeof name === 'string' && name.length > 0 && name.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(name);
  const namespaceOk =
    typeof namespace === 'string' &&
    namespace.length > 0 &&
    namespace.length <= DNS1123_LABEL_MAX &&
    DNS1123_LABEL.test(namespace);
  if (!nameOk || !namespaceOk) {
    const reason = !nameOk
      ? `metadata.name ${typeof name === 'string' ? 'is not a valid DNS-1123 subdomain' : wrongType(name, 'a string')}`
      : `metadata.namespace ${typeof namespace === 'string' ? 'is not a valid DNS-1123 label' : wrongType(namespace, 'a string')}`;
    return { ok: false, error: { kind: kind.kind, namespace: idPart(namespace), name: idPart(name), reason } };
  }
  return {
    ok: true,
    value: {
      kind: kind.kind,
      namespace,
      name,
      uid: typeof uid === 'string' ? uid : '',
      resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '',
    },
  };
}
