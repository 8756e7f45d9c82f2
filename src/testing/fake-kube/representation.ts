/**
 * Which representation of a list or an object the client asked for, by its Accept header, as the API server
 * negotiates it: the full objects, or their metadata only ("Receiving resources as metadata only": client-go's
 * metadata client sends `application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json`).
 *
 * The clauses are tried in order of preference (q, then position). A clause asking for another representation
 * (`as=Table`, an unknown group or version) or another media type (YAML, protobuf: the fake speaks JSON only) is
 * passed over; when no clause is left, the answer is 406 Not Acceptable. No Accept header at all means JSON.
 * A metadata-only list is a `PartialObjectMetadataList` of `PartialObjectMetadata` items (apiVersion meta.k8s.io/v1),
 * with the list's resourceVersion, continue token and remainingItemCount as a full list has them.
 */
import { status, KubeStatusError } from './status.js';

export type Representation = 'full' | 'metadata';

/** What is being read: a collection (list) or one object (get). */
export type ReadTarget = 'list' | 'object';

export const META_GROUP = 'meta.k8s.io';
export const META_VERSION = 'v1';
export const META_API_VERSION = `${META_GROUP}/${META_VERSION}`;

/** The Content-Type of an answer in `representation`. */
export function contentTypeOf(representation: Representation, target: ReadTarget): string {
  if (representation === 'full') return 'application/json';
  const as = target === 'list' ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  return `application/json;as=${as};g=${META_GROUP};v=${META_VERSION}`;
}

interface Clause {
  type: string;
  params: Map<string, string>;
  q: number;
  position: number;
}

function parseClauses(accept: string): Clause[] {
  const out: Clause[] = [];
  accept.split(',').forEach((raw, position) => {
    const [mediaType, ...paramParts] = raw.split(';').map((s) => s.trim());
    if (!mediaType) return;
    const params = new Map<string, string>();
    for (const p of paramParts) {
      const eq = p.indexOf('=');
      if (eq > 0)
        params.set(
          p.slice(0, eq).trim().toLowerCase(),
          p
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        );
    }
    const q = params.has('q') ? Number(params.get('q')) : 1;
    params.delete('q');
    out.push({ type: mediaType.toLowerCase(), params, q: Number.isFinite(q) ? q : 0, position });
  });
  return out.filter((c) => c.q > 0).sort((a, b) => b.q - a.q || a.position - b.position);
}

const JSON_TYPES = new Set(['application/json', 'application/*', '*/*']);

/** What one clause gets: a representation, or null when the fake cannot serve it. */
function clauseRepresentation(c: Clause, target: ReadTarget): Representation | null {
  if (!JSON_TYPES.has(c.type)) return null;
  const as = c.params.get('as');
  if (as === undefined) return 'full';
  const wanted = target === 'list' ? 'PartialObjectMetadataList' : 'PartialObjectMetadata';
  const group = c.params.get('g');
  const version = c.params.get('v');
  // The real server also serves meta.k8s.io/v1beta1; v1 is what every current client asks for.
  if (as === wanted && group === META_GROUP && version === META_VERSION) return 'metadata';
  return null;
}

/**
 * The representation to serve for `accept`; throws a 406 Status when none of its clauses can be served.
 * `ignoreRepresentation`: a server that does not know `as=` parameters and serves the full objects whatever is asked.
 */
export function negotiateRepresentation(
  accept: string | undefined,
  target: ReadTarget,
  ignoreRepresentation = false,
): Representation {
  if (accept === undefined || accept.trim() === '' || ignoreRepresentation) return 'full';
  for (const c of parseClauses(accept)) {
    const r = clauseRepresentation(c, target);
    if (r) return r;
  }
  throw new KubeStatusError(
    status(
      406,
      'NotAcceptable',
      'only the following media types are accepted: application/json, application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    ),
  );
}

/** The metadata-only form of one stored object's JSON (`PartialObjectMetadata`). */
export function partialObjectMetadataJson(objectJson: string): string {
  const { metadata } = JSON.parse(objectJson) as { metadata?: unknown };
  return `{"kind":"PartialObjectMetadata","apiVersion":"${META_API_VERSION}","metadata":${JSON.stringify(metadata ?? {})}}`;
}
