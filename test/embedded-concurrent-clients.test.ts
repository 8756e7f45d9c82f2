/**
 * Several clients on the embedded database at once (the watch holding it and CLI commands joining through its port,
 * or two ledgers in one process): each client's query or extended-query sequence is answered whole, never
 * interleaved with another's (src/db/pglite-exchanges.ts). Without that, pglite-socket let one client's Parse come
 * between another's Parse and Bind: wrong answers, "unnamed prepared statement does not exist", and a client left
 * waiting for ever.
 */
import { connect } from 'node:net';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { ResponseFraming } from '../src/db/pglite-exchanges.js';

let server: EmbeddedPostgres;
beforeAll(async () => {
  server = await startEmbeddedPostgres({ dataDir: 'memory' });
}, 60_000);
afterAll(async () => server.stop());

async function client(): Promise<pg.Client> {
  // Bounded, so a client left waiting fails the test instead of hanging it.
  const c = new pg.Client({ connectionString: server.url, query_timeout: 10_000 });
  await c.connect();
  return c;
}

test('clients in and out of transactions at once: every answer is its own, none fails, none waits for ever', async () => {
  const clients = await Promise.all(Array.from({ length: 6 }, client));
  const outcomes = { right: 0, wrong: 0, failed: [] as string[] };
  try {
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = 0; i < 60; i++) {
          const expected = k * 1000 + i;
          try {
            if (k % 2 === 0) await c.query('BEGIN');
            // Two statement texts, so a statement bound by the wrong client would be noticed too.
            const sql = k % 3 === 0 ? 'SELECT $1::int AS v' : 'SELECT ($1::text)::int + 0 AS v';
            const { rows } = await c.query<{ v: number }>(sql, [String(expected)]);
            if (k % 2 === 0) await c.query('COMMIT');
            if (rows[0]?.v === expected) outcomes.right++;
            else outcomes.wrong++;
          } catch (err) {
            outcomes.failed.push((err as Error).message);
            await c.query('ROLLBACK').catch(() => undefined);
          }
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  expect(outcomes).toEqual({ right: 360, wrong: 0, failed: [] });
}, 60_000);

/** A frontend message: type byte, length (counting itself), body. */
function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** Connects raw, starts up, sends `messages` of an extended-query sequence — no Sync — and leaves. */
async function leaveMidExchange(url: string, messages: Buffer[]): Promise<void> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0', 'latin1');
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4); // protocol 3.0
  const ready = new Promise<void>((resolve) => {
    let seen = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      if (seen.includes(Buffer.from([0x5a, 0, 0, 0, 5]))) resolve();
    });
  });
  socket.write(Buffer.concat([startup, params]));
  await ready;
  socket.write(Buffer.concat(messages));
  await new Promise((resolve) => setTimeout(resolve, 100)); // served before the socket goes
  socket.destroy();
}

const parse = (sql: string) => message('P', Buffer.from(`\0${sql}\0\0\0`, 'latin1')); // unnamed, no types
const bind = message('B', Buffer.alloc(8)); // unnamed portal and statement, no formats, values or result formats

test.each([
  ['Parse and Bind', [parse('SELECT 42'), bind]],
  ['a Parse the server refuses', [parse('SELEC 42')]],
])(
  'a client that leaves after %s, without Sync, holds no one back and skews no answer',
  async (_what, messages) => {
    await leaveMidExchange(server.url, messages);
    const c = await client();
    try {
      expect((await c.query<{ v: number }>('SELECT $1::int AS v', ['7'])).rows).toEqual([{ v: 7 }]);
    } finally {
      await c.end();
    }
  },
  30_000,
);

describe('ResponseFraming', () => {
  const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // ReadyForQuery, idle
  const parseComplete = Buffer.from([0x31, 0, 0, 0, 4]);
  // A DataRow whose column value ends with the very bytes of a ReadyForQuery.
  const value = Buffer.from([1, 2, 0x5a, 0, 0, 0, 5, 0x49]);
  const dataRow = Buffer.concat([Buffer.from([0x44, 0, 0, 0, 4 + 2 + 4 + value.length, 0, 1]), Buffer.alloc(4), value]);
  dataRow.writeInt32BE(value.length, 7);

  test.each([
    ['ParseComplete', false, [parseComplete]],
    ['ParseComplete, ReadyForQuery', true, [parseComplete, ready]],
    ['a DataRow ending in the bytes of a ReadyForQuery', false, [dataRow]],
    ['that DataRow, then ReadyForQuery', true, [dataRow, ready]],
    ['nothing', false, []],
  ])('%s → ready: %s, whatever the chunks', (_name, expected, messages) => {
    const whole = Buffer.concat(messages);
    for (let cut = 0; cut <= whole.length; cut++) {
      const framing = new ResponseFraming();
      framing.feed(whole.subarray(0, cut));
      framing.feed(whole.subarray(cut));
      expect(framing.readyForQuery).toBe(expected);
    }
    const byteByByte = new ResponseFraming();
    for (const b of whole) byteByByte.feed(Uint8Array.of(b));
    expect(byteByByte.readyForQuery).toBe(expected);
  });
});
