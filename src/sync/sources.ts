/**
 * What FabricSyncService reads its runs from, behind two small interfaces (as gitops-engine's consumers depend on
 * its ClusterCache): the cluster (ActualSource; default ClusterReader) and the Git source (DesiredSource; default
 * readDesiredState). A host or a test can give its own — an in-memory source needs no API server and no Git.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { HedgehogFabric } from '../entities/index.js';
import type { KindInfo } from '../kube/catalog.js';
import {
  ClusterReader,
  type ClusterReaderOptions,
  type DiscoveryResult,
  type KindListResult,
  type KindMetadataListResult,
  type KindPageSink,
  type KindPagesResult,
  type ObjectReadResult,
} from '../kube/cluster-reader.js';
import {
  readDesiredState,
  type DesiredReadOptions,
  type DesiredReadResult,
  type GitSource,
} from '../gitops/desired-state-reader.js';
import { gitDirOfSource } from '../gitops/git-source.js';
import { lastCommitsOf, type CommitInfo } from '../writeback/git-publisher.js';

/** What an actual run reads from a fabric's cluster. */
export interface ActualSource {
  /** Which of `kinds` the cluster serves (and which it skipped or failed to say). */
  discover(kinds: readonly KindInfo[]): Promise<DiscoveryResult>;
  /** One kind's complete list, or why it is not complete. */
  listKind(kind: KindInfo): Promise<KindListResult>;
  /**
   * Optional: the same list handed to `sink` page by page as it arrives (a restart voids the pages given), so a
   * large kind need not be held whole; a source without it is read with listKind.
   */
  listKindPages?(kind: KindInfo, sink: KindPageSink): Promise<KindPagesResult>;
  /**
   * Optional, with getObject: one kind's complete list as uid + resourceVersion per object (full objects where the
   * server answered in full). A re-sync then reads in full only what changed (src/sync/kind-read.ts); a source
   * without the pair is always read with listKind.
   */
  listKindMetadata?(kind: KindInfo): Promise<KindMetadataListResult>;
  /** Optional, with listKindMetadata: one object's current version, `gone` when deleted, or why it is refused. */
  getObject?(kind: KindInfo, namespace: string, name: string): Promise<ObjectReadResult>;
  /** The cluster's fabric CRDs (for schema defaults and validation). */
  readCrds(): Promise<object[]>;
}

/** How a run gets the ActualSource of a fabric. `kubeConfig` is built only when called (an in-memory source needs none). */
export type ActualSourceFactory = (
  fabric: HedgehogFabric,
  context: {
    kubeConfig: () => KubeConfig;
    signal?: AbortSignal;
    reader: Omit<ClusterReaderOptions, 'namespaces' | 'signal'>;
  },
) => ActualSource;

/** Who last changed a file, and when (for an external modification's record). */
export interface FileCommit {
  commit: string | null;
  author: string | null;
  date: string | null;
}

/** What a desired run reads from a fabric's Git source. */
export interface DesiredSource {
  read(source: GitSource, options: DesiredReadOptions): Promise<DesiredReadResult>;
  /**
   * The newest commit at or before `commit` that changed each of `paths` (asked only for files whose content changed
   * since the ledger last read them). Optional: without it, the commit read stands for each file.
   */
  fileCommits?(source: GitSource, commit: string, paths: readonly string[]): Promise<Map<string, FileCommit>>;
}

/** The default ActualSource: the cluster's API server, listing only the fabric's namespaces (all when none). */
export const clusterActualSource: ActualSourceFactory = (fabric, { kubeConfig, signal, reader }) =>
  new ClusterReader(kubeConfig(), { ...reader, namespaces: fabric.namespaces, signal });

/** The default DesiredSource: the Git repository (or directory), read by readDesiredState. */
export const gitDesiredSource: DesiredSource = {
  read: readDesiredState,
  async fileCommits(source, commit, paths) {
    const gitDir = await gitDirOfSource(source);
    // Who changed a file is a detail of the record: when Git cannot say, the commit read stands for it.
    const last = gitDir ? await lastCommitsOf(gitDir, commit, paths).catch(() => new Map<string, CommitInfo>()) : null;
    return new Map(
      paths.map((p) => {
        const c = last?.get(p);
        return [p, { commit: c?.commit ?? commit, author: c?.author ?? null, date: c?.date ?? null }];
      }),
    );
  },
};
