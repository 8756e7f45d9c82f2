/**
 * Where a watch replica's fabric leases live. Two backends behind one small interface:
 *
 * - AdvisoryLeaseBackend (a PostgreSQL server): session-level `pg_try_advisory_lock(LOCK_NAMESPACE_WATCH, fabricId)`
 *   on ONE dedicated `pg` connection per replica, never a pooled ORM connection (a pool would hand the session,
 *   and the lock with it, to any query). The server releases the locks the moment that connection ends — a replica
 *   killed with SIGKILL frees its fabrics as soon as the kernel closes its socket.
 *   A lock alone is not a lease, though: a FROZEN holder (SIGSTOP, a VM paused, an event loop stuck) keeps its
 *   connection — its kernel still answers TCP keepalives — and so its locks, forever. So the lease also EXPIRES:
 *   the replica renews a heartbeat, taken from the database's clock, in its connection's `application_name`
 *   (`<group>:<cap>:<heartbeat ms>`, visible to every replica in pg_stat_activity) every few seconds. A heartbeat
 *   older than the lease period means the lease has expired: a replica wanting the fabric terminates the
 *   holder's lease session (pg_terminate_backend; the server then drops its locks) and takes the lock; the
 *   holder's own late renewal fails and drops everything; and every write is fenced in its transaction by
 *   stillHolds(), which checks the lock AND the heartbeat against the database clock (so a holder waking up
 *   writes nothing, even before it notices). The lease session (pid + backend_start) is the fencing token.
 * - InProcessLeaseBackend (the embedded PGlite): PGlite is ONE backend session that pglite-socket shares between all
 *   its client connections, so a session lock would be granted to every client and would outlive the connection that
 *   took it. Only the process holding the embedded data directory (pid lock) may watch it — others reach it
 *   through that process's port, but startWatch refuses them — so the leases are a table in this process, shared
 *   by every watch in it that uses the same database. They never expire: the process cannot freeze without them.
 */
import pg from 'pg';
import type { PgConnectionConfig } from '../db/pg-connection-config.js';
import type { EntityManager } from '@mikro-orm/core';
import { LOCK_NAMESPACE } from '../store/fabric-lock.js';
import { serverVersion } from '../store/database.js';
import { DB_NOW_MS, HEARTBEAT_MS, LOCK_NAMESPACE_WATCH, watchLeaseHeld } from '../store/watch-lease.js';

export { LOCK_NAMESPACE_WATCH };

/** One replica of a watch group as the backend sees it. */
export interface LeaseMember {
  /** Stable order between members (backend pid, or creation order in-process). */
  order: number;
  /** How many fabric leases this member holds. */
  held: number;
  /** The member's maxFabrics (Infinity when unlimited). */
  cap: number;
  self: boolean;
}

/**
 * The `application_name` of a lease connection: `hh-sync-watch:<group>:<cap>`. Replicas of a group find each other
 * by the prefix and read each other's maxFabrics from the end, so all of them compute the same targets.
 */
export function leaseApplicationName(group: string, cap: number): string {
  return `${group}:${Number.isFinite(cap) ? cap : '-'}`;
}

/** `<group>:<cap>:<heartbeat>`: the cap is the second-to-last segment. */
function capFromApplicationName(name: string): number {
  const parts = name.split(':');
  const cap = parts[parts.length - 2] ?? '';
  return /^\d+$/.test(cap) ? Number(cap) : Infinity;
}

export interface LeaseBackend {
  readonly kind: 'advisory' | 'in-process';
  /** How long a lease lasts without renewal (ping()); undefined: FabricLeases' default. */
  readonly leasePeriodMs?: number;
  /** (Re)open the backend's connection; throws when the database cannot be reached. */
  connect(): Promise<void>;
  readonly connected: boolean;
  /**
   * Renew the leases: a cheap round trip proving the lease connection (and with it the locks) is still there.
   * Throws (and reports onLost) when the connection is gone or the leases expired before this renewal.
   */
  ping(): Promise<void>;
  tryAcquire(fabricId: number): Promise<boolean>;
  release(fabricId: number): Promise<void>;
  /** The replicas of this watch group (same fabric list) and how many leases each holds. */
  members(): Promise<LeaseMember[]>;
  /**
   * Fencing, inside a write transaction of `em`: true while this replica still holds the fabric. A replica whose
   * connection died without it noticing yet must not write after another replica took over.
   */
  stillHolds(em: EntityManager, fabricId: number): Promise<boolean>;
  /** Called once when the connection is found dead: every lease of this backend is gone. */
  onLost(listener: (reason: string) => void): void;
  /** Release everything and close the connection. */
  close(): Promise<void>;
}

// ------------------------------------------------------------------------------------------------ PostgreSQL server

export interface AdvisoryLeaseOptions {
  /** The watch group (same fabric list): replicas of one group find each other by it. */
  group: string;
  /** This replica's maxFabrics (published to the group). Default Infinity. */
  cap?: number;
  /** Client-side timeout of every lease query; a query that hangs means a dead (half-open) connection. */
  queryTimeoutMs: number;
  /**
   * A lease not renewed (ping()) for this long has expired, on the database's clock: the holder may be frozen;
   * another replica may take the fabric. Default DEFAULT_LEASE_PERIOD_MS.
   */
  leasePeriodMs?: number;
}

/** Default lease period: a frozen holder's fabrics are taken over within about this long. */
export const DEFAULT_LEASE_PERIOD_MS = 15_000;

export class AdvisoryLeaseBackend implements LeaseBackend {
  readonly kind = 'advisory' as const;
  private client?: pg.Client;
  private pid?: number;
  /** When the server started the lease session: with the pid, the fencing token (pids are reused). */
  private backendStart?: string;
  /** The last heartbeat written, on the database's clock (epoch ms). */
  private heartbeatMs?: number;
  private lostListeners: ((reason: string) => void)[] = [];
  private alive = false;
  readonly leasePeriodMs: number;

  constructor(
    private readonly config: PgConnectionConfig,
    private readonly opts: AdvisoryLeaseOptions,
  ) {
    this.leasePeriodMs = opts.leasePeriodMs ?? DEFAULT_LEASE_PERIOD_MS;
  }

  get connected(): boolean {
    return this.alive;
  }

  async connect(): Promise<void> {
    if (this.alive) return;
    const client = new pg.Client({
      ...this.config,
      application_name: leaseApplicationName(this.opts.group, this.opts.cap ?? Infinity),
      query_timeout: this.opts.queryTimeoutMs,
      connectionTimeoutMillis: this.opts.queryTimeoutMs,
      keepAlive: true,
    });
    // An 'error' without a listener would crash the process; a dead connection is an expected event here.
    client.on('error', (err) => this.markLost(`lease connection failed: ${err.message}`, client));
    client.on('end', () => this.markLost('lease connection closed', client));
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number; started: string }>(
        'SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()',
      );
      // The session's own row in pg_stat_activity always exists.
      const [self] = rows;
      this.pid = self!.pid;
      this.backendStart = self!.started;
      this.heartbeatMs = await this.heartbeat(client);
      // A holder that vanishes without closing its socket (power loss, partition) keeps its locks until the SERVER
      // notices: ask it to probe this session's TCP connection every few seconds instead of after two hours.
      // (Ignored on Unix sockets; best effort where a provider forbids it.)
      await client
        .query(
          `SELECT set_config('tcp_keepalives_idle', '10', false), set_config('tcp_keepalives_interval', '5', false),
                  set_config('tcp_keepalives_count', '3', false)`,
        )
        .catch(() => undefined);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    this.alive = true;
  }

  private markLost(reason: string, client: pg.Client): void {
    if (client !== this.client || !this.alive) return;
    this.alive = false;
    this.client = undefined;
    client.end().catch(() => undefined);
    for (const l of this.lostListeners) l(reason);
  }

  private async run<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = this.client;
    if (!client || !this.alive) throw new Error('lease connection is not open');
    try {
      return (await client.query<T>(sql, params)).rows;
    } catch (err) {
      // A lock wait that timed out is an answer from a live session.
      if ((err as { code?: string }).code === '55P03') throw err;
      // Any other failure of this tiny connection (timeout, reset) means its session — and the locks — may be gone.
      this.markLost(`lease query failed: ${(err as Error).message}`, client);
      throw err;
    }
  }

  /** Write a new heartbeat (the database's clock) into the session's application_name; returns it. */
  private async heartbeat(client: pg.Client): Promise<number> {
    const name = leaseApplicationName(this.opts.group, this.opts.cap ?? Infinity);
    const { rows } = await client.query<{ hb: string }>(
      `SELECT hb::text, set_config('application_name', $1 || ':' || hb, false) FROM (SELECT ${DB_NOW_MS} AS hb) t`,
      [name],
    );
    return Number(rows[0]!.hb); // a SELECT without FROM filter: exactly one row
  }

  async ping(): Promise<void> {
    const client = this.client;
    if (!client || !this.alive) throw new Error('lease connection is not open');
    // Renew only while the previous heartbeat is still valid: a replica that was frozen past its lease period
    // must not revive a lease another replica may be taking over right now.
    const rows = await this.run<{ now: string; hb: string | null }>(
      `SELECT now::text, CASE WHEN now - $2::bigint <= $3::bigint
                             THEN set_config('application_name', $1 || ':' || now, false) END AS hb
         FROM (SELECT ${DB_NOW_MS} AS now) t`,
      [leaseApplicationName(this.opts.group, this.opts.cap ?? Infinity), this.heartbeatMs ?? 0, this.leasePeriodMs],
    );
    const row = rows[0]!; // a SELECT over a one-row subquery: exactly one row
    if (row.hb === null) {
      const late = Number(row.now) - (this.heartbeatMs ?? 0);
      const reason = `lease expired: not renewed for ${late} ms (lease period ${this.leasePeriodMs} ms); this replica was stalled`;
      this.markLost(reason, client);
      throw new Error(reason);
    }
    this.heartbeatMs = Number(row.now);
  }

  async tryAcquire(fabricId: number): Promise<boolean> {
    if (await this.lockWatch(fabricId)) return true;
    // Held: by a live replica, or by one whose lease expired (frozen) — whose session is then ended, so the
    // server drops its locks, and the lock is tried once more.
    if (!(await this.endExpiredHolder(fabricId))) return false;
    return this.lockWatch(fabricId);
  }

  /**
   * Take the watch lock inside a transaction that first takes the fabric's per-run transaction lock: a write the
   * previous holder still has in flight (it passed its fence before it froze) commits or rolls back BEFORE this
   * replica holds the fabric, never after.
   */
  private async lockWatch(fabricId: number): Promise<boolean> {
    await this.run('BEGIN');
    try {
      await this.run(`SELECT set_config('lock_timeout', $1, true)`, [
        `${Math.max(1, Math.round(this.opts.queryTimeoutMs / 2))}ms`,
      ]);
      const busy = await this.run('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_NAMESPACE, fabricId]).then(
        () => false,
        (err: unknown) => {
          if ((err as { code?: string }).code !== '55P03') throw err;
          return true; // a write (or sync run) holds the fabric: try again at the next poll
        },
      );
      const [row] = busy
        ? [{ ok: false }]
        : await this.run<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [
            LOCK_NAMESPACE_WATCH,
            fabricId,
          ]);
      await this.run(busy ? 'ROLLBACK' : 'COMMIT');
      return row!.ok; // pg_try_advisory_lock returns one row
    } catch (err) {
      if (this.alive) await this.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Ends the lease session of the fabric's holder when its heartbeat is older than the lease period. */
  private async endExpiredHolder(fabricId: number): Promise<boolean> {
    const [holder] = await this.run<{ pid: number; stale_ms: string | null }>(
      `SELECT a.pid, (${DB_NOW_MS} - ${HEARTBEAT_MS('a')})::text AS stale_ms
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.classid::bigint = $1 AND l.objid::bigint = $2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LOCK_NAMESPACE_WATCH, fabricId],
    );
    if (!holder || holder.pid === this.pid || holder.stale_ms === null || Number(holder.stale_ms) <= this.leasePeriodMs)
      return false;
    // The holder is frozen or cut off: end its session (it notices at its next renewal and writes nothing, see
    // stillHolds). Needs the same database role as the holder (or pg_signal_backend).
    const [ended] = await this.run<{ ok: boolean }>('SELECT pg_terminate_backend($1::int, $2::bigint) AS ok', [
      holder.pid,
      Math.max(1000, this.opts.queryTimeoutMs / 2),
    ]);
    return ended!.ok; // pg_terminate_backend returns one row
  }

  async release(fabricId: number): Promise<void> {
    if (!this.alive) return;
    await this.run('SELECT pg_advisory_unlock($1::int, $2::int)', [LOCK_NAMESPACE_WATCH, fabricId]);
  }

  async members(): Promise<LeaseMember[]> {
    // A replica whose heartbeat expired (frozen) is no member: counting it would keep its share from the others.
    const rows = await this.run<{ pid: number; held: number; app: string }>(
      `SELECT a.pid, a.application_name AS app,
              (SELECT count(*) FROM pg_locks l
                WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                  AND l.database = a.datid AND l.classid::bigint = $2)::int AS held
         FROM pg_stat_activity a
        WHERE starts_with(a.application_name, $1) AND a.datname = current_database()
          AND (a.pid = pg_backend_pid() OR ${DB_NOW_MS} - ${HEARTBEAT_MS('a')} <= $3)`,
      [`${this.opts.group}:`, LOCK_NAMESPACE_WATCH, this.leasePeriodMs],
    );
    return rows.map((r) => ({
      order: r.pid,
      held: r.held,
      cap: capFromApplicationName(r.app),
      self: r.pid === this.pid,
    }));
  }

  async stillHolds(em: EntityManager, fabricId: number): Promise<boolean> {
    if (!this.alive || this.pid === undefined || this.backendStart === undefined) return false;
    return watchLeaseHeld(
      em,
      { pid: this.pid, backendStart: this.backendStart, leasePeriodMs: this.leasePeriodMs },
      fabricId,
    );
  }

  onLost(listener: (reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.alive = false;
    this.client = undefined;
    // Ending the session releases every advisory lock it holds; no unlock round trips needed.
    await client?.end().catch(() => undefined);
  }
}

// ------------------------------------------------------------------------------------------------ embedded database

interface InProcessTable {
  holders: Map<number, InProcessLeaseBackend>;
  members: Set<InProcessLeaseBackend>;
}

let memberSeq = 0;

/** Lease tables per database identity (and watch group), for every watch of this process. */
const TABLES = new Map<string, InProcessTable>();

export class InProcessLeaseBackend implements LeaseBackend {
  readonly kind = 'in-process' as const;
  /** Never expires: the leases live in this process, which cannot be frozen without its holders. */
  readonly leasePeriodMs = Infinity;
  private open = false;
  private readonly table: InProcessTable;
  private readonly order = ++memberSeq;

  /**
   * @param database identifies the database (e.g. host:port/dbname): watches of one database share a table.
   * @param group the watch group (same fabric list); counted for sharing.
   * @param cap this replica's maxFabrics.
   */
  constructor(
    database: string,
    private readonly group: string,
    private readonly cap = Infinity,
  ) {
    let t = TABLES.get(database);
    if (!t) {
      t = { holders: new Map(), members: new Set() };
      TABLES.set(database, t);
    }
    this.table = t;
  }

  get connected(): boolean {
    return this.open;
  }

  // The table lives in this process: every answer is immediate, given as the settled promise the interface asks for.

  connect(): Promise<void> {
    this.open = true;
    this.table.members.add(this);
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return this.open ? Promise.resolve() : Promise.reject(new Error('lease table is closed'));
  }

  tryAcquire(fabricId: number): Promise<boolean> {
    if (!this.open) return Promise.resolve(false);
    const holder = this.table.holders.get(fabricId);
    if (holder && holder !== this) return Promise.resolve(false);
    this.table.holders.set(fabricId, this);
    return Promise.resolve(true);
  }

  release(fabricId: number): Promise<void> {
    if (this.table.holders.get(fabricId) === this) this.table.holders.delete(fabricId);
    return Promise.resolve();
  }

  members(): Promise<LeaseMember[]> {
    const counts = new Map<InProcessLeaseBackend, number>();
    for (const h of this.table.holders.values()) counts.set(h, (counts.get(h) ?? 0) + 1);
    return Promise.resolve(
      [...this.table.members]
        .filter((m) => m.group === this.group)
        .map((m) => ({ order: m.order, held: counts.get(m) ?? 0, cap: m.cap, self: m === this })),
    );
  }

  stillHolds(_em: EntityManager, fabricId: number): Promise<boolean> {
    return Promise.resolve(this.open && this.table.holders.get(fabricId) === this);
  }

  onLost(): void {
    // An in-process table cannot be lost while the process lives.
  }

  close(): Promise<void> {
    this.open = false;
    for (const [id, h] of this.table.holders) if (h === this) this.table.holders.delete(id);
    this.table.members.delete(this);
    return Promise.resolve();
  }
}

/** The `pg` settings the ORM connects with, reused for the dedicated lease connection. */
export function leaseConnectionConfig(em: EntityManager): PgConnectionConfig {
  const conn = em.getConnection() as unknown as { getConnectionOptions(): Record<string, unknown> };
  const base = conn.getConnectionOptions();
  const driverOptions: { connection?: PgConnectionConfig } = em.config.get('driverOptions'); // MikroORM defaults it to {}
  const { host, port, user, password, database } = base as PgConnectionConfig;
  return { host, port, user, password, database, ...(driverOptions.connection ?? {}) };
}

/** A key naming the database `em` talks to, for the in-process lease table. */
export function databaseIdentity(em: EntityManager): string {
  const c = leaseConnectionConfig(em);
  return `${c.host ?? ''}:${c.port ?? ''}/${c.database ?? ''}`;
}

/** PGlite answers `version()` with "PostgreSQL … (PGlite x.y.z) …". */
export async function isEmbeddedPglite(em: EntityManager): Promise<boolean> {
  return /pglite/i.test(await serverVersion(em.fork()));
}
