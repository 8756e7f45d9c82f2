/**
 * No fabric by that name or id. Its own module (re-exported by src/sync/sync-errors.ts, where it was born) so that
 * commands reading the ledger can throw it without loading the sync service's errors, which import the Kubernetes
 * client.
 */
export class FabricNotFoundError extends Error {
  constructor(ref: string | number) {
    super(
      `no fabric ${typeof ref === 'number' ? `with id ${ref}` : `named "${ref}"`}; list them with \`hh-sync fabric list\``,
    );
    this.name = 'FabricNotFoundError';
  }
}
