/**
 * What `hh-sync fabric list` and `drift` read, whichever way the ledger was opened: through the ORM (a
 * LedgerReader: the embedded ledger, a ledger with a migration pending, a test's shared ledger) or on a plain
 * `pg` client (src/cli/pg-fabric-reads.ts: an up-to-date PostgreSQL ledger, without loading MikroORM). Both hand
 * out the same records, so the output code cannot tell them apart (test/cli-pg-reads.test.ts).
 */
import type { HedgehogFabric } from '../entities/index.js';
import type { LedgerReader } from '../ledger-reader.js';
import type { FabricRecord } from '../store/fabric-rows.js';
import type { DriftReport, DriftReportFilter } from '../sync/drift-report.js';

export interface FabricReads {
  /** Every fabric, by name. */
  list(): Promise<FabricRecord[]>;
  /** The fabric named `name`, or null. */
  get(name: string): Promise<FabricRecord | null>;
  /** The drift report of a fabric this object handed out. */
  driftReport(fabric: FabricRecord, filter?: DriftReportFilter): Promise<DriftReport>;
  close(): Promise<void>;
}

/** The reads through a LedgerReader (the ORM path); closing them closes the reader. */
export function readsOfReader(reader: LedgerReader): FabricReads {
  return {
    list: () => reader.fabrics.list(),
    get: (name) => reader.fabrics.get(name),
    // The records this object hands out are the registry's entities.
    driftReport: (fabric, filter) => reader.driftReport(fabric as HedgehogFabric, filter),
    close: () => reader.close(),
  };
}
