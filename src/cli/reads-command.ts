/**
 * `hh-sync runs <fabric>`, `hh-sync history <fabric> <Kind>/<name>` and `hh-sync get <fabric> [<Kind>[/<name>]]`:
 * what the ledger holds, read like kubectl reads a cluster. Flags and their checks only; the work is in
 * reads-actions.ts, loaded when a command runs.
 */
import { Option, type Command } from 'commander';
import { SYNC_OPERATION_STATUSES, SYNC_OPERATION_TYPES } from '../entities/enums.js';
import type { SyncOperationStatus, SyncOperationType } from '../entities/enums.js';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { collect, resolveKind } from './fabric-options.js';
import { parseObjectRef, type ObjectRef } from './object-ref.js';
import { addNamespaceFilter, namespaceFilter, type NamespaceFlags } from './output-format.js';
import { dns1123LabelProblem } from '../common/k8s-names.js';

const actions = () => import('./reads-actions.js');

/** The statuses a run row takes, and the words people use for two of them. */
const STATUS_ALIASES: Record<string, SyncOperationStatus> = { success: 'completed', running: 'in_progress' };

export interface RunsFlags {
  limit?: string;
  type?: string[];
  status?: string[];
}

export interface RunsQuery {
  limit: number;
  type?: SyncOperationType[];
  status?: SyncOperationStatus[];
}

/** Most runs one call may ask for: a typo of a few extra digits should not read the whole history into memory. */
export const MAX_RUNS = 10_000;

/** `--limit`, `--type` and `--status` checked: a bad value is a usage error naming the flag and what it takes. */
export function runsQuery(flags: RunsFlags): RunsQuery {
  let limit = 20;
  if (flags.limit !== undefined) {
    limit = Number(flags.limit);
    if (!/^\d+$/.test(flags.limit) || limit < 1 || limit > MAX_RUNS)
      throw new UsageError(`--limit ${flags.limit}: must be a whole number from 1 to ${MAX_RUNS}`);
  }
  const type = flags.type?.map((t) => {
    const v = t.toLowerCase();
    if (!(SYNC_OPERATION_TYPES as readonly string[]).includes(v))
      throw new UsageError(`--type ${t}: expected one of ${SYNC_OPERATION_TYPES.join(', ')}`);
    return v as SyncOperationType;
  });
  const status = flags.status?.map((s) => {
    const v = s.toLowerCase().replace(/-/g, '_');
    const status = STATUS_ALIASES[v] ?? v;
    if (!(SYNC_OPERATION_STATUSES as readonly string[]).includes(status))
      throw new UsageError(
        `--status ${s}: expected one of ${SYNC_OPERATION_STATUSES.join(', ')} (success = completed, running = in_progress)`,
      );
    return status as SyncOperationStatus;
  });
  return {
    limit,
    type: type?.length ? [...new Set(type)] : undefined,
    status: status?.length ? [...new Set(status)] : undefined,
  };
}

/** `history`'s object: `<Kind>/<name>` (namespace from -n, else default) or `<Kind>/<namespace>/<name>`. */
export function historyTarget(text: string, namespace: string | undefined): ObjectRef {
  const ref = parseObjectRef(text);
  if (namespace === undefined) return ref;
  const problem = dns1123LabelProblem(namespace);
  if (problem) throw new UsageError(`-n ${namespace}: the namespace ${problem}`);
  if (text.split('/').length === 3 && ref.namespace !== namespace)
    throw new UsageError(`${JSON.stringify(text)} names namespace ${ref.namespace} but -n says ${namespace}: give one`);
  return { ...ref, namespace };
}

/** What `get` selects: every object, one kind, or one object (its namespace from the argument or -n). */
export interface GetQuery {
  kind?: string;
  name?: string;
  /** Only these namespaces (undefined: all). */
  namespaces?: string[];
  /** The argument named one object: print it alone (not a list), and say so when it is not there. */
  single: boolean;
}

export function getQuery(target: string | undefined, flags: NamespaceFlags): GetQuery {
  const namespaces = namespaceFilter(flags);
  for (const ns of namespaces ?? []) {
    const problem = dns1123LabelProblem(ns);
    if (problem) throw new UsageError(`-n ${ns}: the namespace ${problem}`);
  }
  if (target === undefined) return { namespaces, single: false };
  if (!target.includes('/')) return { kind: resolveKind(target, 'kind'), namespaces, single: false };
  const ref = parseObjectRef(target);
  if (target.split('/').length === 3) {
    if (namespaces && !namespaces.includes(ref.namespace))
      throw new UsageError(
        `${JSON.stringify(target)} names namespace ${ref.namespace} but -n says ${namespaces.join(',')}`,
      );
    return { kind: ref.kind, name: ref.name, namespaces: [ref.namespace], single: true };
  }
  if (namespaces && namespaces.length > 1)
    throw new UsageError(`${JSON.stringify(target)} names one object: give at most one -n namespace`);
  return { kind: ref.kind, name: ref.name, namespaces, single: true };
}

export function registerReadCommands(program: Command, runner: CommandRunner): void {
  examples(
    program
      .command('runs')
      .argument('<fabric>', 'the fabric whose runs to list')
      .description('list the sync runs the ledger recorded: type, status, duration, counts and errors, newest first')
      .option('--limit <n>', 'at most this many runs (default 20)')
      .option(
        '--type <type>',
        `only runs of these types; repeat or comma-separate (${SYNC_OPERATION_TYPES.join(', ')})`,
        collect,
      )
      .option(
        '--status <status>',
        `only runs with these statuses; repeat or comma-separate (${SYNC_OPERATION_STATUSES.join(', ')}; success = completed, running = in_progress)`,
        collect,
      ),
    [
      ['hh-sync runs dc1', 'the last 20 runs'],
      ['hh-sync runs dc1 --type desired --status failed,partial --limit 5', ''],
      ['hh-sync runs dc1 -o json | jq ".[0].errorMessage"', ''],
    ],
  ).action((fabric: string, flags: RunsFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      const query = runsQuery(flags);
      return (await actions()).listRuns(fabric, query, g, out, context);
    }),
  );

  examples(
    program
      .command('history')
      .argument('<fabric>', 'the fabric the object belongs to')
      .argument('<object>', '<Kind>/<name> or <Kind>/<namespace>/<name> (kind as kubectl takes it: vpc, VPCs, …)')
      .description(
        "show an object's state transitions, oldest first: what changed it, when, in which run; deletions and earlier incarnations included",
      )
      .addOption(new Option('-n, --namespace <ns>', 'the object\'s namespace (default "default")')),
    [
      ['hh-sync history dc1 vpc/vpc-1', ''],
      ['hh-sync history dc1 server/server-03 -n fabric', ''],
    ],
  ).action((fabric: string, object: string, flags: { namespace?: string }, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      const ref = historyTarget(object, flags.namespace);
      return (await actions()).showHistory(fabric, ref, g, out, context);
    }),
  );

  examples(
    addNamespaceFilter(
      program
        .command('get')
        .argument('<fabric>', 'the fabric whose objects to show')
        .argument('[object]', '<Kind> for every object of a kind, <Kind>/<name> or <Kind>/<namespace>/<name> for one')
        .description(
          'show the objects the ledger holds: state and drift; -o yaml|json adds both sides and where Git declares them',
        ),
    ),
    [
      ['hh-sync get dc1', 'every object'],
      ['hh-sync get dc1 vpc -n default -o wide', 'VPCs of one namespace, with commit and file'],
      ['hh-sync get dc1 vpc/vpc-1 -o yaml', 'one object: desired, actual, drift and provenance'],
    ],
  ).action((fabric: string, object: string | undefined, flags: NamespaceFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      const query = getQuery(object, flags);
      return (await actions()).getObjects(fabric, query, g, out, context);
    }),
  );
}
