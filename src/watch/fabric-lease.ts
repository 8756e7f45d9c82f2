/**
 * FabricLeases: which fabrics this watch replica holds. Exactly one replica holds a fabric at a time.
 *
 * Every `pollMs` (default 1 s) the replica:
 *   1. reconnects its lease connection if it is down (a dead connection means every lease is gone: 'lost');
 *   2. proves a connection that holds leases is alive at least every `checkMs` (default 2 s) — a cheap `SELECT 1`
 *      with a client-side timeout, so a half-open connection is noticed too;
 *   3. tries to take the fabrics it wants and nobody holds, up to its capacity;
 *   4. gives one fabric back ('surplus') when it holds more than its fair share and another replica has room.
 *
 * Sharing: replicas of one group (the same fabric list) find each other through the backend (`application_name` of
 * the lease connections on a server, which also carries each replica's `maxFabrics`); the fabrics are divided evenly
 * (see fairShares), a capped replica's remainder going to the others.
 * A replica that starts late therefore receives fabrics from the others, one per poll, each handed over cleanly
 * (the holder stops its watch — finishing the batch in flight — before it unlocks).
 *
 * Takeover time after a holder dies: the server drops its locks when its connection closes, and a waiting replica
 * takes the fabric at its next poll, so within `pollMs` (+ the time to list the kinds before the first write).
 * After a holder FREEZES (SIGSTOP, paused VM): its lease expires `leasePeriodMs` after its last renewal (every
 * `checkMs`), and a waiting replica takes the fabric at its next poll after that (see lease-backend.ts). The frozen
 * replica, when it wakes, drops every lease at its next poll (its own clock says it did not renew in time) or at
 * its next renewal (the database's clock says so), and its writes are fenced meanwhile (stillHolds).
 */
import { EventEmitter } from 'node:events';
import type { EntityManager } from '@mikro-orm/core';
import { DEFAULT_LEASE_PERIOD_MS, type LeaseBackend, type LeaseMember } from './lease-backend.js';
import { silentLogger, type Logger } from '../sync/logger.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';

export interface FabricLeasesOptions {
  /** How often non-held fabrics are tried and the group is looked at. Default 1000 ms. */
  pollMs?: number;
  /** Renew the leases (prove the lease connection alive) this often. Default min(2000, leasePeriodMs / 3) ms. */
  checkMs?: number;
  /**
   * A lease not renewed for this long is lost (the backend's expiry on the database clock is the authority; this is
   * this replica's own, earlier, view of it). Default the backend's lease period, else DEFAULT_LEASE_PERIOD_MS.
   */
  leasePeriodMs?: number;
  /** Monotonic clock in ms of the lease period (tests inject one). Default `clock.now` when a clock is given, else performance.now. */
  now?: () => number;
  /** Time source of the poll timer, the hold times and the proof interval. Default real time. */
  clock?: Clock;
  /** Most fabrics this replica holds. Default: no limit beyond the fair share. */
  maxFabrics?: number;
  /** A fabric is held at least this long before it may be handed to another replica. Default 5 × pollMs. */
  minHoldMs?: number;
  logger?: Logger;
}

export interface FabricLeasesEvents {
  /** This replica now holds the fabric: start watching it. */
  acquired: [fabricId: number];
  /** The leases are gone (connection died): stop writing at once. */
  lost: [fabricIds: number[], reason: string];
  /** This replica holds more than its share: stop the fabric's watch, then call release(). */
  surplus: [fabricId: number];
  /** The backend could not be reached (kept retrying). */
  unavailable: [error: Error];
}

export class FabricLeases extends EventEmitter<FabricLeasesEvents> {
  private readonly pollMs: number;
  private readonly checkMs: number;
  private readonly maxFabrics: number;
  private readonly minHoldMs: number;
  private readonly log: Logger;
  private readonly leasePeriodMs: number;
  private readonly now: () => number;
  /** When the last successful renewal was sent (this.now()); the leases are valid until leasePeriodMs after it. */
  private renewedAt = -Infinity;
  private renewNow = false;
  private readonly held = new Map<number, number>(); // fabric id → acquired at (epoch ms)
  private readonly releasing = new Set<number>();
  private timer?: TimerHandle;
  private readonly clock: Clock;
  private tick?: Promise<void>;
  private running = false;
  private lastProof = 0;
  private wasUnavailable = false;

  constructor(
    private readonly backend: LeaseBackend,
    private readonly wanted: readonly number[],
    options: FabricLeasesOptions = {},
  ) {
    super();
    this.pollMs = options.pollMs ?? 1000;
    this.leasePeriodMs = options.leasePeriodMs ?? backend.leasePeriodMs ?? DEFAULT_LEASE_PERIOD_MS;
    this.checkMs = options.checkMs ?? Math.min(2000, Math.floor(this.leasePeriodMs / 3));
    if (this.checkMs * 2 > this.leasePeriodMs) {
      throw new Error(
        `lease check interval ${this.checkMs} ms must be at most half the lease period (${this.leasePeriodMs} ms)`,
      );
    }
    this.clock = options.clock ?? systemClock;
    const clock = options.clock;
    this.now = options.now ?? (clock ? () => clock.now() : () => performance.now());
    this.maxFabrics = options.maxFabrics ?? Infinity;
    this.minHoldMs = options.minHoldMs ?? 5 * this.pollMs;
    this.log = options.logger ?? silentLogger;
    backend.onLost((reason) => this.dropAll(reason));
  }

  /** Fabric ids held now. */
  heldIds(): number[] {
    return [...this.held.keys()];
  }

  holds(fabricId: number): boolean {
    return this.held.has(fabricId);
  }

  /** Fencing check for a write transaction (see LeaseBackend.stillHolds). */
  async stillHolds(em: EntityManager, fabricId: number): Promise<boolean> {
    if (!this.held.has(fabricId)) return false;
    if (!this.renewedInTime()) {
      this.schedule(0); // the poll drops every lease
      return false;
    }
    return this.backend.stillHolds(em, fabricId);
  }

  /**
   * Whether this replica knows which fabrics it holds: it is running, its lease connection is up and the leases were
   * renewed within the lease period (readiness: /readyz). False before the first connection and during an outage.
   */
  stateKnown(): boolean {
    return this.isRunning() && this.backend.connected && this.renewedInTime();
  }

  private renewedInTime(): boolean {
    return this.now() - this.renewedAt <= this.leasePeriodMs;
  }

  /** Run the first poll now and keep polling. */
  async start(): Promise<void> {
    this.running = true;
    await this.poll();
  }

  /** Stop polling (leases already held stay held until release()/close()). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.tick;
  }

  /**
   * Read through a method, not the field: stop() flips the flag while a poll awaits, and the compiler would carry
   * an earlier check's narrowing past those awaits.
   */
  private isRunning(): boolean {
    return this.running;
  }

  /** Give a fabric back (after its watch stopped). */
  async release(fabricId: number): Promise<void> {
    this.releasing.delete(fabricId);
    if (!this.held.delete(fabricId)) return;
    await this.backend.release(fabricId).catch((err: unknown) => {
      // An unlock that fails because the connection died released the lock anyway.
      this.log.warn({ fabricId, err: (err as Error).message }, 'lease release failed');
    });
  }

  /**
   * The fabric turned out not to be held (a fencing check failed): forget it and check the connection at the next
   * poll, which runs at once.
   */
  forget(fabricId: number): void {
    this.held.delete(fabricId);
    this.releasing.delete(fabricId);
    this.lastProof = 0;
    this.renewNow = true;
    this.schedule(0);
  }

  /** Stop polling, release every lease and close the connection. */
  async close(): Promise<void> {
    await this.stop();
    this.held.clear();
    this.releasing.clear();
    await this.backend.close();
  }

  /** Every lease is gone: forget them and close the backend, so the server frees what this replica may still hold. */
  private async expire(): Promise<void> {
    const late = Math.round(this.now() - this.renewedAt);
    this.dropAll(
      `lease expired: not renewed for ${late} ms (lease period ${this.leasePeriodMs} ms); this replica was stalled`,
    );
    await this.backend.close();
  }

  private dropAll(reason: string): void {
    const ids = [...this.held.keys()];
    this.held.clear();
    this.releasing.clear();
    this.lastProof = 0;
    if (ids.length) {
      this.log.warn({ fabricIds: ids, reason }, 'fabric leases lost');
      this.emit('lost', ids, reason);
    }
  }

  private schedule(delayMs: number): void {
    if (!this.isRunning()) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, delayMs);
  }

  private poll(): Promise<void> {
    if (this.tick) return this.tick;
    this.tick = this.pollOnce()
      .catch((err: unknown) => {
        // The backend marks itself lost on a failed query; the next poll reconnects.
        this.log.debug({ err: (err as Error).message }, 'lease poll failed');
      })
      .finally(() => {
        this.tick = undefined;
        this.schedule(this.pollMs);
      });
    return this.tick;
  }

  private async pollOnce(): Promise<void> {
    if (!this.isRunning()) return;
    if (this.held.size > 0 && !this.renewedInTime()) await this.expire();
    if (!this.backend.connected) {
      try {
        const sentAt = this.now();
        await this.backend.connect();
        this.renewedAt = sentAt;
        if (this.wasUnavailable) this.log.info({}, 'lease connection restored');
        this.wasUnavailable = false;
      } catch (err) {
        if (!this.wasUnavailable)
          this.log.warn({ err: (err as Error).message }, 'lease connection unavailable; retrying');
        this.wasUnavailable = true;
        this.emit('unavailable', err as Error);
        return;
      }
    }
    if (this.renewNow || this.now() - this.renewedAt >= this.checkMs) {
      this.renewNow = false;
      const sentAt = this.now();
      await this.backend.ping(); // throws (and the backend reports the leases lost) when they expired meanwhile
      this.renewedAt = sentAt;
    }
    const unheld = this.wanted.filter((id) => !this.held.has(id));
    if (
      unheld.length === 0 &&
      this.releasing.size === 0 &&
      this.held.size > 0 &&
      this.clock.now() - this.lastProof < this.checkMs
    )
      return;

    const members = await this.backend.members();
    this.lastProof = this.clock.now();
    if (!this.isRunning()) return;
    const targets = fairShares(
      this.wanted.length,
      members.length ? members : [{ order: 0, held: this.held.size, cap: this.maxFabrics, self: true }],
    );
    const capacity = Math.min(this.maxFabrics, targets.find((t) => t.member.self)?.target ?? this.wanted.length);

    // Take what nobody holds, in random order so replicas starting together spread out.
    for (const id of shuffle(unheld)) {
      if (this.held.size >= capacity || !this.isRunning()) break;
      if (await this.backend.tryAcquire(id)) {
        if (!this.isRunning()) {
          await this.backend.release(id);
          break;
        }
        this.held.set(id, this.clock.now());
        this.log.info({ fabricId: id }, 'fabric lease acquired');
        this.emit('acquired', id);
      }
    }

    // Hand one fabric over when holding more than the share and another replica has room for it.
    if (this.releasing.size === 0 && this.held.size > capacity) {
      const someoneHasRoom = targets.some((t) => !t.member.self && t.member.held < t.target);
      if (someoneHasRoom) {
        const now = this.clock.now();
        const candidate = [...this.held].filter(([, at]) => now - at >= this.minHoldMs).sort((a, b) => b[1] - a[1])[0];
        if (candidate) {
          this.releasing.add(candidate[0]);
          this.log.info({ fabricId: candidate[0], target: capacity }, 'handing a fabric to another replica');
          this.emit('surplus', candidate[0]);
        }
      }
    }
  }
}

/**
 * How many of `total` fabrics each member should hold: filled evenly, members with a smaller cap first (what they
 * cannot take goes to the others). Every member computes the same result from the same member list.
 */
export function fairShares(total: number, members: readonly LeaseMember[]): { member: LeaseMember; target: number }[] {
  const sorted = [...members].sort((a, b) => a.cap - b.cap || a.order - b.order);
  let remaining = total;
  return sorted.map((member, i) => {
    const target = Math.min(member.cap, Math.ceil(remaining / (sorted.length - i)));
    remaining -= target;
    return { member, target };
  });
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
