/** The work of `hh-sync fabric add|set|list|remove` (loaded when one of them runs). */
import type { FabricRecord } from '../store/fabric-rows.js';
import { FabricNotFoundError } from '../fabrics/fabric-not-found.js';
import { openFabricReadsFor, openReaderFor } from './cli-ledger.js';
import type { CliContext } from './cli-context.js';
import type { GlobalOptions, Output } from './cli-output.js';
import { UsageError } from './cli-errors.js';
import { fabricSettingsFromFlags, type FabricFlags, type PreparedSettings } from './fabric-options.js';
import { fabricJson } from './json-shapes.js';
import { fitLine, renderTable } from './text-table.js';
import { OBJECT_FORMATS, STRUCTURED_FORMATS, requireFormat } from './output-format.js';
import { safeLine, shellArg } from './terminal-text.js';
import { stripUrlCredentials } from '../gitops/git-url.js';
import { redactUrlCredentials } from '../kube/redact.js';
import type { RemovedFabricRows } from '../fabrics/fabric-registry.js';
import { fabricRows } from '../reads/ledger-reads.js';
import type { FabricRemoveJson } from './reads-json.js';

/** A Git URL as shown: without credentials, even one stored before they were removed on input. */
const shownUrl = (url: string): string => stripUrlCredentials(url).url;

/** A fabric's settings as `fabric add|set|show` print them (URLs without credentials). */
export function describeFabric(f: FabricRecord, out: Output): string {
  const c = out.c;
  const cluster = f.inCluster
    ? 'in-cluster service account'
    : `${f.kubeconfigPath ?? 'default kubeconfig ($KUBECONFIG or ~/.kube/config)'}${f.kubeContext ? ` (context ${f.kubeContext})` : ''}`;
  const lines = [
    `${c.bold(f.name)}${f.description ? ` — ${f.description}` : ''}`,
    `  cluster     ${cluster}${f.apiServerUrl ? c.dim(` → ${redactUrlCredentials(f.apiServerUrl)}`) : ''}`,
    `  namespaces  ${f.namespaces.length ? f.namespaces.join(', ') : 'all'}`,
    `  git         ${f.gitRepository ? `${shownUrl(f.gitRepository)}${f.gitRef ? `@${f.gitRef}` : ''}${f.gitPath ? ` (${f.gitPath})` : ''}` : c.dim('none (set one with --git)')}`,
  ];
  if (f.crdDirectory) lines.push(`  crds        ${f.crdDirectory}`);
  if (f.ignoreRules.length) {
    lines.push(`  ignore      ${f.ignoreRules.map(ignoreRuleText).join(', ')}`);
  }
  lines.push(`  interval    ${f.syncIntervalSeconds} s`);
  lines.push(
    `  direction   ${f.syncDirection}${f.syncDirection === 'git_to_ledger' ? c.dim(' (Git read only: no drafts)') : ''}`,
  );
  lines.push(`  new files   ${f.managedFileTemplate}`);
  return lines.join('\n');
}

function lastSync(f: FabricRecord): string {
  if (!f.lastSync) return 'never';
  return new Date(f.lastSync)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}

/** `fabric add` with its flags already checked (fabric-command.ts does that before loading this module). */
export async function addFabric(
  name: string,
  prepared: PreparedSettings,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const { settings, notes } = prepared;
  const ledger = await openReaderFor(g, out, context, { create: true });
  try {
    const fabric = await ledger.fabrics.create(name, settings);
    for (const n of notes) out.info(`note: ${n}`);
    if (out.structured) out.printData(fabricJson(fabric));
    else {
      out.result(`${out.c.green('✓')} added fabric ${describeFabric(fabric, out)}`);
      out.info(`next: hh-sync sync ${shellArg(name)}`);
    }
    return 0;
  } finally {
    await ledger.close();
  }
}

export async function setFabric(
  name: string,
  flags: FabricFlags,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  requireFormat('fabric set', out.format, STRUCTURED_FORMATS);
  const given = Object.entries(flags).filter(([, v]) => v !== undefined && v !== false);
  if (given.length === 0)
    throw new UsageError(`nothing to change: give at least one flag (see \`hh-sync fabric set --help\`)`);
  const ledger = await openReaderFor(g, out, context);
  try {
    const existing = await ledger.fabrics.get(name);
    if (!existing) throw new FabricNotFoundError(name);
    const { settings, notes } = await fabricSettingsFromFlags(flags, existing, context);
    const fabric = (await ledger.fabrics.update(name, settings))!;
    for (const n of notes) out.info(`note: ${n}`);
    if (out.structured) out.printData(fabricJson(fabric));
    else out.result(`${out.c.green('✓')} updated fabric ${describeFabric(fabric, out)}`);
    return 0;
  } finally {
    await ledger.close();
  }
}

export async function listFabrics(g: GlobalOptions, out: Output, context: CliContext): Promise<number> {
  requireFormat('fabric list', out.format, OBJECT_FORMATS);
  const ledger = await openFabricReadsFor(g, out, context);
  try {
    const fabrics = await ledger.list();
    if (out.structured) out.printData(fabrics.map(fabricJson));
    else if (out.format === 'name') {
      if (fabrics.length) out.result(fabrics.map((f) => `fabric/${safeLine(f.name)}`).join('\n'));
    } else if (fabrics.length === 0)
      out.result('No fabrics yet. Add one with `hh-sync fabric add <name> --kubeconfig <path> --git <repo>`.');
    else out.result(fabricTable(fabrics, out));
    return 0;
  } finally {
    await ledger.close();
  }
}

/** Name, cluster, Git, status, drifted count, last sync (`-o wide`: every setting too), and last sync errors. */
function fabricTable(fabrics: FabricRecord[], out: Output): string {
  const c = out.c;
  // Names and settings may predate name checks or come from a library caller: made inert before printing.
  const rows = fabrics.map((f) => [
    safeLine(f.name),
    safeLine(
      f.inCluster ? 'in-cluster' : f.apiServerUrl ? redactUrlCredentials(f.apiServerUrl) : (f.kubeconfigPath ?? '-'),
    ),
    safeLine(
      f.gitRepository
        ? `${shownUrl(f.gitRepository)}${f.gitRef ? `@${f.gitRef}` : ''}${f.gitPath ? `:${f.gitPath}` : ''}`
        : '-',
    ),
    f.syncStatus === 'in_sync'
      ? c.green(f.syncStatus)
      : f.syncStatus === 'never_synced'
        ? c.dim(f.syncStatus)
        : c.yellow(f.syncStatus),
    String(f.driftedCount),
    lastSync(f),
    ...(out.wide ? wideCells(f) : []),
  ]);
  const header = [
    'NAME',
    'CLUSTER',
    'GIT',
    'STATUS',
    'DRIFTED',
    'LAST SYNC',
    ...(out.wide
      ? ['CONTEXT', 'NAMESPACES', 'CRDS', 'INTERVAL', 'DIRECTION', 'IGNORE', 'NEW FILES', 'DESCRIPTION']
      : []),
  ].map((h) => c.dim(h));
  const lines = renderTable(header, rows, { width: out.tableWidth, shrinkable: [0, 1, 2] });
  for (const f of fabrics.filter((f) => f.lastSyncError))
    lines.push(
      ...fitLine(
        c.yellow(`${safeLine(f.name)}: last sync error: ${safeLine(f.lastSyncError!.split('\n')[0]!)}`),
        out.tableWidth,
      ),
    );
  return lines.join('\n');
}

/** The settings `-o wide` adds to a fabric's row. */
function wideCells(f: FabricRecord): string[] {
  return [
    safeLine(f.kubeContext ?? '-'),
    safeLine(f.namespaces.length ? f.namespaces.join(',') : 'all'),
    safeLine(f.crdDirectory ?? '-'),
    `${f.syncIntervalSeconds}s`,
    f.syncDirection,
    safeLine(f.ignoreRules.length ? f.ignoreRules.map(ignoreRuleText).join(',') : '-'),
    safeLine(f.managedFileTemplate),
    safeLine(f.description || '-'),
  ];
}

const ignoreRuleText = (r: FabricRecord['ignoreRules'][number]): string =>
  `${r.kind ? `${r.kind}${r.name ? `/${r.name}` : ''}:` : ''}${r.pointer}`;

/**
 * `fabric remove`: with `yes` at once; otherwise asks on a terminal, naming what would go, and refuses (usage error)
 * when there is nobody to ask. Says how many rows went: the schema deletes the fabric's objects, runs and CRD schemas
 * by cascade and its history explicitly (history outlives deleted objects, so a cascade would only detach it).
 */
export async function removeFabric(
  name: string,
  yes: boolean,
  g: GlobalOptions,
  out: Output,
  context: CliContext,
): Promise<number> {
  const ledger = await openReaderFor(g, out, context);
  try {
    const fabric = await ledger.fabrics.get(name);
    if (!fabric) throw new FabricNotFoundError(name);
    if (!yes) {
      const rows = await fabricRows(ledger.em.fork(), fabric.id);
      const what = `fabric ${safeLine(name)} and its ${removalText(rows)}`;
      if ((context.stdin as { isTTY?: boolean }).isTTY !== true)
        throw new UsageError(`not removing ${what}: give --yes to confirm (stdin is not a terminal to ask on)`);
      context.stderr.write(`remove ${what}? [y/N] `);
      if (!/^y(es)?$/i.test((await firstLine(context.stdin)).trim())) {
        out.info(`fabric ${safeLine(name)} not removed`);
        if (out.structured) out.printData({ fabric: name, removed: false, rows } satisfies FabricRemoveJson);
        return 0;
      }
    }
    const removed = await ledger.fabrics.removeCounting(name);
    if (!removed) throw new FabricNotFoundError(name); // removed by someone else since
    if (out.structured) out.printData({ fabric: name, removed: true, rows: removed } satisfies FabricRemoveJson);
    else out.result(`${out.c.green('✓')} removed fabric ${safeLine(name)}: deleted ${removalText(removed)}`);
    return 0;
  } finally {
    await ledger.close();
  }
}

function removalText(r: RemovedFabricRows): string {
  return `${r.objects} objects, ${r.runs} runs, ${r.transitions} history rows and ${r.crdSchemas} CRD schemas`;
}

/** The first line typed on `stdin` (what is left of it unread). */
async function firstLine(stdin: AsyncIterable<string | Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const end = text.indexOf('\n');
    if (end >= 0) return text.slice(0, end);
  }
  return text;
}
