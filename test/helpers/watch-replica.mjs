// One `hh-sync watch` replica as its own process, for the failover and signal tests (test/watch-replicas.test.ts).
// Runs the BUILT package (dist/, `npx tsc -p tsconfig.build.json`; `npm test` builds first) the way the CLI does:
// openLedger → runWatchUntilSignal (SIGINT/SIGTERM: graceful stop, exit 0; SIGHUP: desired sync).
// argv[2]: JSON { databaseUrl?, dataDir?, embedded?, fabrics: string[], options?: WatchOptions }.
// stdout: one JSON line per event { t, pid, event, fabric?, … }.
import { openLedger } from '../../dist/src/ledger.js';
import { runWatchUntilSignal } from '../../dist/src/watch/index.js';

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(`${JSON.stringify({ t: Date.now(), pid: process.pid, ...o })}\n`);

let ledger;
try {
  ledger = await openLedger({
    databaseUrl: cfg.databaseUrl,
    dataDir: cfg.dataDir,
    embedded: cfg.embedded,
    migrate: false,
  });
} catch (err) {
  out({ event: 'failed', error: err.message });
  process.exit(3);
}
let code;
try {
  code = await runWatchUntilSignal(ledger, cfg.fabrics, {
    ...cfg.options,
    onStart(handle) {
      out({ event: 'started', held: handle.held(), lease: handle.lease });
      handle.on('acquired', (p) => out({ event: 'acquired', fabric: p.fabric }));
      handle.on('released', (p) => out({ event: 'released', fabric: p.fabric, reason: p.reason }));
      handle.on('ready', (p) => out({ event: 'ready', fabric: p.fabric }));
      handle.on('applied', (p) =>
        out({ event: 'applied', fabric: p.fabric, kind: p.kind, source: p.source, objects: p.objects }),
      );
      handle.on('paused', (p) => out({ event: 'paused', fabric: p.fabric, error: p.error.message }));
      handle.on('resumed', (p) => out({ event: 'resumed', fabric: p.fabric }));
      handle.on('run', (p) => out({ event: 'run', fabric: p.fabric, id: p.report.id, status: p.report.status }));
      handle.on('desired', (p) =>
        out({ event: 'desired', fabric: p.fabric, status: p.report.status, commit: p.report.commit }),
      );
      handle.on('error', (p) => out({ event: 'error', fabric: p.fabric, error: p.error.message }));
    },
  });
} catch (err) {
  out({ event: 'failed', error: err.message });
  code = 3;
}
await ledger.close();
out({ event: 'exit', code });
process.exit(code);
