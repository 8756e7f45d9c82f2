/**
 * A kind listed in full without holding all of it: its pages are held until they pass `holdObjects`, and a kind
 * that grows past that is written as its pages arrive instead — inside a savepoint of its own, so the kind stays
 * all-or-nothing as before. A list that fails, or starts over (an expired continue token), rolls the savepoint
 * back: the kind's rows are as the run found them, and no count or event of the abandoned attempt is left.
 *
 * A kind that stays under the limit (every kind of a 10,000-object fabric at the default) is handed back whole and
 * written as before, its rows batched with the other kinds' — writing it page by page would cost a statement per
 * kind at least, and a pause of the pipelined writer at each savepoint.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { KindInfo } from '../kube/catalog.js';
import type { KindPageSink, KindPagesResult } from '../kube/cluster-reader.js';
import type { ActualObservation } from '../observations.js';
import { createSavepoint, releaseSavepoint, rollbackToSavepoint } from '../store/database.js';
import type { KindWriteResult, KindWriteSession } from './actual-kind-writer.js';
import type { AppliedPlan, ResourceWriter } from './resource-writer.js';
import type { ActualSource } from './sources.js';

/** Objects of one kind held whole before its pages are written as they arrive: five write batches. */
export const DEFAULT_HOLD_OBJECTS = 5000;

export interface StreamedKindContext {
  /** The run's transaction. */
  em: EntityManager;
  /** The run-wide writer (rows of small kinds are batched across kinds in it). */
  writer: ResourceWriter;
  /** Objects held before the kind is written page by page. */
  holdObjects: number;
  /** A savepoint name of this run not in use (an SQL identifier). */
  savepoint: string;
  /** Starts the kind's write session on `writer`. */
  begin: () => Promise<KindWriteSession>;
  /** Runs the database work of a page (the run's phase timer: 'write' time inside the list's). */
  timeWrite: <T>(work: () => Promise<T>) => Promise<T>;
}

/** How a kind listed page by page ended: held whole (`held`, written by the caller as before), or written already. */
export type StreamedKindRead =
  | { list: KindPagesResult; held: ActualObservation[]; written?: undefined }
  /** `written` is set when the list completed; a failed list left nothing behind. */
  | { list: KindPagesResult; held?: undefined; written: KindWriteResult | undefined };

/**
 * One kind listed page by page (see the file's comment), started when it is made — possibly ahead of its turn, so its
 * requests and parsing fill the time the run spends waiting for the database on the kinds before it. Until `finish`
 * it touches no database: its pages are only held, and a list that grows past `holdObjects` waits there (one kind
 * ahead holds at most that, plus a page). `finish` lets it write and ends it (it throws what the list or a statement
 * throws: the run then fails); `cancel` (the run ended first) stops it at its next page.
 */
export class StartedKindList {
  private readonly sink: KindPageWriter;
  private readonly listing: Promise<KindPagesResult>;

  constructor(source: Required<Pick<ActualSource, 'listKindPages'>>, kind: KindInfo, ctx: StreamedKindContext) {
    this.sink = new KindPageWriter(ctx);
    this.listing = source.listKindPages(kind, this.sink);
    this.listing.catch(() => undefined); // a list ended early is awaited by finish, or by nobody (cancelled)
  }

  /** The kind's turn: its pages may be written from now on; the list's outcome once it has ended. */
  async finish(): Promise<StreamedKindRead> {
    const sink = this.sink;
    sink.adopt();
    const list = await this.listing;
    if (!list.complete) {
      const streamed = sink.streaming;
      await sink.ctx.timeWrite(() => sink.abandon());
      return streamed ? { list, written: undefined } : { list, held: [] };
    }
    if (!sink.streaming) return { list, held: sink.held };
    return { list, written: await sink.ctx.timeWrite(() => sink.complete(list)) };
  }

  /** The run ended before this kind's turn: the list ends at its next page, and nothing of it is written. */
  cancel(): void {
    this.sink.cancel();
  }
}

const CANCELLED = "list ended: the run ended before this kind's turn";

class KindPageWriter implements KindPageSink {
  held: ActualObservation[] = [];
  private session: KindWriteSession | undefined;
  /** The writer's totals when the savepoint was taken. */
  private totalsBefore: AppliedPlan | undefined;
  /** Open once the run reached this kind (`adopt`): only then may the list write. Rejected by `cancel`. */
  private readonly turn: Promise<void>;
  private openTurn!: () => void;
  private refuseTurn!: (reason: Error) => void;
  private cancelled = false;

  constructor(readonly ctx: StreamedKindContext) {
    this.turn = new Promise<void>((resolve, reject) => {
      this.openTurn = resolve;
      this.refuseTurn = reject;
    });
    this.turn.catch(() => undefined); // awaited only by a list that outgrew holdObjects before its turn
  }

  get streaming(): boolean {
    return this.session !== undefined;
  }

  adopt(): void {
    this.openTurn();
  }

  cancel(): void {
    this.cancelled = true;
    this.held = [];
    this.refuseTurn(new Error(CANCELLED));
  }

  async page(observations: ActualObservation[]): Promise<void> {
    if (this.cancelled) throw new Error(CANCELLED);
    const session = this.session;
    if (session) return this.ctx.timeWrite(() => session.addPage(observations));
    for (const o of observations) this.held.push(o);
    if (this.held.length > this.ctx.holdObjects) {
      await this.turn; // a list started ahead of its turn waits for it before writing anything
      await this.ctx.timeWrite(() => this.startWriting());
    }
  }

  /** From now on, the kind's pages are written as they arrive: first the ones held, inside the kind's savepoint. */
  private async startWriting(): Promise<void> {
    // The rows of earlier kinds are sent and done first: a rollback to the savepoint must undo this kind's only.
    this.totalsBefore = await this.ctx.writer.sendBuffered();
    await createSavepoint(this.ctx.em, this.ctx.savepoint);
    this.session = await this.ctx.begin();
    const held = this.held;
    this.held = [];
    await this.session.addPage(held);
  }

  restart(): Promise<void> {
    return this.ctx.timeWrite(() => this.abandon());
  }

  /** Drop what this attempt gave: the held objects, or the rows written since the savepoint. */
  async abandon(): Promise<void> {
    this.held = [];
    if (!this.session) return;
    this.session = undefined;
    await this.ctx.writer.discardBuffered(this.totalsBefore!);
    await rollbackToSavepoint(this.ctx.em, this.ctx.savepoint);
    await releaseSavepoint(this.ctx.em, this.ctx.savepoint);
  }

  /** The list is complete: sweep, mark, count — then the kind can no longer be undone, and the savepoint goes. */
  async complete(list: KindPagesResult): Promise<KindWriteResult> {
    const written = await this.session!.finish(list.namespaces, list.errors);
    // Its last statement is awaited so a failure of it is reported as itself, not as the RELEASE's.
    await this.ctx.writer.settle();
    await releaseSavepoint(this.ctx.em, this.ctx.savepoint);
    this.session = undefined;
    return written;
  }
}
