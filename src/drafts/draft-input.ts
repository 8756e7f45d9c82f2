/**
 * A draft's input, judged exactly like a Git document: an object or YAML text (one or more documents, a `kind: List`)
 * goes through the manifest parser with the fabric's CRD validator, so a draft the ledger accepts is one a desired
 * sync would accept from Git. Pure: no database, no Git.
 */
import { stringify } from 'yaml';
import { parseManifestFile } from '../gitops/manifest-parser.js';
import type { DesiredObservation, ObjectError } from '../observations.js';
import { isRecord, typeName } from '../common/values.js';

export interface DraftInput {
  /** The objects to draft, in input order. */
  objects: DesiredObservation[];
  /** What was refused, each with where (file, line, object) and why. */
  refused: ObjectError[];
}

/** The name the input is reported under when the caller gives none (an object, or text from stdin). */
export const DRAFT_INPUT_NAME = '<draft>';

/**
 * Parse a draft: a fabric object, an array of them, or YAML text. `source` names the input in problems (a file
 * name for `-f file`). A document of another kind than the fabric's is refused, not ignored: a draft is a request.
 */
export function parseDraftInput(
  input: unknown,
  validate: ((obj: Record<string, unknown>) => string[]) | undefined,
  source: string = DRAFT_INPUT_NAME,
): DraftInput {
  const text = draftText(input);
  const parsed = parseManifestFile(source, Buffer.from(text, 'utf8'), validate ? { validate } : {});
  const refused = [...parsed.errors];
  for (const [apiKind, count] of Object.entries(parsed.otherKinds)) {
    refused.push({
      file: source,
      reason: `${count} document(s) of ${apiKind}, which is not a fabric kind; a draft holds only the fabric's objects`,
    });
  }
  const seen = new Map<string, DesiredObservation>();
  for (const o of parsed.observations) {
    const key = `${o.kind}/${o.namespace}/${o.name}`;
    const first = seen.get(key);
    if (first) {
      refused.push({
        kind: o.kind,
        namespace: o.namespace,
        name: o.name,
        file: source,
        line: o.line,
        reason: `declared twice in the input (first at line ${first.line}); which one is meant cannot be told`,
      });
      continue;
    }
    seen.set(key, o);
  }
  if (parsed.documents === 0 && refused.length === 0)
    refused.push({ file: source, reason: 'the input holds no object' });
  return { objects: [...seen.values()], refused };
}

/** Text as given; objects (or lists of them) as the YAML documents they are. */
function draftText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (Buffer.isBuffer(input)) return input.toString('utf8');
  const objects = Array.isArray(input) ? input : [input];
  for (const [i, o] of objects.entries()) {
    if (!isRecord(o)) throw new TypeError(`draft object ${i + 1} is ${typeName(o)}, not an object or YAML text`);
  }
  return objects.map((o) => stringify(o, { aliasDuplicateObjects: false })).join('---\n');
}
