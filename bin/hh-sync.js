#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled output (npm run build).
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .then((code) => { process.exitCode = code ?? 0; })
  .catch((err) => {
    console.error(`hh-sync: ${err?.message ?? err}`);
    process.exitCode = 3;
  });
