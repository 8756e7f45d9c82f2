/**
 * `hh-sync draft apply|delete|discard|diff`, `hh-sync drafts` and `hh-sync publish`: changes prepared in the
 * ledger and published to the fabric's Git repository. Light: flags and help only; the work is in
 * draft-actions.ts and publish-action.ts, loaded when a command runs.
 */
import type { Command } from 'commander';
import { CommandRunner, examples } from './command-runner.js';
import { UsageError } from './cli-errors.js';
import { parseObjectRef, type ObjectRef } from './object-ref.js';
import {
  OBJECT_FORMATS,
  STRUCTURED_FORMATS,
  addNamespaceFilter,
  namespaceFilter,
  requireFormat,
  type NamespaceFlags,
  type OutputFormat,
} from './output-format.js';

const actions = () => import('./draft-actions.js');

const ACTOR_HELP = 'who makes the change, recorded with the draft (default: the OS user name)';
const REF_HELP =
  '<Kind>/<name> or <Kind>/<namespace>/<name>; the kind in any letter case, plural accepted (vpcs/vpc-1)';
/** What `draft apply|delete|discard` print: the table, one document, or `Kind/name` per object done (-o name). */
const CALL_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'name'];
const EXIT_HELP =
  '\nExit codes: 0 done, 1 some objects left out (refused: invalid, unknown, or the fabric is git_to_ledger), 2 usage error, 3 runtime failure.';

export interface DraftApplyFlags {
  filename: string;
  actor?: string;
}

export interface DraftDiscardFlags {
  all?: boolean;
  actor?: string;
}

export interface PublishFlags {
  message: string;
  branch?: string;
  push: boolean;
  strategy?: string;
  author?: string;
  actor?: string;
}

export function registerDraftCommands(program: Command, runner: CommandRunner): void {
  const draft = program
    .command('draft')
    .description('prepare changes in the ledger (apply, delete, discard, diff), published to Git by `hh-sync publish`');
  examples(draft, [
    ['hh-sync draft apply dc1 -f vpc-2.yaml', ''],
    ['hh-sync drafts dc1', ''],
    ['hh-sync publish dc1 -m "Add vpc-2"', ''],
  ]);
  registerApply(draft, runner);
  registerDelete(draft, runner);
  registerDiscard(draft, runner);
  registerDiff(draft, runner);
  registerList(program, runner);
  registerPublish(program, runner);
}

function registerApply(draft: Command, runner: CommandRunner): void {
  const apply = draft
    .command('apply')
    .argument('<fabric>', 'the fabric whose Git the objects go to')
    .description("draft objects from YAML (several documents, `kind: List`), checked like Git's manifests")
    .requiredOption('-f, --filename <file>', 'YAML file of the objects; - reads stdin')
    .option('--actor <name>', ACTOR_HELP)
    .addHelpText('after', EXIT_HELP);
  examples(apply, [
    ['hh-sync draft apply dc1 -f vpcs.yaml', ''],
    ['cat vpc.yaml | hh-sync draft apply dc1 -f - --json', 'from stdin, JSON result'],
  ]).action((fabric: string, flags: DraftApplyFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('draft apply', out.format, CALL_FORMATS);
      return (await actions()).applyDrafts(fabric, flags, g, out, context);
    }),
  );
}

function registerDelete(draft: Command, runner: CommandRunner): void {
  const del = draft
    .command('delete')
    .argument('<fabric>', 'the fabric')
    .argument('<object...>', REF_HELP)
    .description('draft the removal of objects from Git (the next publish deletes their documents)')
    .option('--actor <name>', ACTOR_HELP)
    .addHelpText('after', EXIT_HELP);
  examples(del, [['hh-sync draft delete dc1 vpc/vpc-1 vpcattachment/vpc-1--server-1', '']]).action(
    (fabric: string, objects: string[], flags: { actor?: string }, cmd: Command) =>
      runner.run(cmd, async (g, out, context) => {
        requireFormat('draft delete', out.format, CALL_FORMATS);
        const refs = objectRefs(objects);
        return (await actions()).deleteDrafts(fabric, refs, flags, g, out, context);
      }),
  );
}

function registerDiscard(draft: Command, runner: CommandRunner): void {
  const discard = draft
    .command('discard')
    .argument('<fabric>', 'the fabric')
    .argument('[object...]', REF_HELP)
    .description('drop drafts (Git and the cluster are untouched)')
    .option('--all', 'every draft of the fabric')
    .option('--actor <name>', ACTOR_HELP)
    .addHelpText('after', EXIT_HELP);
  examples(discard, [
    ['hh-sync draft discard dc1 vpc/vpc-1', ''],
    ['hh-sync draft discard dc1 --all', ''],
  ]).action((fabric: string, objects: string[], flags: DraftDiscardFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('draft discard', out.format, CALL_FORMATS);
      if (flags.all && objects.length) throw new UsageError('--all and named objects exclude each other');
      if (!flags.all && !objects.length) throw new UsageError('name the objects to discard, or give --all');
      const refs = flags.all ? 'all' : objectRefs(objects);
      return (await actions()).discardDrafts(fabric, refs, flags, g, out, context);
    }),
  );
}

function registerDiff(draft: Command, runner: CommandRunner): void {
  const diff = draft
    .command('diff')
    .argument('<fabric>', 'the fabric')
    .argument('[object...]', `${REF_HELP} (default: every draft)`)
    .description('show each draft against Git, and Git against the cluster, as paths with their values')
    .addHelpText('after', '\nExit codes: 0 shown, 1 a named object holds no draft, 2 usage error, 3 runtime failure.');
  examples(diff, [
    ['hh-sync draft diff dc1', ''],
    ['hh-sync draft diff dc1 vpc/vpc-1 --json', ''],
  ]).action((fabric: string, objects: string[], _flags: unknown, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('draft diff', out.format, STRUCTURED_FORMATS);
      const refs = objectRefs(objects);
      return (await actions()).diffDrafts(fabric, refs, g, out, context);
    }),
  );
}

function registerList(program: Command, runner: CommandRunner): void {
  const list = addNamespaceFilter(
    program
      .command('drafts')
      .argument('<fabric>', 'the fabric')
      .description("list a fabric's drafts and those in conflict with Git"),
  );
  examples(list, [
    ['hh-sync drafts dc1', ''],
    ['hh-sync drafts dc1 -n tenant-a -o wide', 'one namespace, with file, base commit and direction'],
    ['hh-sync drafts dc1 -o name', 'Kind/name per draft, as `draft discard` takes them'],
    ['hh-sync drafts dc1 --json', 'every draft with its base, Git and cluster specs'],
  ]).action((fabric: string, flags: NamespaceFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('drafts', out.format, OBJECT_FORMATS);
      return (await actions()).listDrafts(fabric, namespaceFilter(flags), g, out, context);
    }),
  );
}

function registerPublish(program: Command, runner: CommandRunner): void {
  const publish = program
    .command('publish')
    .argument('<fabric>', 'the fabric whose drafts are published')
    .description("commit the fabric's drafts to its Git repository and push them")
    .requiredOption('-m, --message <msg>', 'the commit message')
    .option('--branch <branch>', "branch to commit to (default: the fabric's --ref, else the repository's HEAD)")
    .option('--no-push', 'commit locally only; do not push')
    .option(
      '--strategy <strategy>',
      'when Git changed a drafted path since the draft: fail (leave the object out, the default), ours (the draft wins) or theirs (Git wins)',
    )
    .option('--author <author>', 'commit author, "Name <email>" (default: git\'s configured user)')
    .option('--actor <name>', 'who publishes, recorded in the ledger (default: the OS user name)')
    .addHelpText(
      'after',
      '\nExit codes: 0 all published (or nothing to publish), 1 some objects left out (conflicts, refused), 2 usage error, 3 runtime failure or push rejected.',
    );
  examples(publish, [
    ['hh-sync publish dc1 -m "Add vpc-2"', ''],
    ['hh-sync publish dc1 -m "Rework subnets" --branch drafts/subnets --no-push', 'commit only'],
    ['hh-sync publish dc1 -m "Take ours" --strategy ours --json', ''],
  ]).action((fabric: string, flags: PublishFlags, cmd: Command) =>
    runner.run(cmd, async (g, out, context) => {
      requireFormat('publish', out.format, STRUCTURED_FORMATS);
      const strategy = publishStrategy(flags.strategy);
      if (flags.message.trim() === '') throw new UsageError('-m/--message must not be empty');
      return (await import('./publish-action.js')).runPublish(fabric, { ...flags, strategy }, g, out, context);
    }),
  );
}

export type PublishStrategy = 'fail' | 'ours' | 'theirs';

function publishStrategy(value: string | undefined): PublishStrategy | undefined {
  if (value === undefined) return undefined;
  const norm = value.trim().toLowerCase();
  if (norm !== 'fail' && norm !== 'ours' && norm !== 'theirs')
    throw new UsageError(`--strategy ${value}: expected one of fail, ours, theirs`);
  return norm;
}

/** Each argument as an object reference; duplicates dropped (asking twice is asking once). */
function objectRefs(args: string[]): ObjectRef[] {
  const seen = new Map<string, ObjectRef>();
  for (const arg of args) {
    const ref = parseObjectRef(arg);
    seen.set(`${ref.kind}/${ref.namespace}/${ref.name}`, ref);
  }
  return [...seen.values()];
}
