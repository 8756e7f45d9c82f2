/**
 * The benchmark's Kubernetes API: the project's FakeKubeApi serving a sample fabric of N objects
 * (with server defaults, as a cluster reports them), in a process of its own. A real API server is
 * another machine; here it is at least another process, so its memory is not counted in the
 * synchronizer's peak RSS and its JSON encoding runs beside (not inside) the sync's event loop.
 *
 * It also serves the fabric's CRDs at /apis/apiextensions.k8s.io/v1/customresourcedefinitions, as a cluster does,
 * so a sync run reads them as it would there: the real Hedgehog CRDs from `../shared/hedgehog-crds` beside the
 * checkout when present, else the compact ones of test/fixtures/crds.
 *
 * `startFakeCluster()` forks this file; run as a child it builds the fabric, listens on loopback
 * and reports its URL over IPC, then serves until its parent disconnects.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { FakeKubeApi, generateSampleFabric, withServerDefaults } from '../src/testing/index.js';

export interface FakeCluster {
  url: string;
  objects: number;
  kubeConfig(): KubeConfig;
  stop(): Promise<void>;
}

type Ready = { url: string; objects: number } | { error: string };

/** A KubeConfig for a plain-http loopback server, as FakeKubeApi.kubeConfig() builds it. */
export function kubeConfigForUrl(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'bench', server: url, skipTLSVerify: true }],
    users: [{ name: 'bench' }],
    contexts: [{ name: 'bench', cluster: 'bench', user: 'bench' }],
    currentContext: 'bench',
  });
  return kc;
}

export async function startFakeCluster(opts: { objects: number; seed: number }): Promise<FakeCluster> {
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    ['--serve', String(opts.objects), String(opts.seed)],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`fake cluster exited early (code ${code})`)));
  });
  if ('error' in ready) throw new Error(`fake cluster: ${ready.error}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: ready.url,
    objects: ready.objects,
    kubeConfig: () => kubeConfigForUrl(ready.url),
    async stop() {
      if (child.connected) child.disconnect();
      await exited;
    },
  };
}

/** The checkout's root: this file runs from dist/bench/ (or bench/ under a TypeScript loader). */
function checkoutRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** The CRD objects the fake cluster serves (each with a resourceVersion, as a server sets one). */
export function benchCrds(root = checkoutRoot()): object[] {
  const real = path.resolve(root, '..', 'shared', 'hedgehog-crds');
  const dir = existsSync(real) ? real : path.join(root, 'test', 'fixtures', 'crds');
  const crds: object[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      const o = doc.toJS() as { kind?: unknown; metadata?: Record<string, unknown> } | null;
      if (o?.kind !== 'CustomResourceDefinition') continue;
      o.metadata = { resourceVersion: String(crds.length + 1), ...o.metadata };
      crds.push(o);
    }
  }
  return crds;
}

async function serve(objects: number, seed: number): Promise<void> {
  const api = new FakeKubeApi({ crds: benchCrds() });
  try {
    api.load(generateSampleFabric({ targetObjects: objects, seed }).map((o) => withServerDefaults(o, seed)));
    const url = await api.start();
    process.send!({ url, objects } satisfies Ready);
  } catch (err) {
    process.send!({ error: (err as Error).stack ?? String(err) } satisfies Ready);
    process.exitCode = 1;
    return;
  }
  // The parent's disconnect (or death) ends the server.
  process.once('disconnect', () => void api.stop());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--serve') {
  await serve(Number(process.argv[3]), Number(process.argv[4]));
}
