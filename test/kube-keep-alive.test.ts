/**
 * The reader's requests share keep-alive connections (src/kube/keep-alive.ts) — and a server that closes them, at
 * once or while they idle, or that stops answering on a reused connection, still cannot make a list fail or hang.
 * The server here is a plain Node HTTP server serving one kind's list in pages, so every connection is counted.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { kubeConfigFor } from './helpers/kube-config.js';
import { kindInfo } from '../src/kube/catalog.js';
import { ClusterReader, type ClusterReaderOptions } from '../src/kube/cluster-reader.js';
import { KEEP_ALIVE_IDLE_MS, KeepAliveAgents } from '../src/kube/keep-alive.js';
import { vpcs } from './helpers/kube-objects.js';

const VPC = kindInfo('VPC')!;
const ITEMS = vpcs(50).map((o, i) => ({ ...o, metadata: { ...o.metadata, uid: `u-${i}`, resourceVersion: '7' } }));
// A generous request timeout: a slow answer on a loaded machine must not open a second connection.
const FAST: ClusterReaderOptions = {
  baseDelayMs: 1,
  maxDelayMs: 5,
  maxRetries: 2,
  requestTimeoutMs: 5_000,
  pageSize: 10,
};

type Behaviour = 'keep-alive' | 'connection-close' | 'close-when-idle' | 'silent-on-reuse';

interface ListServer {
  url: string;
  /** Connections accepted, and list requests answered. */
  connections(): number;
  /** Connections open now. */
  open(): number;
  answered(): number;
  close(): Promise<void>;
}

/** One page of the VPC list: `continue` is the index of the next item. */
function page(url: URL): string {
  const limit = Number(url.searchParams.get('limit') ?? ITEMS.length);
  const from = Number(url.searchParams.get('continue') ?? 0);
  const next = from + limit < ITEMS.length ? String(from + limit) : undefined;
  return JSON.stringify({
    kind: 'VPCList',
    apiVersion: VPC.apiVersion,
    metadata: { resourceVersion: '7', ...(next ? { continue: next } : {}) },
    items: ITEMS.slice(from, from + limit),
  });
}

async function listServer(behaviour: Behaviour): Promise<ListServer> {
  const sockets = new Set<net.Socket>();
  const served = new WeakMap<net.Socket, number>();
  let connections = 0;
  let answered = 0;
  const server = http.createServer((req, res) => {
    const socket = req.socket;
    const n = (served.get(socket) ?? 0) + 1;
    served.set(socket, n);
    if (behaviour === 'silent-on-reuse' && n > 1) return; // accepted, never answered
    answered++;
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(behaviour === 'connection-close' ? { connection: 'close' } : {}),
    });
    res.end(page(new URL(req.url ?? '/', 'http://x')));
  });
  // A server that drops idle connections at once: the client may meet one it believes still open.
  if (behaviour === 'close-when-idle') server.keepAliveTimeout = 1;
  server.on('connection', (s: net.Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    open: () => sockets.size,
    answered: () => answered,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let server: ListServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('keep-alive connections of the cluster reader', () => {
  test('the pages of a list (and the next lists) share one connection', async () => {
    server = await listServer('keep-alive');
    const reader = new ClusterReader(kubeConfigFor(server.url), FAST);
    const first = await reader.listKind(VPC);
    const second = await reader.listKind(VPC);
    expect(first.complete && second.complete).toBe(true);
    expect(first.observations).toHaveLength(50);
    expect(first.pages + second.pages).toBe(10);
    expect(server.answered()).toBe(10);
    expect(server.connections()).toBe(1); // one connection per request before: 10
  });

  test('an idle connection is closed by the client after KEEP_ALIVE_IDLE_MS: a reader left alone holds none', async () => {
    server = await listServer('keep-alive');
    expect((await new ClusterReader(kubeConfigFor(server.url), FAST).listKind(VPC)).complete).toBe(true);
    expect(server.open()).toBe(1);
    const deadline = Date.now() + KEEP_ALIVE_IDLE_MS + 2_000;
    while (server.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(server.open()).toBe(0);
  });

  test.each([
    ['answers every request with Connection: close', 'connection-close' as const],
    ['drops every connection as soon as it idles', 'close-when-idle' as const],
  ])('a server that %s: the list completes, one connection per request', async (_label, behaviour) => {
    server = await listServer(behaviour);
    const list = await new ClusterReader(kubeConfigFor(server.url), FAST).listKind(VPC);
    expect(list.complete).toBe(true);
    expect(list.observations).toHaveLength(50);
    expect(list.pages).toBe(5);
    expect(server.connections()).toBeGreaterThanOrEqual(5);
  });

  test('a reused connection the server stops answering on times out, and the retry on a new connection completes the list', async () => {
    server = await listServer('silent-on-reuse');
    const started = Date.now();
    const list = await new ClusterReader(kubeConfigFor(server.url), { ...FAST, requestTimeoutMs: 500 }).listKind(VPC);
    expect(list.complete).toBe(true);
    expect(list.observations).toHaveLength(50);
    // Pages 2–5 each waited on the silent reused connection, then were answered on a new one: every connection
    // answered exactly one request (a slow first answer on a loaded machine may add a connection, never a hang).
    expect(server.answered()).toBeGreaterThanOrEqual(5);
    expect(server.connections()).toBe(server.answered());
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('KeepAliveAgents', () => {
  test('one keep-alive agent per distinct set of connection options; proxy agents are left alone', () => {
    const agents = new KeepAliveAgents();
    const plain = agents.agentFor(new http.Agent({})) as http.Agent;
    expect(plain).toBeInstanceOf(http.Agent);
    expect((plain as unknown as { keepAlive: boolean }).keepAlive).toBe(true);
    expect(agents.agentFor(new http.Agent({}))).toBe(plain);

    const tls = agents.agentFor(new https.Agent({ ca: 'CA-1', rejectUnauthorized: true }));
    expect(tls).toBeInstanceOf(https.Agent);
    expect(tls).not.toBe(plain);
    expect(agents.agentFor(new https.Agent({ ca: Buffer.from('CA-1'), rejectUnauthorized: true }))).toBe(tls);
    expect(agents.agentFor(new https.Agent({ ca: 'CA-2', rejectUnauthorized: true }))).not.toBe(tls);
    expect(agents.agentFor(new https.Agent({ ca: 'CA-1', rejectUnauthorized: false }))).not.toBe(tls);
    expect(agents.agentFor(new https.Agent({ ca: 'CA-1', rejectUnauthorized: true, servername: 'api' }))).not.toBe(tls);

    class ProxyAgent extends https.Agent {}
    const proxy = new ProxyAgent({});
    expect(agents.agentFor(proxy)).toBe(proxy);
    expect(agents.agentFor(undefined)).toBeUndefined();
  });
});
