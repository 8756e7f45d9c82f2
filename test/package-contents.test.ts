/**
 * What a host installs: the tarball holds the compiled library, its types, the CLI, the docs and the licence —
 * no benchmark build, no source maps pointing at sources that are not shipped — and every runtime dependency
 * is one the shipped code imports.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname ?? '.', '..');

function packedFiles(): string[] {
  // --ignore-scripts: the listing only (the build is the test command's own step).
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the tarball ships the library, its types, the CLI, docs and LICENSE; no bench build, no source maps', () => {
  const files = packedFiles();
  expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'bin/hh-sync.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/testing/index.js', 'docs/cli.md']));
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(files.filter((f) => !f.startsWith('dist/src/') && f.startsWith('dist/'))).toEqual([]);
  expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
}, 60_000);

test('every runtime dependency is imported by the shipped code (no unused ones), and no @types package is one', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const code = sourceFiles(path.join(root, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');
  const unused = Object.keys(pkg.dependencies).filter((dep) => !new RegExp(`(from |import\\(|import )'${dep.replace(/[/.]/g, '\\$&')}(/[^']*)?'`).test(code));
  expect(unused).toEqual([]);
  expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@types/'))).toEqual([]);
});
