#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled output (npm run build; `npm ci` builds through `prepare`).
import { existsSync } from 'node:fs';
import module from 'node:module';

// V8's code cache for the modules loaded below (Node ≥ 22.1; in the OS's temporary directory): later starts skip
// compiling them. Node 20 has no such call, and there this does nothing.
module.enableCompileCache?.();

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('hh-sync: the CLI is not built yet; run `npm run build` in the hedgehog-fabric-sync folder');
  process.exit(3);
}
import(entry.href)
  .then((m) => m.main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code ?? 0;
  })
  .catch((err) => {
    console.error(`hh-sync: ${err?.message ?? err}`);
    process.exitCode = 3;
  });
