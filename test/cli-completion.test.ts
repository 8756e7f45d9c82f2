/**
 * `hh-sync completion bash|zsh`: the scripts are generated from the command tree, so every command, subcommand and
 * flag is completed. The bash script is run for real (bash is everywhere the tests run): sourced, then asked what
 * it completes after typed words, as bash itself would when Tab is pressed. zsh is run when installed; otherwise
 * the script's structure is checked.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main.js';
import { CommandRunner } from '../src/cli/command-runner.js';
import { cliContext } from '../src/cli/cli-context.js';
import { OUTPUT_FORMATS } from '../src/cli/output-format.js';
import { messageLines } from './helpers/cli.js';
import { hh } from './helpers/cli-in-process.js';

/** The whole command tree, as `hh-sync` builds it when the doctor is asked for (its flags included). */
async function fullProgram(): Promise<Command> {
  const sink = { write: () => true };
  return buildProgram(
    new CommandRunner(cliContext({ stdout: sink, stderr: sink })),
    await import('../src/cli/doctor-command.js'),
  );
}

/** Every command and subcommand with its path, the program itself first (path ''). */
function commandsOf(program: Command): { path: string; command: Command }[] {
  const all: { path: string; command: Command }[] = [];
  const visit = (command: Command, path: string[]) => {
    all.push({ path: path.join(' '), command });
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
  return all;
}

const flagsOf = (command: Command) => command.options.flatMap((o) => [o.short, o.long]).filter((f): f is string => !!f);

let work: string;
let bashScript: string;
let zshScript: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'hh-completion-'));
  const [bash, zsh] = await Promise.all([hh(['completion', 'bash']), hh(['completion', 'zsh'])]);
  expect(bash).toMatchObject({ code: 0, stderr: '' });
  expect(zsh).toMatchObject({ code: 0, stderr: '' });
  bashScript = bash.stdout;
  zshScript = zsh.stdout;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * What the bash script completes for each typed line (the last word being completed, '' for a new word): one bash
 * process for all of them.
 */
function bashCompletions(lines: string[][]): string[][] {
  const file = join(work, 'hh-sync.bash');
  writeFileSync(file, bashScript);
  const cases = lines
    .map((words) => {
      const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
      return `COMP_WORDS=(hh-sync ${quoted}); COMP_CWORD=${words.length}; COMPREPLY=(); "$fn"; echo "\${COMPREPLY[*]}"`;
    })
    .join('\n');
  const fn = /^complete -F (\S+) hh-sync$/m.exec(bashScript)?.[1];
  expect(fn).toBeDefined();
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', `source '${file}'\nfn=${fn}\n${cases}`], {
    encoding: 'utf8',
  });
  return out
    .split('\n')
    .slice(0, lines.length)
    .map((l) => l.split(' ').filter(Boolean));
}

describe('completion bash', () => {
  test('bash -n accepts the script; it registers a completion for hh-sync', () => {
    const file = join(work, 'syntax.bash');
    writeFileSync(file, bashScript);
    const check = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(bashScript).toMatch(/^complete -F \S+ hh-sync$/m);
  });

  test('every command path completes its subcommands, its own flags and the global flags', async () => {
    const program = await fullProgram();
    const commands = commandsOf(program);
    expect(commands.map((c) => c.path)).toEqual(
      expect.arrayContaining(['fabric add', 'draft diff', 'completion', 'doctor']),
    );
    const globals = flagsOf(program);
    // A new word after the path, then a word starting with '-' (flags only).
    const typed = commands.flatMap(({ path }) => {
      const words = path ? path.split(' ') : [];
      return [
        [...words, ''],
        [...words, '-'],
      ];
    });
    const results = bashCompletions(typed);
    commands.forEach(({ command }, i) => {
      const anything = results[2 * i]!;
      const flags = results[2 * i + 1]!;
      for (const sub of command.commands) expect(anything).toContain(sub.name());
      for (const flag of [...flagsOf(command), ...globals, '--help']) expect(flags).toContain(flag);
      // Flags only after '-', and no flag of another command.
      expect(flags.every((f) => f.startsWith('-'))).toBe(true);
      expect(new Set(flags)).toEqual(new Set([...flagsOf(command), ...globals, '-h', '--help']));
    });
  });

  test('values: the choices of -o and of the shell argument, files after other flags; a flag value is not a command', () => {
    const [output, longOutput, prefix, equals, equalsPrefix, shells, afterValue, file] = bashCompletions([
      ['fabric', 'list', '-o', ''],
      ['--output', ''],
      ['-o', 'y'],
      ['--output', '='], // `--output=` as bash splits it
      ['--output', '=', 'js'],
      ['completion', ''],
      ['--database-url', 'fabric', ''],
      ['--data-dir', join(work, 'hh-sync.b')],
    ]);
    expect(output).toEqual([...OUTPUT_FORMATS]);
    expect(longOutput).toEqual([...OUTPUT_FORMATS]);
    expect(prefix).toEqual(['yaml']);
    expect(equals).toEqual([...OUTPUT_FORMATS]);
    expect(equalsPrefix).toEqual(['json']);
    expect(shells).toEqual(expect.arrayContaining(['bash', 'zsh']));
    // `fabric` was the URL's value: still at the top, so top-level commands, not fabric's subcommands.
    expect(afterValue).toEqual(expect.arrayContaining(['sync', 'drift', 'fabric']));
    expect(afterValue).not.toContain('add');
    expect(file).toEqual([join(work, 'hh-sync.bash')]);
  });
});

describe('completion zsh', () => {
  const hasZsh = spawnSync('sh', ['-c', 'command -v zsh'], { encoding: 'utf8' }).status === 0;

  test('a #compdef function listing every command path and flag; zsh -n accepts it when zsh is installed', async () => {
    expect(zshScript.split('\n')[0]).toBe('#compdef hh-sync');
    expect(zshScript).toMatch(/^_hh-sync\(\) \{$/m);
    expect(zshScript).toMatch(/compdef _hh-sync hh-sync/);
    const program = await fullProgram();
    const globals = flagsOf(program);
    for (const { path, command } of commandsOf(program)) {
      const line = zshScript.split('\n').find((l) => l.startsWith(`    ("${path}") compadd -- `));
      expect(line).toBeDefined();
      const words = line!
        .replace(/^.*compadd -- /, '')
        .replace(/ ;;$/, '')
        .split(' ');
      for (const w of [...command.commands.map((c) => c.name()), ...flagsOf(command), ...globals])
        expect(words).toContain(w);
    }
    expect(zshScript).toContain(`(-o|--output) compadd -- ${OUTPUT_FORMATS.join(' ')}; return ;;`);
    // Every case opens and closes (the structure zsh -n would check where zsh is missing).
    expect(zshScript.match(/^\s*case /gm)?.length).toBe(zshScript.match(/^\s*esac$/gm)?.length);
    if (hasZsh) {
      const dir = mkdtempSync(join(work, 'fpath-'));
      const file = join(dir, '_hh-sync');
      writeFileSync(file, zshScript);
      const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      // Run for real, sourced and autoloaded from $fpath; compadd and _files (zsh's completion system) recorded.
      const stubs =
        'compdef() { print -r -- "compdef $*"; }; compadd() { shift; print -r -- "$*"; }; _files() { print -r -- "<files>"; }';
      const calls =
        'words=(hh-sync fabric ""); CURRENT=3; _hh-sync; words=(hh-sync -o ""); CURRENT=3; _hh-sync; words=(hh-sync --git fabric ""); CURRENT=4; _hh-sync; words=(hh-sync fabric add --git ""); CURRENT=5; _hh-sync';
      const expectRuns = (out: string) => {
        const [fabric, output, top, files] = out
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('compdef'));
        expect(fabric!.split(' ')).toEqual(expect.arrayContaining(['add', 'set', 'list', 'remove', '--json']));
        expect(output).toBe(OUTPUT_FORMATS.join(' '));
        expect(top!.split(' ')).toEqual(expect.arrayContaining(['fabric', 'sync', 'completion']));
        expect(files).toBe('<files>');
      };
      const sourced = execFileSync('zsh', ['-f', '-c', `${stubs}; source '${file}'; ${calls}`], { encoding: 'utf8' });
      expect(sourced).toMatch(/^compdef _hh-sync hh-sync$/m);
      expectRuns(sourced);
      expectRuns(
        execFileSync('zsh', ['-f', '-c', `${stubs}; fpath=('${dir}' $fpath); autoload -Uz _hh-sync; ${calls}`], {
          encoding: 'utf8',
        }),
      );
    }
  });
});

describe('completion: usage errors', () => {
  test('an unknown shell is one line, exit 2; with -o json one JSON document', async () => {
    const r = await hh(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      "hh-sync: command-argument value 'fish' is invalid for argument 'shell'. Allowed choices are bash, zsh; see `hh-sync completion --help`",
    ]);
    const json = await hh(['completion', 'fish', '-o', 'json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      error: { code: 'usage', exitCode: 2, message: expect.stringContaining("'fish'") },
    });
  });

  test('a script is not a document: -o json is refused; no shell at all is a missing argument', async () => {
    const json = await hh(['completion', 'bash', '-o', 'json']);
    expect(json.code).toBe(2);
    expect(messageLines(json.stderr)).toEqual([
      'hh-sync: -o json: `hh-sync completion` prints a shell script; leave out -o/--json',
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'usage' } });
    const none = await hh(['completion']);
    expect(none.code).toBe(2);
    expect(messageLines(none.stderr)).toEqual([
      "hh-sync: missing required argument 'shell'; see `hh-sync completion --help`",
    ]);
  });

  test('a broken hh-sync.yaml or HH_SYNC_OUTPUT does not break completion (shell start-up must not fail)', async () => {
    const dir = mkdtempSync(join(work, 'cwd-'));
    writeFileSync(join(dir, 'hh-sync.yaml'), 'not: [valid\n');
    const r = await hh(['completion', 'bash'], { cwd: dir, env: { HH_SYNC_OUTPUT: 'json', PATH: process.env.PATH } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(bashScript);
  });
});
