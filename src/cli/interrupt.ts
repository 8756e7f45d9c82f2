/**
 * Ctrl-C / SIGTERM during a command: the first one aborts the work in flight (the run is still recorded,
 * resources are released by the command's own cleanup); a second one exits at once.
 */
export interface Interrupt {
  signal: AbortSignal;
  /** The signal name received, if any. */
  readonly received: NodeJS.Signals | null;
  dispose(): void;
}

export function onInterrupt(notify: (signal: NodeJS.Signals) => void): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  const handler = (sig: NodeJS.Signals) => {
    if (received) process.exit(130); // asked twice: stop waiting for cleanup
    received = sig;
    notify(sig);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
