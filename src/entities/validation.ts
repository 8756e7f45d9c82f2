/**
 * Entity rules (class-validator decorators on the entity classes) enforced before
 * anything reaches the database. Every entity calls `assertValid` from its
 * @BeforeCreate / @BeforeUpdate hooks, so the rules hold on every flush no matter
 * which ORM configuration a host application builds around our entities.
 */
import { validateSync, type ValidationError } from 'class-validator';

// The Kubernetes name rules the entities enforce; exported from here too, as the entities' public API did.
export { DNS1123_LABEL, DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MAX } from '../common/k8s-names.js';
/** A Kubernetes kind: an UpperCamelCase identifier. */
export const KIND_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

export interface EntityViolation {
  entity: string;
  field: string;
  value: unknown;
  messages: string[];
}

/** Thrown before the database is touched; the message names entity, field and value of every violation. */
export class EntityValidationError extends Error {
  readonly violations: EntityViolation[];

  constructor(violations: EntityViolation[]) {
    super(violations.map(formatViolation).join('; '));
    this.name = 'EntityValidationError';
    this.violations = violations;
  }
}

function formatViolation(v: EntityViolation): string {
  return `${v.entity}.${v.field}: invalid value ${describeValue(v.value)} (${v.messages.join(', ')})`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  let text: string | undefined;
  try {
    // Undefined for functions and symbols, whatever the declared return type says.
    text = JSON.stringify(value);
  } catch {
    // Cycles and bigints have no JSON form.
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only what JSON cannot show (functions, symbols, bigints, cycles) gets here
  text ??= String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function flatten(entity: string, errors: ValidationError[], prefix = ''): EntityViolation[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own: EntityViolation[] = e.constraints
      ? [{ entity, field, value: e.value, messages: Object.values(e.constraints) }]
      : [];
    return [...own, ...flatten(entity, e.children ?? [], field)];
  });
}

/**
 * Returns the violations of one entity instance.
 * `partial`: skip properties that are undefined (an update of a partially loaded
 * entity or reference only carries the properties it changes).
 */
export function validateEntity(entity: object, partial = false): EntityViolation[] {
  const name = entity.constructor.name;
  const errors = validateSync(entity, {
    skipUndefinedProperties: partial,
    forbidUnknownValues: false,
    validationError: { target: false, value: true },
  });
  return flatten(name, errors);
}

/** Throws EntityValidationError when the entity breaks one of its rules. */
export function assertValid(entity: object, partial = false): void {
  const violations = validateEntity(entity, partial);
  if (violations.length > 0) throw new EntityValidationError(violations);
}
