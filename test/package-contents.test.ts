/**
 * What a host installs: the tarball holds the compiled library, its types, the CLI, the docs and the licence —
 * no benchmark build, no source maps pointing at sources that are not shipped — and every runtime dependency
 * is one the shipped code imports.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { templateFileName } from '../src/db/embedded-template.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function packedFiles(): string[] {
  // --ignore-scripts: the listing only (the build is the test command's own step).
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
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
  expect(files).toEqual(
    expect.arrayContaining([
      'LICENSE',
      'README.md',
      'bin/hh-sync.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/testing/index.js',
      'docs/cli.md',
      // The embedded ledger's template (a new data directory is restored from it, not made by initdb).
      `dist/src/db/${templateFileName()}`,
    ]),
  );
  expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  expect(files.filter((f) => !f.startsWith('dist/src/') && f.startsWith('dist/'))).toEqual([]);
  expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
}, 60_000);

test('every runtime dependency is imported by the shipped code (no unused ones), and no @types package is one', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const code = sourceFiles(path.join(root, 'src'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const unused = Object.keys(pkg.dependencies).filter(
    (dep) => !new RegExp(`(from |import\\(|import )'${dep.replace(/[/.]/g, '\\$&')}(/[^']*)?'`).test(code),
  );
  expect(unused).toEqual([]);
  expect(Object.keys(pkg.dependencies).filter((d) => d.startsWith('@types/'))).toEqual([]);
});

/** Every .d.ts file under `dir`. */
function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? declarationFiles(p) : p.endsWith('.d.ts') ? [p] : [];
  });
}

/** The packages a declaration file imports (types included): `@scope/name` or `name`, node built-ins left out. */
function packagesReferenced(declarations: string): string[] {
  const text = declarations.replace(/\/\*[\s\S]*?\*\//g, ''); // doc comments quote code, e.g. `from "…"`
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\sfrom\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/\/\/\/\s*<reference\s+types=['"]([^'"]+)['"]/g),
  ].map((m) => m[1]!);
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!));
}

/** True when the package ships its own declarations (so a consumer needs no @types package for it). */
function shipsOwnTypes(name: string): boolean {
  const dir = path.join(root, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  return (
    Boolean(pkg.types ?? pkg.typings) ||
    JSON.stringify(pkg.exports ?? {}).includes('"types"') ||
    existsSync(path.join(dir, 'index.d.ts'))
  );
}

test('the public .d.ts files reference only packages a consumer gets (dependencies, peerDependencies, node built-ins), with their types', () => {
  const dist = path.join(root, 'dist', 'src');
  expect(existsSync(path.join(dist, 'index.d.ts'))).toBe(true); // run `npm run build` first (npm test does)
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const installed = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies ?? {})]);
  const byPackage = new Map<string, string[]>();
  for (const file of declarationFiles(dist)) {
    for (const name of packagesReferenced(readFileSync(file, 'utf8'))) {
      byPackage.set(name, [...(byPackage.get(name) ?? []), path.relative(dist, file)]);
    }
  }
  // The scan finds what it should: the entities' declarations name MikroORM.
  expect(byPackage.get('@mikro-orm/core')).toEqual(
    expect.arrayContaining([path.join('entities', 'hedgehog-fabric.d.ts')]),
  );
  const missing = [...byPackage]
    .filter(([name]) => !installed.has(name))
    .map(([name, files]) => `${name} (${files.join(', ')})`);
  expect(missing).toEqual([]);
  const untyped = [...byPackage.keys()].filter((name) => !shipsOwnTypes(name) && !installed.has(`@types/${name}`));
  expect(untyped).toEqual([]);
});

test('MikroORM is a peer dependency (the host\'s one copy, or "Metadata for entity … not found"), pinned for development here', () => {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  for (const name of ['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/migrations']) {
    expect(pkg.dependencies![name]).toBeUndefined();
    expect(pkg.peerDependencies![name]).toMatch(/^\^6\.\d+\.\d+$/);
    expect(pkg.devDependencies![name]).toMatch(/^6\.\d+\.\d+$/);
  }
});
