/**
 * The write-back benchmark: 1,000 drafted VPC changes published to Git as one commit, against the plain way of
 * making the same commit by hand (the floor), measured in the same run.
 *
 * Repository: `objects` VPCs in `files` files (50 documents each by default), each document with a comment line
 * inside its spec, so the publisher must edit in place; a bare remote; a fabric; a first desired sync.
 * Each repetition: `drafts.apply` of every VPC with a new vlan as one multi-document YAML text ("draft"), then
 * `publish` ("publish"). The floor, interleaved with it so a change of the machine's load hits both sides: a
 * fresh `git clone` of a second bare remote holding the same files, the same vlan edits by string replacement,
 * `git commit -a`, `git push`. Both commits are checked (one new commit, every file as expected byte-for-byte,
 * exactly one line changed per object): a wrong result fails the benchmark. One warm-up round of each is run
 * first and not counted (the publisher's first call clones the remote once; later calls fetch).
 *
 * Runs in a child process of its own (bench/run.ts), so its peak RSS is its own.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ledgerOnOrm, type Ledger } from '../src/ledger.js';
import { createGitRepo, git } from '../src/testing/git-repo.js';
import { openBenchDatabase } from './bench-database.js';
import { median, peakRssMb, round1, RssSampler, rssMb, timed } from './stats.js';

export interface PublishBenchOptions {
  /** null = embedded PGlite. */
  databaseUrl: string | null;
  repeat: number;
  objects: number;
  files: number;
}

/** Median and range of one measurement's runs, in ms. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** The size of one commit as Git sees it. */
export interface CommitSize {
  filesChanged: number;
  insertions: number;
  deletions: number;
  /** Objects the commit added to the repository (commit, trees, blobs), and their uncompressed bytes. */
  newObjects: number;
  newObjectBytes: number;
  /** The commit object alone (its message lists every published object). */
  commitObjectBytes: number;
}

export interface PublishBenchResult {
  objects: number;
  files: number;
  repeat: number;
  database: string;
  draft: Spread;
  publish: Spread;
  floor: Spread;
  /** publish / floor of each repetition (the two are interleaved). */
  ratioRuns: number[];
  /** Median of each phase the publish run times itself (details.timingsMs), ms. */
  phases: Record<string, number>;
  publishCommit: CommitSize;
  floorCommit: CommitSize;
  rss: { beforeMb: number; peakMb: number; processPeakMb: number };
}

const API = 'vpc.githedgehog.com/v1beta1';
const AUTHOR = 'Bench <b@example.invalid>';
const GIT_PATH = 'fabric';

const vpcName = (i: number) => `vpc-${String(i).padStart(4, '0')}`;
const subnet = (i: number) => `10.${1 + (i >> 8)}.${i & 255}.0/24`;
const fileOf = (f: number) => `${GIT_PATH}/vpcs-${String(f).padStart(2, '0')}.yaml`;

/** The vlan of VPC `i` after `round` (0 = as first committed): unique per round and changed by every round. */
export function vlanOf(i: number, round: number, objects: number): number {
  return round === 0 ? 1000 + i : 2000 + ((i + 7 * round) % objects);
}

function vpcDocument(i: number, vlan: number, comment: boolean): string {
  const note = comment ? `  # tenant ${i}: subnet agreed with the network team, do not renumber\n` : '';
  return (
    `apiVersion: ${API}\nkind: VPC\nmetadata:\n  name: ${vpcName(i)}\nspec:\n${note}` +
    `  ipv4Namespace: default\n  vlanNamespace: default\n  subnets:\n    default:\n` +
    `      subnet: ${subnet(i)}\n      vlan: ${vlan}\n`
  );
}

/** The repository's files as first committed: `objects` VPCs spread evenly over `files` files. */
export function manifestFiles(objects: number, files: number): Record<string, string> {
  const perFile = Math.ceil(objects / files);
  const out: Record<string, string> = {};
  for (let f = 0; f < files; f++) {
    const docs: string[] = [];
    for (let i = f * perFile; i < Math.min(objects, (f + 1) * perFile); i++)
      docs.push(vpcDocument(i, vlanOf(i, 0, objects), true));
    out[fileOf(f)] = docs.join('---\n');
  }
  return out;
}

/** The plain way's edit: every `vlan: <old>` line of a file replaced by the next round's value. */
export function replaceVlans(text: string, round: number, objects: number): string {
  const indexOfVlan = new Map<number, number>();
  for (let i = 0; i < objects; i++) indexOfVlan.set(vlanOf(i, round - 1, objects), i);
  return text.replace(/^( +vlan: )(\d+)$/gm, (line, prefix: string, old: string) => {
    const i = indexOfVlan.get(Number(old));
    if (i === undefined) throw new Error(`floor edit: vlan ${old} is not one of round ${round - 1}'s`);
    return `${prefix}${vlanOf(i, round, objects)}`;
  });
}

function draftText(round: number, objects: number): string {
  const docs: string[] = [];
  for (let i = 0; i < objects; i++) docs.push(vpcDocument(i, vlanOf(i, round, objects), false));
  return docs.join('---\n');
}

function spread(runs: number[]): Spread {
  const r = runs.map(round1);
  return { median: round1(median(r)), min: Math.min(...r), max: Math.max(...r), runs: r };
}

function medianPhases(runs: readonly Partial<Record<string, number>>[]): Record<string, number> {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, round1(median(runs.map((r) => r[k] ?? 0)))]));
}

/** Exactly one new commit on `main`, every file byte-for-byte as `expected`, one line in and out per object. */
async function checkCommit(
  remote: string,
  before: string,
  expected: Record<string, string>,
  objects: number,
  what: string,
): Promise<CommitSize> {
  const after = await git(remote, 'rev-parse', 'main');
  const count = await git(remote, 'rev-list', '--count', `${before}..${after}`);
  if (count !== '1') throw new Error(`${what}: ${count} new commits on the remote, expected 1`);
  for (const [file, text] of Object.entries(expected)) {
    const got = (await git(remote, 'show', `${after}:${file}`)) + '\n';
    if (got !== text) throw new Error(`${what}: ${file} at ${after.slice(0, 12)} is not the expected edit`);
  }
  const stat = await git(remote, 'show', '--shortstat', '--format=', after);
  const num = (re: RegExp) => Number(re.exec(stat)?.[1] ?? 0);
  const size: Omit<CommitSize, 'newObjects' | 'newObjectBytes' | 'commitObjectBytes'> = {
    filesChanged: num(/(\d+) files? changed/),
    insertions: num(/(\d+) insertions?/),
    deletions: num(/(\d+) deletions?/),
  };
  const files = Object.keys(expected).length;
  if (size.filesChanged !== files || size.insertions !== objects || size.deletions !== objects)
    throw new Error(`${what}: commit changed ${stat.trim()}; expected ${files} files, ${objects} lines in and out`);
  const shas = (await git(remote, 'rev-list', '--objects', `${before}..${after}`))
    .split('\n')
    .map((l) => l.split(' ')[0]!);
  let bytes = 0;
  for (const sha of shas) bytes += Number(await git(remote, 'cat-file', '-s', sha));
  return {
    ...size,
    newObjects: shas.length,
    newObjectBytes: bytes,
    commitObjectBytes: Number(await git(remote, 'cat-file', '-s', after)),
  };
}

/** The floor: a fresh clone, the files rewritten by string replacement, `git commit -a`, `git push`. */
async function plainCommit(remote: string, work: string, files: readonly string[], round: number, objects: number) {
  await git(path.dirname(work), 'clone', '-q', remote, work);
  for (const file of files) {
    const abs = path.join(work, file);
    await writeFile(abs, replaceVlans(await readFile(abs, 'utf8'), round, objects));
  }
  await git(work, 'commit', '-q', '-a', '-m', `Renumber ${objects} VPC vlans (round ${round})`);
  await git(work, 'push', '-q', 'origin', 'HEAD:main');
}

async function setUp(ledger: Ledger, dir: string, opts: PublishBenchOptions) {
  const initial = manifestFiles(opts.objects, opts.files);
  const seed = path.join(dir, 'seed');
  await createGitRepo(seed, initial);
  const remote = path.join(dir, 'remote.git');
  const floorRemote = path.join(dir, 'floor.git');
  await git(dir, 'clone', '-q', '--bare', seed, remote);
  await git(dir, 'clone', '-q', '--bare', seed, floorRemote);
  await ledger.fabrics.create('bench', { gitRepository: remote, gitRef: 'main', gitPath: GIT_PATH });
  const first = await ledger.sync.syncDesiredState('bench');
  if (first.status !== 'completed' || first.counts.created !== opts.objects)
    throw new Error(`first desired sync: ${first.status}, ${first.counts.created} of ${opts.objects} objects created`);
  return { initial, remote, floorRemote };
}

interface Round {
  draftMs: number;
  publishMs: number;
  floorMs: number;
  phases: Partial<Record<string, number>>;
  publishCommit: CommitSize;
  floorCommit: CommitSize;
}

interface Bench {
  ledger: Ledger;
  dir: string;
  remote: string;
  floorRemote: string;
  opts: PublishBenchOptions;
  sampler: RssSampler;
}

/** One repetition: draft and publish, then the floor; both commits checked against `expected` (this round's files). */
async function oneRound(b: Bench, round: number, expected: Record<string, string>): Promise<Round> {
  const { ledger, remote, floorRemote, opts, sampler } = b;
  const before = await git(remote, 'rev-parse', 'main');
  const text = draftText(round, opts.objects);
  const draft = await sampler.during(() =>
    timed(() => ledger.drafts.apply('bench', text, { actor: 'bench', source: `round-${round}.yaml` })),
  );
  if (draft.value.refused.length || draft.value.results.length !== opts.objects)
    throw new Error(`round ${round}: ${draft.value.refused.length} refused, ${draft.value.results.length} drafted`);
  const published = await sampler.during(() =>
    timed(() => ledger.publish('bench', { message: `Renumber VPC vlans (round ${round})`, author: AUTHOR })),
  );
  const report = published.value;
  const updated = report.published.filter((p) => p.outcome === 'updated').length;
  if (report.status !== 'completed' || !report.pushed || updated !== opts.objects)
    throw new Error(
      `round ${round}: publish ${report.status}, ${updated} of ${opts.objects} updated ${report.error ?? ''}`,
    );
  const publishCommit = await checkCommit(remote, before, expected, opts.objects, `publish round ${round}`);

  const floorBefore = await git(floorRemote, 'rev-parse', 'main');
  const work = path.join(b.dir, `floor-${round}`);
  const floor = await timed(() => plainCommit(floorRemote, work, Object.keys(expected), round, opts.objects));
  const floorCommit = await checkCommit(floorRemote, floorBefore, expected, opts.objects, `floor round ${round}`);
  rmSync(work, { recursive: true, force: true });
  return {
    draftMs: draft.ms,
    publishMs: published.ms,
    floorMs: floor.ms,
    phases: report.run.details.timingsMs ?? {},
    publishCommit,
    floorCommit,
  };
}

export async function benchPublish(opts: PublishBenchOptions): Promise<PublishBenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hh-bench-publish-'));
  const db = await openBenchDatabase(opts.databaseUrl);
  const ledger = ledgerOnOrm(
    db.orm,
    { sync: { gitCacheDir: path.join(dir, 'cache', 'git-cache') } },
    { location: db.label, embedded: db.embedded, close: () => db.close() },
  );
  try {
    const { initial, remote, floorRemote } = await setUp(ledger, dir, opts);
    const bench: Bench = { ledger, dir, remote, floorRemote, opts, sampler: new RssSampler(db.memoryPids) };
    const expected: Record<string, string> = { ...initial };
    const beforeMb = rssMb(db.memoryPids);
    const rounds: Round[] = [];
    // Round 1 is the warm-up (JIT, the publisher's one clone of the remote); rounds 2… are counted.
    for (let round = 1; round <= opts.repeat + 1; round++) {
      for (const [file, text] of Object.entries(expected)) expected[file] = replaceVlans(text, round, opts.objects);
      const r = await oneRound(bench, round, expected);
      if (round > 1) rounds.push(r);
    }
    return {
      objects: opts.objects,
      files: opts.files,
      repeat: opts.repeat,
      database: db.label,
      draft: spread(rounds.map((r) => r.draftMs)),
      publish: spread(rounds.map((r) => r.publishMs)),
      floor: spread(rounds.map((r) => r.floorMs)),
      ratioRuns: rounds.map((r) => Math.round((r.publishMs / r.floorMs) * 100) / 100),
      phases: medianPhases(rounds.map((r) => r.phases)),
      publishCommit: rounds[0]!.publishCommit,
      floorCommit: rounds[0]!.floorCommit,
      rss: { beforeMb, peakMb: bench.sampler.peakMb, processPeakMb: peakRssMb(db.memoryPids) },
    };
  } finally {
    await ledger.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run as the runner's child: options in argv as JSON, the result sent back over IPC.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--child') {
  try {
    const result = await benchPublish(JSON.parse(process.argv[3]!) as PublishBenchOptions);
    process.send!({ ok: true, result });
  } catch (err) {
    process.send!({ ok: false, error: (err as Error).stack ?? String(err) });
    process.exitCode = 1;
  }
}
