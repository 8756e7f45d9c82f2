/** `hh-sync drift <fabric> [--status …] [--severity …] [--kind …] [--all] [--exit-code]` */
import type { Command } from 'commander';
import { DRIFT_SEVERITIES, DRIFT_STATUSES, type DriftSeverity, type DriftStatus } from '../drift/types.js';
import type { DriftReportFilter } from '../sync/drift-report.js';
import { UsageError } from './cli-errors.js';
import { CommandRunner, examples } from './command-runner.js';
import { collect, resolveKind } from './fabric-options.js';
import {
  addNamespaceFilter,
  namespaceFilter,
  requireFormat,
  OBJECT_FORMATS,
  type NamespaceFlags,
} from './output-format.js';

export interface DriftFlags extends NamespaceFlags {
  status?: string[];
  severity?: string[];
  kind?: string[];
  all?: boolean;
  exitCode?: boolean;
  maxPaths?: string;
}

/** `spec-drift` and `SPEC_DRIFT` mean `spec_drift`; anything else outside the vocabulary is a usage error. */
function oneOf<T extends string>(flag: string, values: readonly T[], given: string[] | undefined): T[] | undefined {
  if (!given?.length) return undefined;
  return [
    ...new Set(
      given.map((v) => {
        const norm = v.toLowerCase().replace(/-/g, '_');
        if (!(values as readonly string[]).includes(norm))
          throw new UsageError(`${flag} ${v}: expected one of ${values.join(', ')}`);
        return norm as T;
      }),
    ),
  ];
}

export function driftFilter(flags: DriftFlags): DriftReportFilter {
  return {
    status: oneOf<DriftStatus>('--status', DRIFT_STATUSES, flags.status),
    severity: oneOf<DriftSeverity>('--severity', DRIFT_SEVERITIES, flags.severity),
    kind: flags.kind?.length ? [...new Set(flags.kind.map((k) => resolveKind(k)))] : undefined,
    namespace: namespaceFilter(flags),
    includeInSync: flags.all === true,
  };
}

export function registerDriftCommand(program: Command, runner: CommandRunner): void {
  const command = addNamespaceFilter(
    program
      .command('drift')
      .argument('<fabric>', 'the fabric to report on')
      .description(
        'show what differs between Git and the cluster, as of the last syncs (the ledger is read, nothing is synced)',
      )
      .option(
        '--status <status>',
        `only these drift statuses; repeat or comma-separate (${DRIFT_STATUSES.join(', ')})`,
        collect,
      )
      .option(
        '--severity <severity>',
        `only these severities; repeat or comma-separate (${DRIFT_SEVERITIES.join(', ')})`,
        collect,
      )
      .option('--kind <kind>', 'only these kinds (VPC, Connection, …); repeat or comma-separate', collect)
      .option('--all', 'list in-sync objects too')
      .option('--max-paths <n>', 'differing paths shown per object in the table (default 3)')
      .option('--exit-code', 'exit 1 when an object (after the filters) differs (for CI)'),
  );
  examples(command, [
    ['hh-sync drift dc1', 'a table of the drifted objects'],
    ['hh-sync drift dc1 --severity critical,high --exit-code', 'CI gate on serious drift'],
    ['hh-sync drift dc1 --kind VPC --status spec_drift', ''],
    ['hh-sync drift dc1 -n tenant-a -o wide', 'one namespace, every differing path, nothing cut'],
    ['hh-sync drift dc1 -o name | xargs hh-sync draft discard dc1', 'Kind/name per differing object'],
    ['hh-sync drift dc1 --json | jq \'.resources[] | select(.driftSeverity=="critical")\'', ''],
  ]).action((fabric: string, flags: DriftFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('drift', out.format, OBJECT_FORMATS);
      const filter = driftFilter(flags);
      let maxPaths = 3;
      if (flags.maxPaths !== undefined) {
        maxPaths = Number(flags.maxPaths);
        if (!/^\d+$/.test(flags.maxPaths) || maxPaths < 1)
          throw new UsageError(`--max-paths ${flags.maxPaths}: must be a positive whole number`);
      }
      return (await import('./drift-action.js')).runDrift(
        fabric,
        filter,
        { maxPaths, exitCode: flags.exitCode === true },
        g,
        out,
        context,
      );
    }),
  );
}
