/**
 * Ctrl-C / SIGTERM during a command: the first one aborts the work in flight (the run is still recorded,
 * resources are released by the command's own cleanup); a second one exits at once.
 */
export interface Interrupt {
  signal: AbortSignal;
  /**
   * The signal name received so far, if any. A method, not a property: it changes while the command awaits, and the
   * compiler would carry a property's narrowing (`if (received)` once false) past later awaits.
   */
  received(): NodeJS.Signals | null;
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
    received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
