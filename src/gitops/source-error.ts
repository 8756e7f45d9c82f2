/**
 * The whole desired-state source is unusable (repository missing, ref unknown, clone failed, …):
 * nothing was read, so nothing may be concluded — in particular not that every object was removed.
 */
export class DesiredSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DesiredSourceError';
  }
}
