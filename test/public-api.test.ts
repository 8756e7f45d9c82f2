/**
 * The public API is a deliberate list: the root (`hedgehog-fabric-sync`) and each subpath of package.json `exports`
 * export exactly the names below, values and types. A change to the API changes this file: add or remove the name
 * here in the same commit, and say why (README "Library" lists the surface).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Every export of each entry point; `type X` for a type-only one (a class is a value). Sorted. */
const API: Record<string, string[]> = {
  '.': [
    'ALL_ENTITIES',
    'ClusterUnreachableError',
    'CrdLoadError',
    'DRIFT_SEVERITIES',
    'DRIFT_STATUSES',
    'DatabaseMissingError',
    'DatabaseUnavailableError',
    'DesiredSourceError',
    'DiffInputError',
    'DoctorScopeError',
    'DraftRefusedError',
    'Drafts',
    'EntityValidationError',
    'FabricBusyError',
    'FabricCrdSchema',
    'FabricExistsError',
    'FabricNotFoundError',
    'FabricRegistry',
    'FabricSyncService',
    'HedgehogFabric',
    'HedgehogResource',
    'InvalidFabricSettingsError',
    'KubeAuthError',
    'KubeConfigError',
    'KubeRequestError',
    'LeaseLostError',
    'LedgerSchemaUnhealthyError',
    'MIGRATIONS',
    'MalformedResponseError',
    'NoActualStateError',
    'PublishNotRecordedError',
    'PublishRejectedError',
    'RESOURCE_STATES',
    'StateTransition',
    'SyncOperation',
    'openLedger',
    'resourceHistory',
    'startWatch',
    'type ActualSource',
    'type ActualSourceFactory',
    'type ConflictStatus',
    'type ConflictStrategy',
    'type ConnectionStatus',
    'type DesiredSource',
    'type DiffActualSource',
    'type DiffDesiredSource',
    'type DiffOperation',
    'type DiffSummary',
    'type DiffedObject',
    'type DoctorFinding',
    'type DoctorReport',
    'type Draft',
    'type DraftCallOptions',
    'type DraftCallResult',
    'type DraftChange',
    'type DraftConflictDetails',
    'type DraftConflictPath',
    'type DraftInput',
    'type DraftKey',
    'type DraftOperation',
    'type DraftOutcome',
    'type DriftReport',
    'type DriftReportFilter',
    'type DriftSeverity',
    'type DriftStatus',
    'type DriftedResource',
    'type ExternalModification',
    'type FabricDiffOptions',
    'type FabricDiffReport',
    'type FabricDriftSummary',
    'type FabricOverview',
    'type FabricRef',
    'type FabricRows',
    'type FabricSettings',
    'type FabricStatus',
    'type FabricSyncServiceOptions',
    'type FabricSyncStatus',
    'type IgnoreRule',
    'type KindCount',
    'type Ledger',
    'type LedgerObject',
    'type LedgerOptions',
    'type LeftOutObject',
    'type Logger',
    'type NotCompared',
    'type ObjectError',
    'type ObjectFilter',
    'type ObjectHistory',
    'type ObjectHistoryEntry',
    'type PublishOptions',
    'type PublishReport',
    'type PublishedEntry',
    'type ReadOptions',
    'type RecreatedObject',
    'type RefusedEntry',
    'type ReleaseReason',
    'type RemovedFabricRows',
    'type ResourceChange',
    'type ResourceEvent',
    'type ResourceHistoryEntry',
    'type ResourceIdentity',
    'type ResourceState',
    'type ResourceSyncDirection',
    'type RunCounts',
    'type RunDetails',
    'type RunFailure',
    'type RunFilter',
    'type RunOutage',
    'type RunProgress',
    'type RunRecord',
    'type RunStatus',
    'type RunType',
    'type SchemaDoctorOptions',
    'type SyncDirection',
    'type SyncOperationStatus',
    'type SyncOperationType',
    'type SyncRunReport',
    'type SyncServiceEvents',
    'type TransitionContext',
    'type TransitionState',
    'type TransitionTrigger',
    'type UnreadableResource',
    'type WatchEvents',
    'type WatchHandle',
    'type WatchLeaseState',
    'type WatchOptions',
    'type WatchTarget',
  ],
  './drift': [
    'ANNOTATION_DETAIL_LIMIT',
    'CRITICAL_PATHS',
    'DRIFT_SEVERITIES',
    'DRIFT_STATUSES',
    'HIGH_SCORE_THRESHOLD',
    'IGNORED_ANNOTATIONS',
    'IGNORED_LABELS',
    'canonicalJson',
    'computeDrift',
    'ignoreRuleProblem',
    'normalizeSide',
    'normalizeValue',
    'severityFor',
    'summarizeDrift',
    'touchesCriticalPath',
    'type DriftInput',
    'type DriftOp',
    'type DriftResult',
    'type DriftSeverity',
    'type DriftStatus',
    'type DriftSummary',
    'type IgnoreRule',
    'type Normalizable',
    'type SchemaDefaults',
    'type SideState',
  ],
  './kube': [
    'ClusterInformer',
    'ClusterReader',
    'DEFAULT_MAX_OBJECT_BYTES',
    'FABRIC_KINDS',
    'KubeAuthError',
    'KubeConfigError',
    'KubeRequestError',
    'MalformedResponseError',
    'contextName',
    'isFabricKind',
    'kindInfo',
    'loadKubeConfig',
    'type ActualObservation',
    'type ClusterInformerOptions',
    'type ClusterReaderOptions',
    'type DiscoveryResult',
    'type InClusterEnvironment',
    'type InformerStats',
    'type KindInfo',
    'type KindListResult',
    'type KindPageSink',
    'type KindPagesResult',
    'type KubeAccess',
    'type ObjectError',
    'type ResourceKey',
    'type RetryInfo',
    'type WatchEventBatch',
    'type WatchRestart',
  ],
  './gitops': [
    'DEFAULT_MAX_ALIAS_COUNT',
    'DEFAULT_MAX_FILE_BYTES',
    'DesiredSourceError',
    'MAX_OTHER_KIND_FILES',
    'defaultCacheDir',
    'isRemoteRepository',
    'parseManifestFile',
    'readDesiredState',
    'resolveSourceRef',
    'stripUrlCredentials',
    'type DesiredConflict',
    'type DesiredObservation',
    'type DesiredReadOptions',
    'type DesiredReadResult',
    'type GitSource',
    'type ObjectError',
    'type ParseManifestOptions',
    'type ParsedManifestFile',
    'type ResourceKey',
    'type StrippedUrl',
  ],
  './crds': [
    'CrdLoadError',
    'SchemaDefaults',
    'crdSchemaKey',
    'crdSchemasFromObjects',
    'createCrdValidator',
    'loadCrdSchemasFromDir',
    'schemaDefaultsFor',
    'type CrdLoadOptions',
    'type CrdProblem',
    'type CrdSchemas',
    'type CrdValidator',
    'type CrdValidatorOptions',
    'type DefaultsNode',
    'type OpenApiSchema',
  ],
  './db': [
    'DEFAULT_CONNECT_TIMEOUT_MS',
    'DEFAULT_DATA_DIR',
    'DatabaseMissingError',
    'DatabaseUnavailableError',
    'DoctorScopeError',
    'LedgerSchemaUnhealthyError',
    'MIGRATIONS',
    'MIGRATIONS_TABLE',
    'assertLedgerSchemaHealthy',
    'checkLedgerSchema',
    'createOrmConfig',
    'formatDoctorReport',
    'openDatabase',
    'probeDatabase',
    'redactDatabaseUrl',
    'resolveDatabaseUrl',
    'runSchemaDoctor',
    'startEmbeddedPostgres',
    'type DatabaseLogger',
    'type DoctorFinding',
    'type DoctorFindingKind',
    'type DoctorRepair',
    'type DoctorReport',
    'type EmbeddedPostgres',
    'type EmbeddedPostgresOptions',
    'type OpenDatabaseOptions',
    'type OpenedDatabase',
    'type SchemaDoctorOptions',
    'type SchemaPreflight',
  ],
  './kinds': [
    'FABRIC_KIND_NAMES',
    'type Connection',
    'type ConnectionSpec',
    'type External',
    'type ExternalAttachment',
    'type ExternalAttachmentSpec',
    'type ExternalPeering',
    'type ExternalPeeringSpec',
    'type ExternalSpec',
    'type FabricKindMap',
    'type FabricKindName',
    'type FabricObject',
    'type FabricObjectMeta',
    'type FabricOwnerReference',
    'type IPv4Namespace',
    'type IPv4NamespaceSpec',
    'type Server',
    'type ServerProfile',
    'type ServerProfileSpec',
    'type ServerSpec',
    'type Switch',
    'type SwitchGroup',
    'type SwitchGroupSpec',
    'type SwitchProfile',
    'type SwitchProfileSpec',
    'type SwitchSpec',
    'type VLANNamespace',
    'type VLANNamespaceSpec',
    'type VPC',
    'type VPCAttachment',
    'type VPCAttachmentSpec',
    'type VPCPeering',
    'type VPCPeeringSpec',
    'type VPCSpec',
  ],
  './testing': [
    'FakeKubeApi',
    'KubeStatusError',
    'commitFiles',
    'createGitRepo',
    'demoClusterFabric',
    'demoFabric',
    'demoGitFabric',
    'generateSampleFabric',
    'git',
    'sampleFabricCounts',
    'toManifestFiles',
    'type CommitOptions',
    'type DemoGitDifferences',
    'type FakeKubeApiOptions',
    'type FakeKubeRequest',
    'type Fault',
    'type FaultMatch',
    'type GitFileContent',
    'type GitRepoOptions',
    'type KubeObject',
    'type KubeObjectLike',
    'type KubeObjectMeta',
    'type KubeStatus',
    'type ManifestFilesOptions',
    'type SampleFabricOptions',
    'type ServerDefaultsOptions',
    'withServerDefaults',
    'writeFiles',
  ],
};

/** The entry points of package.json `exports`, as the source file each compiled one comes from. */
function entryPoints(): [subpath: string, source: string][] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports: Record<string, string | { import: string }>;
  };
  return Object.entries(pkg.exports)
    .filter((e): e is [string, { import: string }] => typeof e[1] === 'object')
    .map(([subpath, target]) => [subpath, target.import.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')]);
}

/** Type-only import or export of a name (`export type { X }`, `export { type X }`, `import type`). */
function typeOnly(decl: ts.Declaration): boolean {
  if (ts.isExportSpecifier(decl) || ts.isImportSpecifier(decl)) return decl.isTypeOnly || typeOnly(decl.parent.parent);
  if (ts.isExportDeclaration(decl)) return decl.isTypeOnly;
  if (ts.isImportClause(decl)) return decl.phaseModifier === ts.SyntaxKind.TypeKeyword;
  if (ts.isNamedImports(decl)) return typeOnly(decl.parent);
  return false;
}

/** A runtime value: the export resolves to one, through no type-only link (a class exported `type` is a type here). */
function isValue(checker: ts.TypeChecker, symbol: ts.Symbol): boolean {
  let s = symbol;
  while (s.flags & ts.SymbolFlags.Alias) {
    if ((s.declarations ?? []).some(typeOnly)) return false;
    s = checker.getImmediateAliasedSymbol(s) ?? checker.getAliasedSymbol(s);
  }
  return (s.flags & ts.SymbolFlags.Value) !== 0;
}

/** What the compiler sees each entry point export (types included), from the sources. */
function declaredExports(entries: [string, string][]): Record<string, string[]> {
  const files = entries.map(([, source]) => path.join(root, source));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    experimentalDecorators: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    entries.map(([subpath], i) => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(files[i]!)!)!;
      const names = checker.getExportsOfModule(module).map((s) => (isValue(checker, s) ? s.name : `type ${s.name}`));
      return [subpath, names.sort()];
    }),
  );
}

test('package.json exports exactly the entry points listed here', () => {
  expect(
    entryPoints()
      .map(([subpath]) => subpath)
      .sort(),
  ).toEqual(Object.keys(API).sort());
});

test.each(Object.keys(API))('%s: the runtime exports are the listed values', async (subpath) => {
  const source = entryPoints().find(([s]) => s === subpath)![1];
  const mod = (await import(`../${source.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
  expect(Object.keys(mod).sort()).toEqual(API[subpath]!.filter((n) => !n.startsWith('type ')));
});

test('every entry point declares exactly the listed values and types', () => {
  expect(declaredExports(entryPoints())).toEqual(API);
}, 120_000);

test('no entry point re-exports a module wholesale (`export *` would let a new export in unnoticed by its author)', () => {
  const wholesale = entryPoints().filter(([, source]) =>
    /^export \*/m.test(readFileSync(path.join(root, source), 'utf8')),
  );
  expect(wholesale).toEqual([]);
});
