/**
 * One client's exchange with the embedded database is never cut into by another's.
 *
 * pglite-socket (0.2.x) shares PGlite's one backend between its clients message by message. It keeps one client's
 * messages together only while PGlite reports a transaction open; outside one, another client's message can come
 * between a client's Parse, Bind, Execute and Sync. The client then binds the other's unnamed statement, reads an
 * answer meant for the other, or finds its statement gone ("unnamed prepared statement does not exist"), and the
 * other waits for an answer that never comes (test/embedded-concurrent-clients.test.ts reproduces all three with two
 * clients of this project's own kind: one in transactions, one not).
 *
 * The server is given this view of the database instead: it also reports a transaction open while the client it
 * served last is in the middle of an exchange — the backend has not yet answered it with ReadyForQuery, the end of
 * every simple query and of every extended-query sequence (at its Sync). The server's queue then serves that client
 * alone until it is done, exactly as it already does for a transaction; a client that leaves half-way is let go as
 * one that leaves in a transaction is (the server's clearTransactionIfNeeded).
 */
import type { PGlite } from '@electric-sql/pglite';

/** The backend's ReadyForQuery message type: 'Z'. */
const READY_FOR_QUERY = 0x5a;
/** The frontend's Terminate message type: 'X' (the client leaves; nothing is answered). */
const TERMINATE = 0x58;

/**
 * Follows the backend's message framing (a type byte, a 4-byte length counting itself, the body) across the chunks
 * of one answer, to know which message came last — never guessed from the last bytes, which a row could hold.
 */
export class ResponseFraming {
  private readonly header = new Uint8Array(5);
  private headerBytes = 0;
  private bodyLeft = 0;
  private lastType = -1;

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= n;
        i += n;
        continue;
      }
      this.header[this.headerBytes++] = chunk[i++]!;
      if (this.headerBytes === 5) {
        this.lastType = this.header[0]!;
        this.bodyLeft = new DataView(this.header.buffer).getInt32(1) - 4;
        this.headerBytes = 0;
      }
    }
  }

  /** True when the answer so far ends with a whole ReadyForQuery: the client's exchange is over. */
  get readyForQuery(): boolean {
    return this.lastType === READY_FOR_QUERY && this.bodyLeft === 0 && this.headerBytes === 0;
  }
}

type RawStreamOptions = NonNullable<Parameters<PGlite['execProtocolRawStream']>[1]>;

/** The view of `db` to give pglite-socket's server (see above); every other member is the database's own. */
export function withWholeExchanges(db: PGlite): PGlite {
  let midExchange = false;
  const execProtocolRawStream = async (message: Uint8Array, options: RawStreamOptions) => {
    const framing = new ResponseFraming();
    await db.execProtocolRawStream(message, {
      ...options,
      onRawData: (data: Uint8Array) => {
        framing.feed(data);
        options.onRawData(data);
      },
    });
    midExchange = message[0] !== TERMINATE && !framing.readyForQuery;
  };
  const isInTransaction = () => midExchange || db.isInTransaction();
  return new Proxy(db, {
    get(target, property) {
      if (property === 'execProtocolRawStream') return execProtocolRawStream;
      if (property === 'isInTransaction') return isInTransaction;
      const value: unknown = Reflect.get(target, property, target);
      // Methods run on the database itself: PGlite's private fields are not reachable through a proxy.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
