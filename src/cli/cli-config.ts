/**
 * Where the global settings come from: the command line, then `HH_SYNC_*` environment variables, then a
 * configuration file (`hh-sync.yaml` in the working directory, or `--config <file>` / `HH_SYNC_CONFIG`), then the
 * defaults. Resolved once, before a command's work runs: the effective values go into the program's options (with
 * commander's value source, `cli`, `env` or `config`), and the rest of the CLI reads the options only — the
 * variables are taken out of the environment the command sees, so no second precedence rule can creep in.
 *
 * Light on purpose: the YAML library is loaded only when a configuration file exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { redactDatabaseUrl } from '../db/database-url.js';
import { UsageError } from './cli-errors.js';
import type { GlobalOptions } from './cli-output.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output-format.js';

/** The configuration file looked for in the working directory when neither --config nor HH_SYNC_CONFIG names one. */
export const DEFAULT_CONFIG_FILE = 'hh-sync.yaml';
export const CONFIG_ENV = 'HH_SYNC_CONFIG';

export type SettingKey =
  'databaseUrl' | 'dataDir' | 'output' | 'connectTimeout' | 'statementTimeout' | 'quiet' | 'verbose';

type SettingType = 'url' | 'path' | 'output' | 'seconds' | 'boolean';

export interface SettingSpec {
  /** The option's key, and the configuration file's key (camelCase, as in the library's options). */
  key: SettingKey;
  /** The command-line flag. */
  flag: string;
  /** Environment variables, first set wins (DATABASE_URL is HH_SYNC_DATABASE_URL's fallback). */
  env: readonly string[];
  type: SettingType;
  /** Largest number of seconds (for `seconds`). */
  max?: number;
}

/** Every global flag that has a setting (`--json` has none: `HH_SYNC_OUTPUT=json` / `output: json` say it). */
export const GLOBAL_SETTINGS: readonly SettingSpec[] = [
  { key: 'databaseUrl', flag: '--database-url', env: ['HH_SYNC_DATABASE_URL', 'DATABASE_URL'], type: 'url' },
  { key: 'dataDir', flag: '--data-dir', env: ['HH_SYNC_DATA_DIR'], type: 'path' },
  { key: 'output', flag: '--output', env: ['HH_SYNC_OUTPUT'], type: 'output' },
  { key: 'connectTimeout', flag: '--connect-timeout', env: ['HH_SYNC_CONNECT_TIMEOUT'], type: 'seconds', max: 3600 },
  {
    key: 'statementTimeout',
    flag: '--statement-timeout',
    env: ['HH_SYNC_STATEMENT_TIMEOUT'],
    type: 'seconds',
    max: 86_400,
  },
  { key: 'quiet', flag: '--quiet', env: ['HH_SYNC_QUIET'], type: 'boolean' },
  { key: 'verbose', flag: '--verbose', env: ['HH_SYNC_VERBOSE'], type: 'boolean' },
];

const SPEC = new Map(GLOBAL_SETTINGS.map((s) => [s.key, s]));

/** Every environment variable the global settings are read from (the resolution consumes them all). */
export const SETTING_VARIABLES: readonly string[] = [CONFIG_ENV, ...GLOBAL_SETTINGS.flatMap((s) => s.env)];

/** Where an effective value came from; `cli`, `env` and `config` are commander's own value sources. */
export type SettingTier = 'cli' | 'env' | 'config';
const TIER_RANK: Record<SettingTier, number> = { cli: 3, env: 2, config: 1 };

interface Setting {
  value: string | boolean;
  tier: SettingTier;
  /** Says where, in messages: `--data-dir`, `HH_SYNC_DATA_DIR`, `dataDir in /w/hh-sync.yaml:3`. */
  origin: string;
}

export interface ResolvedSettings {
  /** The effective value of each setting that has one (from any tier). */
  values: Partial<Record<SettingKey, string | boolean>>;
  /** Where each of them came from. */
  tiers: Partial<Record<SettingKey, SettingTier>>;
  origins: Partial<Record<SettingKey, string>>;
  /** The configuration file read, if any. */
  configFile?: string;
  /** A setting overridden by one of another kind (a data directory by a database URL …): worth saying. */
  warnings: string[];
}

/** What the command line itself says: only values typed there (commander's source `cli`). */
export type CommandLineSettings = Partial<Record<SettingKey, string | boolean>> & { json?: boolean; config?: string };

// ---------------------------------------------------------------------------------------------------------------
// The configuration file

interface FileEntry {
  value: string | boolean;
  line: number;
}

export interface ConfigFile {
  path: string;
  entries: Map<SettingKey, FileEntry>;
}

/** `/w/hh-sync.yaml:3: …` — a problem in the file, with its place. */
function fileError(path: string, line: number | undefined, text: string): UsageError {
  return new UsageError(`${path}${line ? `:${line}` : ''}: ${text}`);
}

/** The file named by --config or HH_SYNC_CONFIG (it must exist), else hh-sync.yaml in `cwd` (if there). */
export function configFilePath(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { path: string; required: boolean; origin: string } {
  if (flag) return { path: resolve(cwd, flag), required: true, origin: '--config' };
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv) return { path: resolve(cwd, fromEnv), required: true, origin: CONFIG_ENV };
  return { path: resolve(cwd, DEFAULT_CONFIG_FILE), required: false, origin: DEFAULT_CONFIG_FILE };
}

/** Reads and checks a configuration file: every key known, every value of its type. */
export async function readConfigFile(where: {
  path: string;
  required: boolean;
  origin: string;
}): Promise<ConfigFile | undefined> {
  const { path } = where;
  if (!existsSync(path)) {
    if (!where.required) return undefined;
    throw new UsageError(`${where.origin} ${path}: the configuration file does not exist`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fileError(path, undefined, `cannot read the configuration file: ${(err as Error).message}`);
  }
  const { parseDocument, LineCounter, isMap, isNode, isScalar } = await import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line);
  const broken = doc.errors[0];
  if (broken) throw fileError(path, lineOf(broken.pos[0]), `not valid YAML: ${broken.message.split('\n')[0]}`);
  const entries = new Map<SettingKey, FileEntry>();
  if (doc.contents === null) return { path, entries }; // an empty file (or only comments) sets nothing
  if (!isMap(doc.contents))
    throw fileError(path, lineOf(doc.contents.range[0]), 'expected a mapping of settings (`output: json`, …)');
  for (const pair of doc.contents.items) {
    const keyNode = pair.key;
    const line = lineOf(isScalar(keyNode) ? keyNode.range[0] : undefined);
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const spec = SPEC.get(key as SettingKey);
    if (!spec) throw fileError(path, line, unknownKeyText(key));
    const value: unknown = isScalar(pair.value) ? pair.value.value : isNode(pair.value) ? pair.value.toJSON() : null;
    entries.set(spec.key, { value: fileValue(spec, value, path, line), line: line ?? 0 });
  }
  return { path, entries };
}

function unknownKeyText(key: string): string {
  const camel = key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  const hint = SPEC.has(camel as SettingKey) ? ` (did you mean ${camel}?)` : '';
  return `unknown key ${JSON.stringify(key)}${hint}; the keys are ${GLOBAL_SETTINGS.map((s) => s.key).join(', ')}`;
}

function typeName(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'a mapping' : `a ${typeof value}`;
}

/** A file value checked against its setting's type (a URL's value is never repeated: it may hold a password). */
function fileValue(spec: SettingSpec, value: unknown, path: string, line: number | undefined): string | boolean {
  const bad = (expected: string) => fileError(path, line, `${spec.key}: expected ${expected}, got ${typeName(value)}`);
  switch (spec.type) {
    case 'boolean':
      if (typeof value !== 'boolean') throw bad('true or false');
      return value;
    case 'seconds':
      if (typeof value !== 'number' && typeof value !== 'string') throw bad('a number of seconds');
      return checkedSeconds(String(value), spec.max ?? Infinity, `${path}:${line}: ${spec.key}`);
    case 'output':
      if (typeof value !== 'string') throw bad(`one of ${OUTPUT_FORMATS.join(', ')}`);
      return checkedOutput(value, `${path}:${line}: ${spec.key}`);
    case 'path':
      if (typeof value !== 'string' || value === '') throw bad('a directory');
      // Relative to the file, not to wherever the command happens to run; `~/` is the home directory, as in a shell.
      return resolve(dirname(path), value === '~' || value.startsWith('~/') ? homedir() + value.slice(1) : value);
    case 'url':
      if (typeof value !== 'string' || value === '') throw bad('a PostgreSQL URL');
      return value;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Values and their checks (the same for a flag, a variable and the file)

/** A number of seconds greater than 0 and at most `max`; a bad one is a usage error naming where it came from. */
export function checkedSeconds(value: string, max: number, origin: string): string {
  const seconds = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !(seconds > 0) || seconds > max)
    throw new UsageError(
      `${origin} ${JSON.stringify(value)}: must be a number of seconds greater than 0 (at most ${max})`,
    );
  return value.trim();
}

function checkedOutput(value: string, origin: string): OutputFormat {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value))
    throw new UsageError(`${origin} ${JSON.stringify(value)}: expected one of ${OUTPUT_FORMATS.join(', ')}`);
  return value as OutputFormat;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

function envValue(spec: SettingSpec, name: string, raw: string): string | boolean {
  switch (spec.type) {
    case 'boolean': {
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      throw new UsageError(`${name} ${JSON.stringify(raw)}: expected true or false (1/0, yes/no, on/off)`);
    }
    case 'seconds':
      return checkedSeconds(raw, spec.max ?? Infinity, name);
    case 'output':
      return checkedOutput(raw.trim(), name);
    default:
      return raw;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Precedence: flag > environment > file > default

function pickSetting(
  spec: SettingSpec,
  cli: CommandLineSettings,
  env: NodeJS.ProcessEnv,
  file: ConfigFile | undefined,
): Setting | undefined {
  const typed = cli[spec.key];
  if (typed !== undefined) {
    const value = spec.type === 'seconds' ? checkedSeconds(String(typed), spec.max ?? Infinity, spec.flag) : typed;
    return { value, tier: 'cli', origin: spec.flag };
  }
  for (const name of spec.env) {
    const raw = env[name];
    // An empty variable is an unset one (`HH_SYNC_OUTPUT= hh-sync …` turns it off for one command).
    if (raw !== undefined && raw !== '') return { value: envValue(spec, name, raw), tier: 'env', origin: name };
  }
  const entry = file?.entries.get(spec.key);
  if (entry) return { value: entry.value, tier: 'config', origin: `${spec.key} in ${file!.path}:${entry.line}` };
  return undefined;
}

/**
 * Two settings that cannot both apply (quiet and verbose; a database URL and a data directory): the one from the
 * higher tier wins. Both from the same tier is a usage error — except in the environment when `environmentWinner`
 * is given: DATABASE_URL is often set for other programs, so there a URL simply beats a data directory.
 */
function settleExclusive(
  settings: Map<SettingKey, Setting>,
  [a, b]: [SettingKey, SettingKey],
  what: string,
  environmentWinner?: SettingKey,
): string | undefined {
  const sa = settings.get(a);
  const sb = settings.get(b);
  if (!sa || !sb || sa.value === false || sb.value === false) return undefined;
  let winner: SettingKey;
  if (sa.tier !== sb.tier) winner = TIER_RANK[sa.tier] > TIER_RANK[sb.tier] ? a : b;
  else if (sa.tier === 'env' && environmentWinner) winner = environmentWinner;
  else throw new UsageError(`${sa.origin} and ${sb.origin} exclude each other: ${what}`);
  const loser = winner === a ? b : a;
  const won = settings.get(winner)!;
  const lost = settings.get(loser)!;
  settings.delete(loser);
  // A flag overriding the environment or the file is what flags are for; anything else is said aloud.
  if (won.tier === 'cli') return undefined;
  const shown = winner === 'databaseUrl' ? `${won.origin} (${redactDatabaseUrl(String(won.value))})` : won.origin;
  return `${lost.origin} ignored: ${shown} takes precedence`;
}

/** The effective global settings of one invocation. */
export async function resolveSettings(
  cli: CommandLineSettings,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<ResolvedSettings> {
  const where = configFilePath(cli.config, env, cwd);
  const file = await readConfigFile(where);
  const settings = new Map<SettingKey, Setting>();
  for (const spec of GLOBAL_SETTINGS) {
    // `--json` on the command line is `-o json` there: the environment's or the file's format does not apply.
    if (spec.key === 'output' && cli.json && cli.output === undefined) continue;
    const setting = pickSetting(spec, cli, env, file);
    if (setting) settings.set(spec.key, setting);
  }
  const warnings = [
    settleExclusive(settings, ['databaseUrl', 'dataDir'], 'one ledger at a time', 'databaseUrl'),
    settleExclusive(settings, ['quiet', 'verbose'], 'choose one'),
  ].filter((w): w is string => w !== undefined);
  const resolved: ResolvedSettings = { values: {}, tiers: {}, origins: {}, configFile: file?.path, warnings };
  for (const [key, s] of settings) {
    resolved.values[key] = s.value;
    resolved.tiers[key] = s.tier;
    resolved.origins[key] = s.origin;
  }
  return resolved;
}

// ---------------------------------------------------------------------------------------------------------------
// Bridging to commander and to the rest of the CLI

/** What the command line typed for the settings (values commander parsed from argv, nothing else). */
export function commandLineSettings(program: Command): CommandLineSettings {
  const typed: CommandLineSettings = {};
  for (const key of [...GLOBAL_SETTINGS.map((s) => s.key), 'json', 'config'] as const) {
    if (program.getOptionValueSource(key) === 'cli')
      (typed as Record<string, unknown>)[key] = program.getOptionValue(key);
  }
  return typed;
}

/**
 * Puts the effective settings into the program's options, each with its source, so `optsWithGlobals()` is all a
 * command reads, and `getOptionValueSourceWithGlobals(key) === 'cli'` tells what was typed.
 */
export function applySettings(program: Command, resolved: ResolvedSettings): void {
  for (const spec of GLOBAL_SETTINGS) {
    const tier = resolved.tiers[spec.key];
    if (tier === 'cli') continue;
    program.setOptionValueWithSource(spec.key, resolved.values[spec.key], tier ?? 'default');
  }
}

/** The environment without the settings' variables: once resolved, only the options say what they are. */
export function withoutSettingVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !SETTING_VARIABLES.includes(name)));
}

/** One line for --verbose: where each setting that is not a default came from. */
export function settingsOrigins(resolved: ResolvedSettings): string {
  const parts = GLOBAL_SETTINGS.map((s) => resolved.origins[s.key]).filter(Boolean);
  const file = resolved.configFile ? `configuration file ${resolved.configFile}` : 'no configuration file';
  return `settings: ${file}${parts.length ? `; ${parts.join(', ')}` : ''}`;
}

/** The value of `--config <file>` / `--config=<file>` in a raw command line (for errors raised before parsing ends). */
export function configInArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--config') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return undefined;
}

/**
 * The output format HH_SYNC_OUTPUT or the configuration file's `output` asks for, for a usage error found before
 * the settings are resolved (an unknown command or flag; the command line's own -o/--json is looked at first): so
 * with `output: json` in the file stdout still gets its one JSON document. Never fails: a broken setting gives none.
 */
export async function outputFormatFromSettings(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<OutputFormat | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  const fromEnv = env.HH_SYNC_OUTPUT?.trim();
  if (fromEnv) return (OUTPUT_FORMATS as readonly string[]).includes(fromEnv) ? (fromEnv as OutputFormat) : undefined;
  const where = configFilePath(configInArgv(argv), env, cwd);
  try {
    // Leniently: the error being reported may be this very file's, and its `output` still says how to report it.
    const { parse } = await import('yaml');
    const output = (parse(readFileSync(where.path, 'utf8')) as { output?: unknown } | null)?.output;
    return (OUTPUT_FORMATS as readonly unknown[]).includes(output) ? (output as OutputFormat) : undefined;
  } catch {
    return undefined;
  }
}

/** For GlobalOptions consumers that want to know: was this global flag typed on the command line? */
export function typedOnCommandLine(command: Command, key: keyof GlobalOptions): boolean {
  return command.getOptionValueSourceWithGlobals(key) === 'cli';
}
