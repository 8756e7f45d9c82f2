/**
 * deploy/grafana's dashboard and deploy/prometheus's alert rules reference only metrics the watch exports: every
 * `hh_sync_*`, `process_*` and `nodejs_*` name in their PromQL (histogram `_bucket`/`_sum`/`_count` series
 * included) is checked against the names a real WatchMetrics registry serves. And the alerts the issue asks for exist.
 */
import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { WATCH_METRIC_NAMES, WatchMetrics } from '../src/watch/metrics.js';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
}

const rules = (
  loadAllYaml(readFileSync('deploy/prometheus/alerts.yaml', 'utf8'))[0] as {
    spec: { groups: { rules: AlertRule[] }[] };
  }
).spec.groups.flatMap((g) => g.rules);

interface Panel {
  title: string;
  targets: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync('deploy/grafana/hh-sync-dashboard.json', 'utf8')) as {
  panels: Panel[];
  templating: { list: { query: unknown }[] };
};
const dashboardExprs = [
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => v.query).filter((q): q is string => typeof q === 'string'),
];

/** Metric names in a PromQL expression (the prefixes this project exports; label values in quotes ignored). */
function metricNames(expr: string): string[] {
  const unquoted = expr.replace(/"[^"]*"/g, '""');
  return [...unquoted.matchAll(/\b((?:hh_sync|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** Every series name a scrape of the watch can show: histograms as _bucket, _sum and _count. */
async function exportedSeriesNames(): Promise<Set<string>> {
  const metrics = new WatchMetrics(
    () => Promise.resolve([]),
    () => Promise.resolve(true),
    { countDrift: () => Promise.resolve([]), databaseReachable: () => Promise.resolve() },
  );
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    else names.add(m.name);
  }
  return names;
}

test('the registry serves exactly the hh_sync_ metrics the code lists', async () => {
  const served = [...(await exportedSeriesNames())]
    .filter((n) => n.startsWith('hh_sync_'))
    .map((n) => n.replace(/_(bucket|sum|count)$/, ''));
  expect([...new Set(served)].sort()).toEqual([...WATCH_METRIC_NAMES].sort());
});

test('every metric the dashboard and the alert rules reference is exported', async () => {
  const exported = await exportedSeriesNames();
  const referenced = [...dashboardExprs, ...rules.map((r) => r.expr)].flatMap(metricNames);
  expect(referenced.length).toBeGreaterThan(20);
  expect(referenced.filter((n) => !exported.has(n))).toEqual([]);
  // The check itself can fail: a name the code does not export is caught.
  expect(metricNames('rate(hh_sync_no_such_metric_total{fabric="process_x"}[5m])')).toEqual([
    'hh_sync_no_such_metric_total',
  ]);
  expect(exported.has('hh_sync_no_such_metric_total')).toBe(false);
});

test('the dashboard shows process metrics too (Node defaults on the same registry)', () => {
  const names = new Set(dashboardExprs.flatMap(metricNames));
  expect([...names].filter((n) => n.startsWith('process_') || n.startsWith('nodejs_')).length).toBeGreaterThan(0);
});

test('the alerts the runbook needs: not synced for N minutes, critical drift, no leader, schema unhealthy', () => {
  const byName = new Map(rules.map((r) => [r.alert, r]));
  expect(byName.get('HhSyncFabricNotSynced')?.expr).toMatch(
    /time\(\) - max by \(fabric\) \(hh_sync_last_successful_sync_timestamp_seconds\{type="watch"\}\) > \d+/,
  );
  expect(byName.get('HhSyncCriticalDrift')?.expr).toMatch(/hh_sync_drift_objects\{severity="critical"\}/);
  expect(byName.get('HhSyncWatchWithoutLeader')?.expr).toMatch(/max by \(fabric\) \(hh_sync_fabric_held\) == 0/);
  expect(byName.get('HhSyncLedgerSchemaUnhealthy')?.expr).toMatch(/hh_sync_ledger_schema_healthy\) == 0/);
  for (const r of rules) {
    expect(['warning', 'critical']).toContain(r.labels.severity);
    expect(r.for).toMatch(/^\d+m$/);
  }
});
