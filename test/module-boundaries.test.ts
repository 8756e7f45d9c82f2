/**
 * The layering the developers' guide promises, checked on the import lines of src/:
 * - the drift engine is pure: src/drift imports nothing from the ledger, the database, the sources, the
 *   service or the CLI (the entities import the drift vocabulary, never the reverse: no drift ↔ entities cycle);
 * - src/common (Kubernetes name rules, value helpers) imports nothing at all, so every layer may use it;
 * - the DNS-1123 patterns are written once, in src/common.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g),
    ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g),
    ...text.matchAll(/(?:^|\n)import\s+'([^']+)'/g),
  ];
  return specifiers.map((m) => m[1]!);
}

/** The src/ folder (first path segment) an import resolves to, or the package name for bare imports. */
function target(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  const rel = path.relative(src, path.resolve(path.dirname(file), specifier));
  return rel.split(path.sep)[0]!;
}

function importsFrom(folder: string): { file: string; target: string }[] {
  return sourceFiles(path.join(src, folder)).flatMap((file) =>
    importsOf(file).map((s) => ({ file: path.relative(src, file), target: target(file, s) })),
  );
}

test('the import scanner sees the imports it is meant to check (it would otherwise pass vacuously)', () => {
  const drift = importsFrom('drift');
  expect(drift.some((i) => i.file === 'drift/compute-drift.ts' && i.target === 'crds')).toBe(true);
  expect(drift.some((i) => i.file === 'drift/compute-drift.ts' && i.target === 'common')).toBe(true);
  expect(importsFrom('entities').some((i) => i.file === 'entities/hedgehog-resource.ts' && i.target === 'drift')).toBe(
    true,
  );
});

test('the drift engine is pure: src/drift imports only itself, src/common, src/crds (schema defaults) and no package', () => {
  const outside = importsFrom('drift').filter((i) => !['drift', 'common', 'crds'].includes(i.target));
  expect(outside).toEqual([]);
});

test('src/common imports nothing (no node: modules, no packages, no other src folder)', () => {
  const outside = importsFrom('common').filter((i) => i.target !== 'common');
  expect(outside).toEqual([]);
});

test('the DNS-1123 patterns are written once, in src/common/k8s-names.ts', () => {
  // Migrations are frozen records of the schema at their time: the CHECK they created keeps its own text.
  const copies = sourceFiles(src)
    .filter((f) => !f.startsWith(path.join(src, 'migrations') + path.sep))
    .filter((f) => readFileSync(f, 'utf8').includes('[a-z0-9]([-a-z0-9]*[a-z0-9])?'))
    .map((f) => path.relative(src, f));
  expect(copies).toEqual([path.join('common', 'k8s-names.ts')]);
});
