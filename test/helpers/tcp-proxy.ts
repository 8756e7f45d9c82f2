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
  connections(): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  let available = true;
  const server = net.createServer((client) => {
    if (!available) {
      client.resetAndDestroy();
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
    connections: () => sockets.size / 2,
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
