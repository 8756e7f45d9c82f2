/**
 * runWatchUntilSignal(): `hh-sync watch <fabric…>` minus argument parsing and ledger opening (the CLI owns those).
 *
 * Starts the watch and runs until a signal:
 *   SIGINT / SIGTERM → graceful stop (finish the batch in flight, record the runs, release the leases) → resolves 0;
 *                      a second SIGINT/SIGTERM while stopping resolves 130 at once (the caller exits);
 *   SIGHUP           → desired-state sync of every held fabric with a Git source, now.
 * Start failures (unknown fabric, unreachable lease database, metrics port in use) reject: the CLI prints one line
 * and exits 3.
 */
import type { EventEmitter } from 'node:events';
import { silentLogger } from '../sync/logger.js';
import { startWatch, type WatchHandle, type WatchOptions, type WatchTarget } from './watch-supervisor.js';

export interface RunUntilSignalOptions extends WatchOptions {
  /** Called once the watch runs (print the metrics URL, subscribe to events, …). */
  onStart?: (handle: WatchHandle) => void;
  /** Where the signal handlers go; default `process`. */
  signals?: Pick<EventEmitter, 'on' | 'off'>;
}

export async function runWatchUntilSignal(
  target: WatchTarget,
  fabricNames: readonly string[],
  options: RunUntilSignalOptions = {},
): Promise<number> {
  const log = options.logger ?? silentLogger;
  const proc = options.signals ?? process;
  const handle = await startWatch(target, fabricNames, options);
  let stopRequested = false;
  return new Promise<number>((resolve) => {
    const cleanup = () => {
      proc.off('SIGINT', onStop);
      proc.off('SIGTERM', onStop);
      proc.off('SIGHUP', onHup);
    };
    const onStop = (signal: string) => {
      if (stopRequested) {
        log.warn({ signal }, 'second stop signal: exiting without waiting');
        cleanup();
        resolve(130);
        return;
      }
      stopRequested = true;
      log.info(
        { signal },
        'stopping: finishing the writes in flight and releasing the fabrics (signal again to exit at once)',
      );
      handle.stop().then(
        () => {
          cleanup();
          resolve(0);
        },
        (err: unknown) => {
          log.error({ err: (err as Error).message }, 'the watch did not stop cleanly');
          cleanup();
          resolve(3);
        },
      );
    };
    const onHup = () => {
      log.info({ fabrics: handle.held() }, 'SIGHUP: syncing the desired state now');
      void handle
        .syncDesiredNow()
        .catch((err: unknown) => log.error({ err: (err as Error).message }, 'desired-state sync failed'));
    };
    proc.on('SIGINT', onStop);
    proc.on('SIGTERM', onStop);
    proc.on('SIGHUP', onHup);
    try {
      options.onStart?.(handle);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'onStart failed');
    }
  });
}
