/**
 * A loopback TCP proxy in front of the test database that can play a database outage: down() cuts every open
 * connection and refuses new ones (accepted, then reset at once, as a restarting server's port does) until up().
 */
import net from 'node:net';

export interface OutageProxy {
  url: string;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startOutageProxy(targetUrl: string): Promise<OutageProxy> {
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
  return {
    url: url.toString(),
    down() {
      available = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    up() {
      available = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
