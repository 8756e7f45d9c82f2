/** `hh-sync fabric add|set|list|show|remove`: the fabrics the ledger tracks and where their two sides live. */
import type { Command } from 'commander';
import { CommandRunner, examples } from './command-runner.js';
import { UsageError } from './cli-errors.js';
import { STRUCTURED_FORMATS, requireFormat } from './output-format.js';
import { checkFabricName, collect, collectRaw, fabricSettingsFromFlags, type FabricFlags } from './fabric-options.js';

/** The work lives in fabric-actions.ts, loaded only when a fabric command runs (help stays instant). */
const actions = () => import('./fabric-actions.js');

/** The flags `add` and `set` share. */
function fabricFlags(command: Command, forSet: boolean): Command {
  command
    .option(
      '--kubeconfig <path>',
      "kubeconfig file of the fabric's cluster (its server URL is kept for display; no credential is stored)",
    )
    .option('--context <ctx>', 'context in the kubeconfig (default: its current-context)')
    .option('--in-cluster', "use the pod's service account instead of a kubeconfig")
    .option('--namespace <ns>', 'namespace to read; repeat or comma-separate for several (default: all)', collect)
    .option(
      '--all-namespaces',
      forSet ? 'read every namespace again (clears --namespace)' : 'read every namespace (the default)',
    )
    .option('--git <path-or-url>', 'Git repository of the desired state: a local path or a URL git can clone')
    .option('--ref <ref>', "branch, tag or commit to read (default: the repository's HEAD)")
    .option('--path <subdir>', 'directory inside the repository holding the manifests (default: the whole repository)')
    .option('--crds <dir>', 'directory of CRD YAML files to validate and default manifests with')
    .option('--description <text>', 'free text shown in `fabric list`')
    .option('--interval <seconds>', 'how often `watch` re-reads Git (default 300)')
    .option(
      '--ignore <rule>',
      'field the drift check skips: <pointer>, <Kind>:<pointer> or <Kind>/<name>:<pointer>; repeatable',
      collectRaw,
    )
    .option(
      '--sync-direction <direction>',
      'git_to_ledger (Git read only: drafts refused), ledger_to_git or bidirectional (the default)',
    )
    .option(
      '--managed-file-template <template>',
      'where publish writes an object Git does not declare yet, relative to --path; placeholders {plural}, {kind}, {namespace}, {name} (default managed/{plural}/{name}.yaml)',
    );
  if (forSet) command.option('--clear-ignore', 'remove every ignore rule');
  return command;
}

export function registerFabricCommand(program: Command, runner: CommandRunner): void {
  const fabric = program
    .command('fabric')
    .description('add, change, list, show and remove the fabrics the ledger tracks');
  examples(fabric, [
    ['hh-sync fabric add dc1 --kubeconfig ~/.kube/dc1 --git git@github.com:acme/dc1-fabric.git --path fabric', ''],
    ['hh-sync fabric list', ''],
  ]);

  examples(
    fabricFlags(
      fabric
        .command('add')
        .argument('<name>', 'a name for the fabric')
        .description('add a fabric: where its cluster and its Git repository are'),
      false,
    ),
    [
      ['hh-sync fabric add dc1 --kubeconfig ~/.kube/dc1 --context admin@dc1', 'cluster only'],
      ['hh-sync fabric add dc1 --kubeconfig ./kubeconfig --git ./fabric-repo --ref main --path fabric', 'both sides'],
      ['hh-sync fabric add dc1 --git https://git.example.com/net/dc1.git --namespace default', ''],
      ['hh-sync fabric add dc1 --in-cluster --git /srv/fabric --ignore "VPC:/spec/subnets/*/dhcp"', ''],
    ],
  ).action((name: string, flags: FabricFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      // Flags are checked before the database code is even loaded: a typo answers at once.
      requireFormat('fabric add', out.format, STRUCTURED_FORMATS);
      checkFabricName(name);
      if (flags.clearIgnore) throw new UsageError('--clear-ignore is for `fabric set`');
      const prepared = await fabricSettingsFromFlags(flags, undefined, context);
      return (await actions()).addFabric(name, prepared, g, out, context);
    }),
  );

  examples(
    fabricFlags(
      fabric
        .command('set')
        .argument('<name>', 'the fabric to change')
        .description('change settings of a fabric (same flags as add)'),
      true,
    ),
    [
      ['hh-sync fabric set dc1 --ref release-2', 'read another branch'],
      ['hh-sync fabric set dc1 --namespace default,tenant-a', ''],
      ['hh-sync fabric set dc1 --ignore Switch:/spec/description --interval 600', ''],
    ],
  ).action((name: string, flags: FabricFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => (await actions()).setFabric(name, flags, g, out, context)),
  );

  examples(fabric.command('list').description('list the fabrics with their sources and last sync'), [
    ['hh-sync fabric list', ''],
    ['hh-sync fabric list --json', 'settings and sync summaries as JSON'],
    ['hh-sync fabric list -o wide', 'every setting as a column'],
  ]).action((_opts: unknown, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => (await actions()).listFabrics(g, out, context)),
  );

  examples(
    fabric
      .command('show')
      .argument('<name>', 'the fabric to show')
      .description('show a fabric: its settings, drift counts, watch lease holder and last 5 runs'),
    [
      ['hh-sync fabric show dc1', ''],
      ['hh-sync fabric show dc1 -o yaml', ''],
    ],
  ).action((name: string, _opts: unknown, cmd: Command) =>
    runner.run(cmd, async (g, out, context) =>
      (await import('./fabric-show-action.js')).showFabric(name, g, out, context),
    ),
  );

  examples(
    fabric
      .command('remove')
      .argument('<name>', 'the fabric to remove')
      .option('-y, --yes', 'remove without asking (required when stdin is not a terminal)')
      .description(
        'remove a fabric and everything the ledger holds about it: its objects, runs, history and CRD schemas (nothing is kept)',
      ),
    [
      ['hh-sync fabric remove lab-old', 'asks first, naming what goes'],
      ['hh-sync fabric remove lab-old --yes', 'in a script'],
    ],
  ).action((name: string, opts: { yes?: boolean }, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      // A format it cannot print is refused before anything is asked or removed.
      requireFormat('fabric remove', out.format, STRUCTURED_FORMATS);
      return (await actions()).removeFabric(name, opts.yes === true, g, out, context);
    }),
  );
}
