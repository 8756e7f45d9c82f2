/**
 * `-o, --output json|yaml|wide|name|table` as kubectl has it: declared once on the program (a global flag, like
 * `--json`, which stays as the alias of `-o json`), checked by each command against the formats it can print.
 * `-n, --namespace` / `-A, --all-namespaces` for the commands where a namespace filter makes sense.
 * Light on purpose (no YAML or database code): help and usage errors answer at once.
 */
import { Option, type Command } from 'commander';
import { UsageError } from './cli-errors.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml', 'wide', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The formats a command that prints objects offers; a report without object names has no `name`. */
export const OBJECT_FORMATS: readonly OutputFormat[] = OUTPUT_FORMATS;
export const REPORT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'wide'];
export const STRUCTURED_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** The global `-o, --output <format>` option (added once, to the program). */
export function outputOption(): Option {
  return new Option(
    '-o, --output <format>',
    'output format: table (default), json, yaml, wide (every column, nothing cut), name (Kind/name per line); --json is -o json',
  ).choices(OUTPUT_FORMATS);
}

/** The format the flags ask for: `--json` is `-o json`; both with different formats is a usage error. */
export function resolveOutputFormat(flags: { json?: boolean; output?: string }): OutputFormat {
  const output = flags.output as OutputFormat | undefined;
  if (flags.json && output && output !== 'json')
    throw new UsageError(`--json and -o ${output} ask for two formats; give one`);
  if (flags.json) return 'json';
  return output ?? 'table';
}

/** Refuses a format this command cannot print, naming the ones it can. */
export function requireFormat(command: string, format: OutputFormat, allowed: readonly OutputFormat[]): void {
  if (!allowed.includes(format))
    throw new UsageError(`-o ${format}: \`hh-sync ${command}\` prints ${allowed.join(', ')}`);
}

/**
 * Which output the raw command line asks for, before (or without) commander parsing it — for the usage errors
 * that never reach a command: with `--json` or `-o json` stdout still gets its one document.
 */
export function formatInArgv(argv: readonly string[]): OutputFormat | undefined {
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  if (argv.includes('--json')) return 'json';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    let value: string | undefined;
    if (a === '-o' || a === '--output') value = argv[i + 1];
    else if (a.startsWith('--output=')) value = a.slice('--output='.length);
    else if (/^-o[^-]/.test(a)) value = a.slice(2).replace(/^=/, '');
    if (value && (OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  }
  return undefined;
}

export interface NamespaceFlags {
  namespace?: string[];
  allNamespaces?: boolean;
}

/** Adds kubectl's `-n, --namespace <ns>` (repeatable, comma-separated) and `-A, --all-namespaces` to a command. */
export function addNamespaceFilter(command: Command): Command {
  return command
    .addOption(
      new Option('-n, --namespace <ns>', 'only objects in this namespace; repeat or comma-separate (default: all)')
        .argParser((value: string, previous: string[] | undefined) => [
          ...(previous ?? []),
          ...value
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean),
        ])
        .conflicts('allNamespaces'),
    )
    .addOption(new Option('-A, --all-namespaces', 'objects in every namespace (the default)'));
}

/** The namespaces to keep, or undefined for all. */
export function namespaceFilter(flags: NamespaceFlags): string[] | undefined {
  if (flags.allNamespaces || !flags.namespace?.length) return undefined;
  return [...new Set(flags.namespace)];
}
