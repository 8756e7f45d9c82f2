/** Counting drift results per status and per severity (for driftReport and the CLI). */
import { DRIFT_SEVERITIES, DRIFT_STATUSES, type DriftSeverity, type DriftStatus } from './types.js';

export interface DriftSummary {
  /** Every status is present, 0 when no row has it. */
  byStatus: Record<DriftStatus, number>;
  /** Every severity is present, 0 when no row has it. */
  bySeverity: Record<DriftSeverity, number>;
  total: number;
}

export function summarizeDrift(
  rows: Iterable<{ driftStatus: DriftStatus; driftSeverity: DriftSeverity }>,
): DriftSummary {
  const byStatus = Object.fromEntries(DRIFT_STATUSES.map((s) => [s, 0])) as Record<DriftStatus, number>;
  const bySeverity = Object.fromEntries(DRIFT_SEVERITIES.map((s) => [s, 0])) as Record<DriftSeverity, number>;
  let total = 0;
  for (const row of rows) {
    if (!(row.driftStatus in byStatus)) throw new Error(`unknown drift status ${JSON.stringify(row.driftStatus)}`);
    if (!(row.driftSeverity in bySeverity))
      throw new Error(`unknown drift severity ${JSON.stringify(row.driftSeverity)}`);
    byStatus[row.driftStatus]++;
    bySeverity[row.driftSeverity]++;
    total++;
  }
  return { byStatus, bySeverity, total };
}
