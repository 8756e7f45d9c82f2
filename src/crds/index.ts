/**
 * CRD schemas, public as `hedgehog-fabric-sync/crds`: loading (files or cluster objects), defaults for the drift
 * engine, manifest validation. An explicit list, so a change to it is deliberate (test/public-api.test.ts).
 */
export {
  crdSchemaKey,
  crdSchemasFromObjects,
  loadCrdSchemasFromDir,
  CrdLoadError,
  type CrdSchemas,
  type CrdProblem,
  type CrdLoadOptions,
  type OpenApiSchema,
} from './crd-schemas.js';
export { SchemaDefaults, schemaDefaultsFor, type DefaultsNode } from './schema-defaults.js';
export { createCrdValidator, type CrdValidator, type CrdValidatorOptions } from './crd-validator.js';
