/**
 * The global settings: every global flag also comes from an HH_SYNC_* variable and from a configuration file
 * (hh-sync.yaml in the working directory, or --config / HH_SYNC_CONFIG), flag > environment > file > default.
 * Driven in-process with a ledger opener that records what it was asked to open and opens nothing: the effective
 * URL, data directory and timeouts are what it receives; the output format is what stdout holds; quiet and verbose
 * are what stderr holds. No database is needed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse as parseYaml } from 'yaml';
import { main } from '../src/cli/main.js';
import type { LedgerDatabaseOptions } from '../src/ledger-reader.js';
import { messageLines } from './helpers/cli.js';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'hh-settings-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** A fresh directory; with `ledger`, it looks like an embedded ledger (the CLI checks for `<dir>/db`). */
function freshDir(ledger = false): string {
  const dir = join(root, `d${++dirs}`);
  mkdirSync(ledger ? join(dir, 'db') : dir, { recursive: true });
  return dir;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What the ledger opener was asked for (undefined: the command never got that far). */
  opened?: LedgerDatabaseOptions;
}

/** hh-sync in-process in `cwd` with exactly `env`; the opener records its options and refuses to open. */
async function hh(argv: string[], { env = {}, cwd = freshDir() }: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const out = { text: '', write: (t: string) => (out.text += t) };
  const err = { text: '', write: (t: string) => (err.text += t) };
  let opened: LedgerDatabaseOptions | undefined;
  const recordingOpener = (options: LedgerDatabaseOptions): Promise<never> => {
    opened = options;
    return Promise.reject(new Error('recording opener: nothing is opened'));
  };
  const code = await main(argv, {
    stdout: out,
    stderr: err,
    env,
    cwd,
    stdin: Readable.from([]),
    openLedger: recordingOpener,
    openReader: recordingOpener,
  });
  return { code, stdout: out.text, stderr: err.text, opened } satisfies Run;
}

/** A directory holding hh-sync.yaml with `text` (and an embedded ledger where the default points). */
function withConfig(text: string): string {
  const dir = freshDir();
  writeFileSync(join(dir, 'hh-sync.yaml'), text);
  mkdirSync(join(dir, '.hh-sync', 'pgdata', 'db'), { recursive: true });
  return dir;
}

/** One `hh-sync:` line on stderr, matching `pattern`, and nothing on stdout (or one JSON error document). */
function expectUsageLine(r: Run, pattern: RegExp): void {
  expect(r.code).toBe(2);
  const lines = messageLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

type Tier = 'flag' | 'env' | 'file';

/**
 * For one setting: the value each tier gives (flag arguments, environment, file text), and what the command shows
 * for the effective setting. Each tier's value is observably different from the next tier's, so a row fails when
 * the wrong one wins.
 */
interface Matrix {
  flag: string[];
  env: NodeJS.ProcessEnv;
  file: string;
  /** Runs the command with these arguments/environment in `cwd` and says which value took effect. */
  observe(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string>;
  /** What `observe` says for each tier's value and for the default. */
  expected: Record<Tier | 'default', string>;
}

const ROWS: [string, Tier[], Tier | 'default'][] = [
  ['flag beats env and file', ['flag', 'env', 'file'], 'flag'],
  ['env beats file', ['env', 'file'], 'env'],
  ['file beats the default', ['file'], 'file'],
  ['the default without any', [], 'default'],
];

async function openedWith(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<LedgerDatabaseOptions> {
  const r = await hh([...args, 'fabric', 'list'], { env, cwd });
  expect(r.opened).toBeDefined();
  return r.opened!;
}

const flagDir = freshDirLazy(true);
const envDir = freshDirLazy(true);

/** Directories made when first used (root exists only once beforeAll ran). */
function freshDirLazy(ledger: boolean): () => string {
  let dir: string | undefined;
  return () => (dir ??= freshDir(ledger));
}

const MATRICES: Record<string, () => Matrix> = {
  databaseUrl: () => ({
    flag: ['--database-url', 'postgres://flag@db.example/hh'],
    env: { HH_SYNC_DATABASE_URL: 'postgres://env@db.example/hh' },
    file: 'databaseUrl: postgres://file@db.example/hh\n',
    observe: async (args, env, cwd) => (await openedWith(args, env, cwd)).databaseUrl ?? 'embedded',
    expected: {
      flag: 'postgres://flag@db.example/hh',
      env: 'postgres://env@db.example/hh',
      file: 'postgres://file@db.example/hh',
      default: 'embedded',
    },
  }),
  dataDir: () => ({
    flag: ['--data-dir', flagDir()],
    env: { HH_SYNC_DATA_DIR: envDir() },
    // Relative to the file's directory (made by the test below).
    file: 'dataDir: ./from-file\n',
    observe: async (args, env, cwd) => (await openedWith(args, env, cwd)).dataDir!,
    expected: { flag: flagDir(), env: envDir(), file: 'from-file', default: join('.hh-sync', 'pgdata') },
  }),
  connectTimeout: () => ({
    flag: ['--connect-timeout', '1'],
    env: { HH_SYNC_CONNECT_TIMEOUT: '2' },
    file: 'connectTimeout: 3\n',
    observe: async (args, env, cwd) => String((await openedWith(args, env, cwd)).connectTimeoutMs),
    expected: { flag: '1000', env: '2000', file: '3000', default: 'undefined' },
  }),
  statementTimeout: () => ({
    flag: ['--statement-timeout', '1.5'],
    env: { HH_SYNC_STATEMENT_TIMEOUT: '2.5' },
    file: 'statementTimeout: "3.5"\n',
    observe: async (args, env, cwd) => String((await openedWith(args, env, cwd)).statementTimeoutMs),
    expected: { flag: '1500', env: '2500', file: '3500', default: 'undefined' },
  }),
  // The opener fails, so stdout holds the error document in the effective format (or nothing for a table).
  output: () => ({
    flag: ['-o', 'table'],
    env: { HH_SYNC_OUTPUT: 'yaml' },
    file: 'output: json\n',
    observe: async (args, env, cwd) => {
      const r = await hh([...args, 'fabric', 'list'], { env, cwd });
      if (r.stdout === '') return 'nothing';
      try {
        JSON.parse(r.stdout);
        return 'json';
      } catch {
        expect(parseYaml(r.stdout)).toMatchObject({ error: { code: 'database', exitCode: 3 } });
        return 'yaml';
      }
    },
    expected: { flag: 'nothing', env: 'yaml', file: 'json', default: 'nothing' },
  }),
  // `fabric add` on a ledger directory that does not exist yet says it is creating it: a note --quiet silences.
  quiet: () => ({
    flag: ['--quiet'],
    env: { HH_SYNC_QUIET: '0' },
    file: 'quiet: true\n',
    observe: async (args, env, cwd) => {
      const r = await hh([...args, '--data-dir', join(cwd, 'new-ledger'), 'fabric', 'add', 'f'], { env, cwd });
      expect(r.opened).toBeDefined();
      return /creating the embedded ledger/.test(r.stderr) ? 'notes' : 'quiet';
    },
    expected: { flag: 'quiet', env: 'notes', file: 'quiet', default: 'notes' },
  }),
  verbose: () => ({
    flag: ['--verbose'],
    env: { HH_SYNC_VERBOSE: 'no' },
    file: 'verbose: true\n',
    observe: async (args, env, cwd) => {
      const r = await hh([...args, 'fabric', 'list'], { env, cwd: cwd });
      return /^ledger: /m.test(r.stderr) ? 'debug' : 'plain';
    },
    expected: { flag: 'debug', env: 'plain', file: 'debug', default: 'plain' },
  }),
};

describe('precedence: flag > HH_SYNC_* variable > configuration file > default, for every global flag', () => {
  for (const [setting, make] of Object.entries(MATRICES)) {
    test.each(ROWS)(`${setting}: %s`, async (_name, tiers, winner) => {
      const m = make();
      const cwd = withConfig(tiers.includes('file') ? m.file : '# nothing set here\n');
      // What the relative file path points at exists as a ledger directory.
      mkdirSync(join(cwd, 'from-file', 'db'), { recursive: true });
      const args = tiers.includes('flag') ? m.flag : [];
      const env = tiers.includes('env') ? m.env : {};
      const seen = await m.observe(args, env, cwd);
      const expected = m.expected[winner];
      if (setting === 'dataDir' && (winner === 'file' || winner === 'default')) expect(seen).toBe(join(cwd, expected));
      else expect(seen).toBe(expected);
    });
  }

  test('the matrix covers every global flag that has a setting', async () => {
    const { GLOBAL_SETTINGS } = await import('../src/cli/cli-config.js');
    expect(Object.keys(MATRICES).sort()).toEqual(GLOBAL_SETTINGS.map((s) => s.key).sort());
  });

  test('DATABASE_URL is the fallback of HH_SYNC_DATABASE_URL, and beats the file', async () => {
    const cwd = withConfig('databaseUrl: postgres://file@db.example/hh\n');
    const both = await openedWith(
      [],
      { HH_SYNC_DATABASE_URL: 'postgres://hh@db.example/a', DATABASE_URL: 'postgres://generic@db.example/b' },
      cwd,
    );
    expect(both.databaseUrl).toBe('postgres://hh@db.example/a');
    const generic = await openedWith([], { DATABASE_URL: 'postgres://generic@db.example/b' }, cwd);
    expect(generic.databaseUrl).toBe('postgres://generic@db.example/b');
  });

  test('an empty variable is an unset one', async () => {
    const cwd = withConfig('connectTimeout: 4\n');
    expect((await openedWith([], { HH_SYNC_CONNECT_TIMEOUT: '' }, cwd)).connectTimeoutMs).toBe(4000);
  });

  test('--config and HH_SYNC_CONFIG name the file (flag first); hh-sync.yaml in the directory is then not read', async () => {
    const cwd = withConfig('connectTimeout: 1\n');
    const other = join(freshDir(), 'other.yaml');
    writeFileSync(other, 'connectTimeout: 2\n');
    const third = join(freshDir(), 'third.yaml');
    writeFileSync(third, 'connectTimeout: 3\n');
    expect((await openedWith(['--config', other], { HH_SYNC_CONFIG: third }, cwd)).connectTimeoutMs).toBe(2000);
    expect((await openedWith([], { HH_SYNC_CONFIG: third }, cwd)).connectTimeoutMs).toBe(3000);
    expect((await openedWith([], {}, cwd)).connectTimeoutMs).toBe(1000);
  });

  test('a relative dataDir in a file named by --config is resolved against that file, not the working directory', async () => {
    const configDir = freshDir();
    mkdirSync(join(configDir, 'ledger', 'db'), { recursive: true });
    writeFileSync(join(configDir, 'ops.yaml'), 'dataDir: ledger\n');
    const cwd = freshDir();
    const opened = await openedWith(['--config', join(configDir, 'ops.yaml')], {}, cwd);
    expect(opened.dataDir).toBe(join(configDir, 'ledger'));
  });
  test("`~/` in the file's dataDir is the home directory", async () => {
    const cwd = withConfig('dataDir: ~/hh-settings-ledger\n');
    const r = await hh(['fabric', 'list'], { cwd });
    expect(r.code).toBe(2); // no ledger there: the line names where it looked
    expect(r.stderr).toContain(`no ledger at ${join(homedir(), 'hh-settings-ledger')}:`);
  });
});

describe('settings that exclude each other', () => {
  test('--json on the command line beats HH_SYNC_OUTPUT (no "two formats" error)', async () => {
    const r = await hh(['--json', 'fabric', 'list'], { env: { HH_SYNC_OUTPUT: 'yaml' }, cwd: withLedgerDefault() });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'database' } });
  });

  test('quiet and verbose: the higher tier wins; both in the file is a usage error naming it', async () => {
    const cwd = withConfig('verbose: true\n');
    const quietEnv = await hh(['fabric', 'list'], { env: { HH_SYNC_QUIET: '1' }, cwd });
    expect(quietEnv.stderr).not.toMatch(/^ledger: /m);
    const verboseFlag = await hh(['-v', 'fabric', 'list'], { env: { HH_SYNC_QUIET: '1' }, cwd });
    expect(verboseFlag.stderr).toMatch(/^ledger: /m);
    expectUsageLine(
      await hh(['fabric', 'list'], { env: { HH_SYNC_QUIET: '1', HH_SYNC_VERBOSE: 'yes' }, cwd }),
      /^hh-sync: HH_SYNC_QUIET and HH_SYNC_VERBOSE exclude each other: choose one$/,
    );
    const both = withConfig('quiet: true\nverbose: true\n');
    expectUsageLine(
      await hh(['fabric', 'list'], { cwd: both }),
      /quiet in .*hh-sync\.yaml:1 and verbose in .*:2 exclude/,
    );
  });

  test('a data directory on the command line beats a URL in the environment, silently', async () => {
    const dir = freshDir(true);
    const r = await hh(['--data-dir', dir, 'fabric', 'list'], { env: { DATABASE_URL: 'postgres://x@db.example/hh' } });
    expect(r.opened).toMatchObject({ dataDir: dir, embedded: true, databaseUrl: undefined });
    expect(messageLines(r.stderr).filter((l) => /ignored/.test(l))).toEqual([]);
  });

  test("a URL in the environment beats the file's data directory, with a warning that hides the password", async () => {
    const cwd = withConfig('dataDir: ./ledger\n');
    const r = await hh(['fabric', 'list'], { env: { DATABASE_URL: 'postgres://hh:s3cret-pw@db.example/hh' }, cwd });
    expect(r.opened?.databaseUrl).toBe('postgres://hh:s3cret-pw@db.example/hh');
    expect(r.stderr).toMatch(
      /dataDir in .*hh-sync\.yaml:1 ignored: DATABASE_URL \(postgres:\/\/hh:\*\*\*@db\.example\/hh\)/,
    );
    expect(r.stderr + r.stdout).not.toContain('s3cret-pw');
  });

  test('both variables: the URL wins with a warning; both in the file, or both flags, is a usage error', async () => {
    const r = await hh(['fabric', 'list'], {
      env: { HH_SYNC_DATA_DIR: freshDir(true), HH_SYNC_DATABASE_URL: 'postgres://x@db.example/hh' },
    });
    expect(r.opened?.databaseUrl).toBe('postgres://x@db.example/hh');
    expect(r.stderr).toMatch(/HH_SYNC_DATA_DIR ignored: HH_SYNC_DATABASE_URL/);
    const file = withConfig('databaseUrl: postgres://x@db.example/hh\ndataDir: ./d\n');
    expectUsageLine(
      await hh(['fabric', 'list'], { cwd: file }),
      /databaseUrl in .*:1 and dataDir in .*:2 exclude each other/,
    );
    expectUsageLine(
      await hh(['--database-url', 'postgres://x@db/h', '--data-dir', 'd', 'fabric', 'list']),
      /--database-url and --data-dir exclude each other/,
    );
  });
});

/** A working directory with an (empty) embedded ledger where the default points. */
function withLedgerDefault(): string {
  const dir = freshDir();
  mkdirSync(join(dir, '.hh-sync', 'pgdata', 'db'), { recursive: true });
  return dir;
}

describe('bad settings: one line naming the file, line and key (or the variable), exit 2', () => {
  test.each<[string, string, RegExp]>([
    [
      'an unknown key',
      'quiet: true\nkubeconfig: x\n',
      /hh-sync\.yaml:2: unknown key "kubeconfig"; the keys are databaseUrl, /,
    ],
    [
      'a kebab-case key',
      'connect-timeout: 3\n',
      /hh-sync\.yaml:1: unknown key "connect-timeout" \(did you mean connectTimeout\?\)/,
    ],
    ['a wrong type', '\n\nquiet: "yes"\n', /hh-sync\.yaml:3: quiet: expected true or false, got a string/],
    [
      'a bad number of seconds',
      'connectTimeout: soon\n',
      /hh-sync\.yaml:1: connectTimeout "soon": must be a number of seconds/,
    ],
    [
      'seconds out of range',
      'statementTimeout: 0\n',
      /hh-sync\.yaml:1: statementTimeout "0": must be a number of seconds greater than 0/,
    ],
    [
      'an unknown format',
      'output: xml\n',
      /hh-sync\.yaml:1: output "xml": expected one of table, json, yaml, wide, name/,
    ],
    ['a list for a directory', 'dataDir: [a, b]\n', /hh-sync\.yaml:1: dataDir: expected a directory, got a list/],
    ['YAML that does not parse', 'output: json\nquiet: [true\n', /hh-sync\.yaml:\d: not valid YAML: /],
    ['a list instead of a mapping', '- output\n- json\n', /hh-sync\.yaml:1: expected a mapping of settings/],
    ['a key given twice', 'quiet: true\nquiet: false\n', /hh-sync\.yaml:\d: not valid YAML: Map keys must be unique/],
  ])('%s', async (_name, text, pattern) => {
    const r = await hh(['fabric', 'list'], { cwd: withConfig(text) });
    expectUsageLine(r, pattern);
    expect(r.stdout).toBe('');
    expect(r.opened).toBeUndefined();
  });

  test('a URL of the wrong type is reported without its value', async () => {
    const r = await hh(['fabric', 'list'], { cwd: withConfig('databaseUrl:\n  password: hunter2-secret\n') });
    expectUsageLine(r, /hh-sync\.yaml:1: databaseUrl: expected a PostgreSQL URL, got a mapping/);
    expect(r.stderr).not.toContain('hunter2-secret');
  });

  test('hostile text in a key is made inert', async () => {
    const r = await hh(['fabric', 'list'], { cwd: withConfig('"\\e[2J\\e[31mevil": 1\n') });
    expectUsageLine(r, /unknown key/);
    expect(r.stderr).not.toContain('\u001b');
  });

  test('with -o json (typed, or from the file itself) the error is one JSON document on stdout', async () => {
    const typed = await hh(['-o', 'json', 'fabric', 'list'], { cwd: withConfig('bogus: 1\n') });
    expectUsageLine(typed, /unknown key "bogus"/);
    expect(JSON.parse(typed.stdout)).toEqual({
      error: { message: expect.stringMatching(/hh-sync\.yaml:1: unknown key "bogus"/), code: 'usage', exitCode: 2 },
    });
    const fromFile = await hh(['fabric', 'list'], { cwd: withConfig('output: json\nbogus: 1\n') });
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ error: { code: 'usage', exitCode: 2 } });
  });

  test('a --config or HH_SYNC_CONFIG file that does not exist is an error; a missing hh-sync.yaml is not', async () => {
    const cwd = withLedgerDefault();
    expectUsageLine(
      await hh(['--config', 'nope.yaml', 'fabric', 'list'], { cwd }),
      /--config .*nope\.yaml: the configuration file does not exist/,
    );
    expectUsageLine(
      await hh(['fabric', 'list'], { cwd, env: { HH_SYNC_CONFIG: join(cwd, 'gone.yaml') } }),
      /HH_SYNC_CONFIG .*gone\.yaml: the configuration file does not exist/,
    );
    const none = await hh(['fabric', 'list'], { cwd });
    expect(none.code).toBe(3); // it got as far as opening the (recorded) ledger
    expect(none.opened?.dataDir).toBe(join(cwd, '.hh-sync', 'pgdata'));
  });

  test.each<[string, NodeJS.ProcessEnv, RegExp]>([
    [
      'HH_SYNC_CONNECT_TIMEOUT',
      { HH_SYNC_CONNECT_TIMEOUT: 'abc' },
      /^hh-sync: HH_SYNC_CONNECT_TIMEOUT "abc": must be a number of seconds/,
    ],
    [
      'HH_SYNC_STATEMENT_TIMEOUT',
      { HH_SYNC_STATEMENT_TIMEOUT: '-1' },
      /^hh-sync: HH_SYNC_STATEMENT_TIMEOUT "-1": must be/,
    ],
    ['HH_SYNC_OUTPUT', { HH_SYNC_OUTPUT: 'xml' }, /^hh-sync: HH_SYNC_OUTPUT "xml": expected one of table, json/],
    ['HH_SYNC_QUIET', { HH_SYNC_QUIET: 'maybe' }, /^hh-sync: HH_SYNC_QUIET "maybe": expected true or false/],
    ['HH_SYNC_VERBOSE', { HH_SYNC_VERBOSE: '2' }, /^hh-sync: HH_SYNC_VERBOSE "2": expected true or false/],
  ])('a bad %s names the variable', async (_name, env, pattern) => {
    const r = await hh(['fabric', 'list'], { env, cwd: withLedgerDefault() });
    expectUsageLine(r, pattern);
    expect(r.opened).toBeUndefined();
  });

  test('a password in the file’s databaseUrl never reaches the output, even with --verbose', async () => {
    const cwd = withConfig('databaseUrl: postgres://hh:file-pass-77@db.example/hh\n');
    const r = await hh(['-v', '-o', 'json', 'fabric', 'list'], { cwd });
    expect(r.opened?.databaseUrl).toBe('postgres://hh:file-pass-77@db.example/hh');
    expect(r.stderr).toMatch(
      /^settings: configuration file .*hh-sync\.yaml; databaseUrl in .*hh-sync\.yaml:1, --output, --verbose$/m,
    );
    expect(r.stdout + r.stderr).not.toContain('file-pass-77');
    expect(JSON.parse(r.stdout).error.message).toContain('postgres://hh:***@db.example/hh');
  });
});

describe('doctor reads the same settings', () => {
  // The doctor has its own opener: which ledger it looked for shows in its "no database to examine" line.
  test('--data-dir beats DATABASE_URL; a dataDir from the file is resolved against the file', async () => {
    const cwd = withConfig('dataDir: ./file-ledger\n');
    const flag = await hh(['doctor', '--data-dir', 'typed-ledger'], {
      env: { DATABASE_URL: 'postgres://x@127.0.0.1:1/x' },
      cwd,
    });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/no database to examine: .*\(no embedded ledger at .*typed-ledger\)/);
    const file = await hh(['doctor'], { cwd });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain(`(no embedded ledger at ${join(cwd, 'file-ledger')})`);
  });

  test("HH_SYNC_CONNECT_TIMEOUT's bad value is refused before the doctor runs", async () => {
    const r = await hh(['doctor'], { env: { HH_SYNC_CONNECT_TIMEOUT: 'never' }, cwd: withLedgerDefault() });
    expectUsageLine(r, /^hh-sync: HH_SYNC_CONNECT_TIMEOUT "never": must be a number of seconds/);
  });
});

describe('demo', () => {
  test('refuses a typed --database-url; a URL from the environment or the file is not used (nor refused)', async () => {
    const cwd = withConfig('databaseUrl: postgres://file@db.example/hh\n');
    const dir = join(cwd, 'demo');
    const r = await hh(['demo', '--dir', dir], { env: { HH_SYNC_DATABASE_URL: 'postgres://env@db.example/hh' }, cwd });
    expect(r.stderr).not.toMatch(/always uses its own embedded ledger/);
    expect(r.opened).toMatchObject({ dataDir: join(dir, 'pgdata'), embedded: true });
    expect(r.opened?.databaseUrl).toBeUndefined();
    const typed = await hh(['demo', '--database-url', 'postgres://typed@db.example/hh'], { cwd });
    expectUsageLine(typed, /the demo always uses its own embedded ledger/);
  });
});
