/**
 * One open watch: a chunked `application/json` response carrying one `{"type":…,"object":…}` line per event,
 * as the API server writes it. Events are filtered the way the watch cache filters them: a MODIFIED object
 * that starts matching the selectors arrives as ADDED, one that stops matching as DELETED.
 */
import type { ServerResponse } from 'node:http';
import type { KindInfo } from '../../kube/catalog.js';
import type { Selector } from './selectors.js';
import { restamp, type Entry, type StoreEvent } from './store.js';
import type { KubeStatus } from './status.js';

export interface WatchSettings {
  info: KindInfo;
  /** Only objects of this namespace (namespaced watch). */
  namespace?: string;
  select: Selector;
  /** allowWatchBookmarks=true */
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  /** timeoutSeconds, in ms. */
  timeoutMs?: number;
  /** Drop fault: destroy the socket after this many events. */
  dropAfter?: number;
  /** Malformed fault: a garbage line first. */
  malformed: boolean;
  /** The current global resourceVersion (for bookmarks). */
  currentRv: () => number;
  /** Sets the request log's status when the headers go out. */
  onHead: (status: number) => void;
}

export class WatchStream {
  private sent = 0;
  private finished = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private onClosed: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly s: WatchSettings,
  ) {
    res.on('close', () => this.cleanup());
  }

  get closed(): boolean {
    return this.finished;
  }

  /** Called once when the stream ends, whichever way. */
  whenClosed(fn: () => void): void {
    this.onClosed = fn;
  }

  /** Writes the headers (and the malformed line) and arms the timeout and bookmark timers. */
  start(): void {
    this.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    this.s.onHead(200);
    this.res.flushHeaders();
    if (this.s.malformed) this.res.write('{"type":"ADDED","object":{this is not json\n');
    if (this.s.dropAfter === 0) {
      this.drop();
      return;
    }
    if (this.s.bookmarks && this.s.bookmarkIntervalMs > 0) {
      this.timers.push(setInterval(() => this.bookmark(), this.s.bookmarkIntervalMs));
    }
    if (this.s.timeoutMs !== undefined) {
      this.timers.push(
        setTimeout(() => {
          // The real server sends a last bookmark before a watch times out, so the client resumes cheaply.
          if (this.s.bookmarks) this.bookmark();
          this.end();
        }, this.s.timeoutMs),
      );
    }
  }

  /** A synthetic ADDED event for the initial state. */
  added(e: Entry): void {
    if (this.inScope(e) && this.s.select(e)) this.write('ADDED', e.json);
  }

  /** A store change, filtered and translated for this watcher's selectors. */
  deliver(ev: StoreEvent): void {
    if (this.finished || ev.entry.info.kind !== this.s.info.kind || !this.inScope(ev.entry)) return;
    const cur = this.s.select(ev.entry);
    if (ev.type === 'ADDED') {
      if (cur) this.write('ADDED', ev.entry.json);
    } else if (ev.type === 'DELETED') {
      if (cur) this.write('DELETED', ev.entry.json);
    } else {
      const old = ev.prev ? this.s.select(ev.prev) : false;
      if (cur && old) this.write('MODIFIED', ev.entry.json);
      else if (cur) this.write('ADDED', ev.entry.json);
      else if (old) this.write('DELETED', restamp(ev.prev!, ev.rv).json);
    }
  }

  bookmark(annotations?: Record<string, string>): void {
    const object = {
      kind: this.s.info.kind,
      apiVersion: this.s.info.apiVersion,
      metadata: {
        resourceVersion: String(this.s.currentRv()),
        creationTimestamp: null,
        ...(annotations ? { annotations } : {}),
      },
    };
    this.write('BOOKMARK', JSON.stringify(object));
  }

  /** An in-stream ERROR event (e.g. 410 for a too old resourceVersion), then the end of the stream. */
  error(status: KubeStatus): void {
    this.write('ERROR', JSON.stringify(status));
    this.end();
  }

  /** Ends the stream cleanly: the client sees the body end. */
  end(): void {
    if (this.finished) return;
    this.cleanup();
    this.res.end();
  }

  /** Tears the connection down (server stop). */
  destroy(): void {
    this.cleanup();
    this.res.destroy();
  }

  private inScope(e: Entry): boolean {
    return this.s.namespace === undefined || e.namespace === this.s.namespace;
  }

  private write(type: string, objectJson: string): void {
    if (this.finished) return;
    this.res.write(`{"type":"${type}","object":${objectJson}}\n`);
    this.sent++;
    if (this.s.dropAfter !== undefined && this.sent >= this.s.dropAfter) this.drop();
  }

  /** Destroys the socket once what was written has been flushed: the client sees the stream break, not end. */
  private drop(): void {
    this.cleanup();
    const socket = this.res.socket;
    this.res.write('', () => setImmediate(() => socket?.destroy()));
  }

  private cleanup(): void {
    if (this.finished) return;
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    this.onClosed?.();
  }
}
