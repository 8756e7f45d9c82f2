/**
 * A loopback TCP proxy in front of a database, so a test can cut the ledger's connections mid-transaction
 * (`cutAll`) or play a whole outage (`down` … `up`: open connections cut, new ones reset at once, as a
 * restarting server's port does) — the same way for the real server and for PGlite.
 */
import net from 'node:net';

export interface TcpProxy {
  /** The target URL with host and port replaced by the proxy's. */
  url: string;
  /** Destroy every open connection (both directions), as a crashed server or a cut network would. */
  cutAll(): void;
  /** Cut every connection and refuse new ones until `up()`. */
  down(): void;
  up(): void;
  /**
   * Stop forwarding, both ways, on every open connection and accept new ones without ever connecting them (a
   * proxy or network that goes silent): nothing answers; only a side that closes its connection closes the other.
   */
  freeze(): void;
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let available = true;
  let frozen = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    if (!available) {
      client.resetAndDestroy();
      return;
    }
    if (frozen) {
      sockets.add(client);
      client.on('error', () => undefined);
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    pairs.add([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  return {
    url: url.toString(),
    cutAll,
    down() {
      available = false;
      cutAll();
    },
    up() {
      available = true;
    },
    freeze() {
      frozen = true;
      for (const [client, upstream] of pairs) {
        // Data is dropped, not held; a side that closes is still noticed (and closes the other), as a load balancer does.
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.on('data', () => undefined).resume();
        upstream.on('data', () => undefined).resume();
      }
    },
    connections: () => sockets.size / 2,
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
