/** Shared pieces of the watch tests: comparing the ledger with the fake API, waiting, changing objects. */
import type { EntityManager } from '@mikro-orm/core';
import type pg from 'pg';
import type { FakeKubeApi } from '../../src/testing/index.js';

export type View = Record<string, string>;

/** kind/namespace/name → uid@resourceVersion of every object the fake serves. */
export function fakeView(api: FakeKubeApi): View {
  const out: View = {};
  for (const o of api.list()) {
    const m = o.metadata as { namespace: string; name: string; uid: string; resourceVersion: string };
    out[`${o.kind}/${m.namespace}/${m.name}`] = `${m.uid}@${m.resourceVersion}`;
  }
  return out;
}

const LEDGER_SQL = `SELECT kind, namespace, name, actual_uid, actual_resource_version FROM hedgehog_resource
                     WHERE fabric_id = $1 AND actual_uid IS NOT NULL`;

type Row = { kind: string; namespace: string; name: string; actual_uid: string; actual_resource_version: string };

function toView(rows: Row[]): View {
  const out: View = {};
  for (const r of rows) out[`${r.kind}/${r.namespace}/${r.name}`] = `${r.actual_uid}@${r.actual_resource_version}`;
  return out;
}

/** The same view of the ledger's actual side (rows with an actual state), through the ORM. */
export async function ledgerView(em: EntityManager, fabricId: number): Promise<View> {
  const rows = (await em.fork().getConnection().execute(LEDGER_SQL.replace('$1', '?'), [fabricId])) as Row[];
  return toView(rows);
}

/** The same view through a raw `pg` client. */
export async function ledgerViewPg(client: pg.Client, fabricId: number): Promise<View> {
  return toView((await client.query<Row>(LEDGER_SQL, [fabricId])).rows);
}

/** Keys whose values differ between two views (for readable failure messages). */
export function viewDiff(a: View, b: View): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys]
    .filter((k) => a[k] !== b[k])
    .map((k) => `${k}: ${a[k] ?? '-'} vs ${b[k] ?? '-'}`)
    .sort();
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One random change to the fake's VPCs: create, update (a label) or delete. Deterministic for a given `i`, so a
 * failing run can be replayed.
 */
export function churn(api: FakeKubeApi, i: number, prefix = 'churn'): void {
  const vpcs = api.list('VPC');
  const op = i % 3;
  if (op === 0 || vpcs.length < 3) {
    api.create({
      apiVersion: 'vpc.githedgehog.com/v1beta1',
      kind: 'VPC',
      metadata: { name: `${prefix}-${i}`, namespace: 'default' },
      spec: { subnets: { default: { subnet: `10.${(i >> 8) & 255}.${i & 255}.0/24`, vlan: 1000 + (i % 3000) } } },
    });
  } else if (op === 1) {
    const o = structuredClone(vpcs[i % vpcs.length]!);
    (o.metadata as { labels?: Record<string, string> }).labels = {
      ...((o.metadata as any).labels ?? {}),
      touched: String(i),
    };
    api.apply(o);
  } else {
    const victim = vpcs[(i * 7) % vpcs.length]!.metadata as { namespace: string; name: string };
    api.delete('VPC', victim.namespace, victim.name);
  }
}
