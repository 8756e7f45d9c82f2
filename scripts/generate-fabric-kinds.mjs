#!/usr/bin/env node
/**
 * Generates src/kinds/fabric-kinds.generated.ts, the TypeScript types of the fabric kinds, from the real CRDs.
 *
 *   npm run generate:kinds [-- <crd-dir>] [-- --out <file>]
 *
 * <crd-dir> defaults to ../shared/hedgehog-crds beside the checkout; --out to the committed file. Each CRD's
 * storage version (which must be served) gives its openAPIV3Schema; json-schema-to-typescript emits the types after
 * the Kubernetes extensions are translated (int-or-string, preserve-unknown-fields), and Prettier formats them with
 * the project's config, so the committed file is byte-for-byte what this script writes (test/kinds-generated.test.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { compile } from 'json-schema-to-typescript';
import * as prettier from 'prettier';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_CRD_DIR = path.resolve(REPO_ROOT, '../shared/hedgehog-crds');
const DEFAULT_OUT = path.join(REPO_ROOT, 'src/kinds/fabric-kinds.generated.ts');
// The groups of src/kube/catalog.ts: a CRD of another group in the directory is not a fabric kind.
const FABRIC_GROUPS = new Set(['vpc.githedgehog.com', 'wiring.githedgehog.com']);
// The schema keywords that shape a TypeScript type; validation-only ones (pattern, minItems, format, default) are
// dropped so they cannot change the output (json-schema-to-typescript turns minItems into tuples).
const TYPE_KEYWORDS = ['type', 'description', 'properties', 'required', 'items', 'additionalProperties', 'enum'];

class GenerateError extends Error {}

/** The CRD documents of one YAML file: multi-document files and `kind: List` are flattened; empty documents skipped. */
function crdDocuments(file, text) {
  let docs;
  try {
    docs = loadAll(text);
  } catch (e) {
    throw new GenerateError(`${file}: not valid YAML: ${String(e.message).split('\n')[0]}`);
  }
  const flat = docs.flatMap((d) => (d && d.kind?.endsWith('List') && Array.isArray(d.items) ? d.items : [d]));
  return flat
    .filter((d) => d !== null && d !== undefined)
    .map((d, i) => {
      if (d?.apiVersion !== 'apiextensions.k8s.io/v1' || d.kind !== 'CustomResourceDefinition')
        throw new GenerateError(
          `${file}: document ${i + 1} is not an apiextensions.k8s.io/v1 CustomResourceDefinition`,
        );
      return d;
    });
}

/** The fabric kind a CRD declares, with its storage version's schema; names are checked before they become code. */
function kindOf(file, crd) {
  const group = crd.spec?.group;
  const kind = crd.spec?.names?.kind;
  if (typeof group !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(group))
    throw new GenerateError(`${file}: spec.group ${JSON.stringify(group)} is not a DNS name`);
  if (typeof kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    throw new GenerateError(`${file}: spec.names.kind ${JSON.stringify(kind)} is not a CamelCase identifier`);
  const versions = Array.isArray(crd.spec.versions) ? crd.spec.versions : [];
  const stored = versions.find((v) => v?.storage === true);
  if (!stored || stored.served !== true)
    throw new GenerateError(`${file}: ${kind} has no version that is both served and stored`);
  if (typeof stored.name !== 'string' || !/^v[0-9]+((alpha|beta)[0-9]+)?$/.test(stored.name))
    throw new GenerateError(`${file}: ${kind} version ${JSON.stringify(stored.name)} is not a Kubernetes version`);
  const schema = stored.schema?.openAPIV3Schema;
  if (!schema || typeof schema !== 'object') throw new GenerateError(`${file}: ${kind} has no openAPIV3Schema`);
  return { file, group, kind, apiVersion: `${group}/${stored.name}`, schema };
}

/** One CRD schema node as json-schema-to-typescript reads it: the Kubernetes extensions become TypeScript types. */
function toJsonSchema(node, where) {
  if (!node || typeof node !== 'object' || Array.isArray(node))
    throw new GenerateError(`${where}: not a schema object`);
  if ('$ref' in node) throw new GenerateError(`${where}: $ref is not allowed in a structural CRD schema`);
  const description = typeof node.description === 'string' ? { description: node.description } : {};
  if (node['x-kubernetes-int-or-string'] === true) return nullable(node, { ...description, tsType: 'number | string' });
  const hasProperties = node.properties && typeof node.properties === 'object';
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === 'object' && !hasProperties && !node.additionalProperties)
    // Without properties the API server prunes every field, unless told to keep them.
    return nullable(node, { ...description, tsType: preserve ? 'Record<string, unknown>' : 'Record<string, never>' });
  const out = {};
  for (const key of TYPE_KEYWORDS) if (key in node) out[key] = node[key];
  if (hasProperties)
    out.properties = Object.fromEntries(
      Object.entries(node.properties).map(([name, child]) => [name, toJsonSchema(child, `${where}.${name}`)]),
    );
  if (node.items !== undefined) out.items = toJsonSchema(node.items, `${where}[]`);
  if (node.additionalProperties && typeof node.additionalProperties === 'object')
    out.additionalProperties = toJsonSchema(node.additionalProperties, `${where}{}`);
  if (preserve) out.additionalProperties = true;
  return nullable(node, out);
}

function nullable(node, schema) {
  if (node.nullable !== true) return schema;
  const { description, ...type } = schema;
  return { ...(description === undefined ? {} : { description }), anyOf: [type, { type: 'null' }] };
}

const COMPILE_OPTIONS = {
  bannerComment: '',
  format: false,
  // Fields a CRD does not declare are pruned by the API server: a misspelled field is a type error.
  additionalProperties: false,
  declareExternallyReferenced: true,
  $refOptions: { resolve: { external: false } },
};

/** The object interface and the spec type of one kind, as TypeScript source. */
async function kindSource({ file, kind, apiVersion, schema }) {
  const where = `${file}: ${kind}`;
  const properties = schema.properties ?? {};
  if (properties.spec === undefined) throw new GenerateError(`${where} has no spec in its schema`);
  const specSource = await compile(toJsonSchema(properties.spec, `${where}.spec`), `${kind}Spec`, COMPILE_OPTIONS);
  const doc = (name) => (typeof properties[name]?.description === 'string' ? properties[name].description : undefined);
  const objectSchema = {
    description: schema.description,
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { description: doc('apiVersion'), tsType: JSON.stringify(apiVersion) },
      kind: { description: doc('kind'), tsType: JSON.stringify(kind) },
      metadata: { description: doc('metadata'), tsType: 'FabricObjectMeta' },
      spec: { description: doc('spec'), tsType: `${kind}Spec` },
      ...(properties.status ? { status: toJsonSchema(properties.status, `${where}.status`) } : {}),
    },
  };
  const objectSource = await compile(objectSchema, kind, COMPILE_OPTIONS);
  return `${objectSource}\n${specSource}`;
}

/** The CRD files of the directory (sorted, so the output does not depend on the file system's order). */
function readCrdFiles(crdDir) {
  if (!existsSync(crdDir) || !statSync(crdDir).isDirectory())
    throw new GenerateError(`CRD directory ${crdDir} not found (give it as the first argument)`);
  const names = readdirSync(crdDir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort();
  return names.map((name) => {
    // The name goes into the header comment, one a line: no line breaks or other surprises in it.
    if (!/^[\w.@+-]+$/.test(name))
      throw new GenerateError(`${JSON.stringify(name)}: a CRD file name may only have letters, digits and ._@+-`);
    const bytes = readFileSync(path.join(crdDir, name));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { name, sha256, crds: crdDocuments(name, bytes.toString('utf8')) };
  });
}

/** The fabric kinds of the CRD files, sorted by name; a kind declared twice is an error. */
function fabricKinds(files) {
  const kinds = new Map();
  for (const { name, crds } of files)
    for (const crd of crds) {
      const k = kindOf(name, crd);
      if (!FABRIC_GROUPS.has(k.group)) {
        console.error(`generate-fabric-kinds: skipped ${k.kind} in ${name} (group ${k.group} is not a fabric group)`);
        continue;
      }
      if (kinds.has(k.kind))
        throw new GenerateError(`${name}: kind ${k.kind} is declared again (first in ${kinds.get(k.kind).file})`);
      kinds.set(k.kind, k);
    }
  if (kinds.size === 0) throw new GenerateError('no CRD of a fabric group found');
  for (const kind of kinds.keys())
    if (kinds.has(`${kind}Spec`)) throw new GenerateError(`kinds ${kind} and ${kind}Spec would both name ${kind}Spec`);
  return [...kinds.values()].sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
}

function header(files, kinds) {
  const used = new Set(kinds.map((k) => k.file));
  const lines = files.filter((f) => used.has(f.name)).map((f) => ` *   ${f.name}  sha256:${f.sha256}`);
  return [
    '/**',
    ' * GENERATED by scripts/generate-fabric-kinds.mjs (`npm run generate:kinds`) from these CRD files; do not edit by',
    ' * hand, regenerate (docs/kinds.md).',
    ...lines,
    ' */',
  ].join('\n');
}

function aggregates(kinds) {
  const names = kinds.map((k) => k.kind);
  return [
    `/** Any object of a fabric kind. */\nexport type FabricObject = ${names.join(' | ')};`,
    `/** The object type of each fabric kind, by kind name. */\nexport interface FabricKindMap {${names.map((n) => `${n}: ${n};`).join('\n')}}`,
    '/** The name of a fabric kind, as Kubernetes spells it. */\nexport type FabricKindName = keyof FabricKindMap;',
    `/** Every fabric kind name, sorted. */\nexport const FABRIC_KIND_NAMES = ${JSON.stringify(names)} as const satisfies readonly FabricKindName[];`,
  ].join('\n\n');
}

/** The generated module's text for the CRDs of `crdDir`, formatted as the committed file is. */
export async function generateFabricKinds(crdDir) {
  const files = readCrdFiles(crdDir);
  const kinds = fabricKinds(files);
  const bodies = [];
  for (const k of kinds) bodies.push(await kindSource(k));
  const source = [
    header(files, kinds),
    "import type { FabricObjectMeta } from './object-meta.js';",
    ...bodies,
    aggregates(kinds),
  ].join('\n\n');
  const config = (await prettier.resolveConfig(DEFAULT_OUT)) ?? {};
  return prettier.format(source, { ...config, filepath: DEFAULT_OUT });
}

function parseArgs(argv) {
  let crdDir = DEFAULT_CRD_DIR;
  let out = DEFAULT_OUT;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1] !== undefined) out = path.resolve(argv[++i]);
    else if (argv[i].startsWith('-')) throw new GenerateError(`unknown option ${argv[i]}`);
    else crdDir = path.resolve(argv[i]);
  }
  return { crdDir, out };
}

async function main() {
  try {
    const { crdDir, out } = parseArgs(process.argv.slice(2));
    writeFileSync(out, await generateFabricKinds(crdDir));
    console.error(`generate-fabric-kinds: wrote ${path.relative(process.cwd(), out) || out}`);
  } catch (e) {
    if (!(e instanceof GenerateError)) throw e;
    console.error(`generate-fabric-kinds: ${e.message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
