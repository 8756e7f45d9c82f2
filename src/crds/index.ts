/** CRD schemas: loading (files or cluster objects), defaults for the drift engine, manifest validation. */
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
export { SchemaDefaults, schemaDefaultsFor, jsonEqual, type DefaultsNode } from './schema-defaults.js';
export { createCrdValidator, type CrdValidator, type CrdValidatorOptions } from './crd-validator.js';
