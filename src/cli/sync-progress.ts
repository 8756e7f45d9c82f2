/**
 * Progress of sync runs: a cli-progress bar on a terminal (kinds listed, objects listed and written),
 * plain lines otherwise (one when a run starts; one per kind with --verbose). Everything on stderr, so
 * stdout keeps only the result.
 */
import cliProgress from 'cli-progress';
import { FABRIC_KINDS } from '../kube/catalog.js';
import type { RunType } from '../sync/run-recorder.js';
import type { Output } from './cli-output.js';

const WHAT: Record<RunType, string> = {
  desired: 'desired state from Git',
  actual: 'actual state from the cluster',
  watch: 'watch',
  publish: 'drafts published to Git',
};

export class SyncProgress {
  private bar: cliProgress.SingleBar | null = null;
  private type: RunType | null = null;
  private fabric = '';
  private kind: string | null = null;
  private kindsDone = 0;
  private listed = 0;
  private written = 0;

  constructor(private readonly out: Output) {}

  runStarted(fabric: string, type: RunType): void {
    this.stopBar();
    this.type = type;
    this.fabric = fabric;
    this.kind = null;
    this.kindsDone = 0;
    this.listed = 0;
    this.written = 0;
    if (!this.out.interactive) {
      this.out.info(`${fabric}: reading the ${WHAT[type]} …`);
      return;
    }
    const format =
      type === 'actual'
        ? `  ${type.padEnd(8)} {bar} {value}/{total} kinds | {listed} listed | {written} written | {kind}`
        : `  ${type.padEnd(8)} reading Git … {written} written`;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.out.stderr as NodeJS.WritableStream,
        format,
        hideCursor: true,
        clearOnComplete: true,
        barsize: 24,
        fps: 12,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(FABRIC_KINDS.length, 0, this.payload());
  }

  /** One page of one kind listed (ClusterReader's onPage). Kinds are listed one after the other. */
  page(kind: string, count: number): void {
    if (this.kind !== kind) {
      if (this.kind !== null) this.kindDone();
      this.kind = kind;
    }
    this.listed += count;
    this.bar?.update(this.kindsDone, this.payload());
  }

  /** One ledger object written (the service's `resource` event). */
  objectWritten(): void {
    this.written++;
    // Redrawn at the bar's own frame rate; no work per event beyond the counter.
    this.bar?.update(this.kindsDone, this.payload());
  }

  runEnded(): void {
    if (this.kind !== null) this.kindDone();
    this.stopBar();
    this.type = null;
  }

  /** Stops any bar (an error mid-run, Ctrl-C) so the terminal is left clean. */
  stop(): void {
    this.stopBar();
  }

  private kindDone(): void {
    this.kindsDone++;
    if (!this.out.interactive && this.type)
      this.out.debug(`${this.fabric}: listed ${this.kind}: ${this.listed} objects so far`);
  }

  private payload(): Record<string, unknown> {
    return { kind: this.kind ?? 'discovering kinds', listed: this.listed, written: this.written };
  }

  private stopBar(): void {
    if (!this.bar) return;
    this.bar.update(this.type === 'actual' ? FABRIC_KINDS.length : this.kindsDone, this.payload());
    this.bar.stop();
    this.bar = null;
  }
}
