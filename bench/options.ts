/**
 * Command line of `npm run bench -- …`:
 *
 *   --sizes 10000,100000   fabric sizes of the actual-side runs (each in its own child process)
 *   --db embedded|url|<postgres://…>
 *                          embedded = in-memory PGlite; url = HH_SYNC_DATABASE_URL / DATABASE_URL;
 *                          default: the URL when one is set, else embedded
 *   --repeat N             repetitions (median kept); default 15 up to 20,000 objects, 5 above: the
 *                          goals are medians of at least 5, and at 10,000 one pair's ratio spans
 *                          0.7–2.0× on this shared machine, so 5 pairs were not enough to settle a verdict
 *   --desired-objects N    objects of the desired-side run (default 10000; 0 skips it)
 *   --desired-files N      files they are spread over (default 500)
 *   --naive-sample N       objects the naive path writes before extrapolating (default 1000)
 *   --seed N               sample fabric seed (default 42)
 *   --no-drift             skip the drift benchmark
 *   --only SECTIONS        run only these sections (comma-separated): sync (actual + desired side), drift,
 *                          publish (write-back: 1,000 drafts published as one commit), cli (command latency,
 *                          PostgreSQL only), embedded (a new embedded data directory vs an existing one, and
 *                          `hh-sync demo`); default all
 *   --json FILE            also write every figure as JSON
 */
import { parseArgs } from 'node:util';
import { resolveDatabaseUrl } from '../src/db/database-url.js';

export interface BenchOptions {
  sizes: number[];
  /** null = embedded PGlite. */
  databaseUrl: string | null;
  repeat: number | null;
  desiredObjects: number;
  desiredFiles: number;
  naiveSample: number;
  seed: number;
  drift: boolean;
  /** The actual- and desired-side sync runs (bench/sync-bench.ts). */
  sync: boolean;
  /** The write-back run (bench/publish-bench.ts). */
  publish: boolean;
  /** CLI latency against its floors (bench/cli-bench.ts; PostgreSQL only). */
  cli: boolean;
  /** Embedded ledger start and the demo (bench/embedded-bench.ts). */
  embedded: boolean;
  json: string | null;
}

/** What `npm run bench -- --help` prints. */
export const BENCH_USAGE = `usage: npm run bench -- [options]
  --sizes 10000,100000   fabric sizes of the actual-side runs (each in its own child process)
  --db embedded|url|<postgres://…>
                         embedded PGlite, the server of HH_SYNC_DATABASE_URL / DATABASE_URL, or this URL
                         (default: the URL when one is set, else embedded)
  --repeat N             repetitions, median kept (default 15 up to 20,000 objects, 5 above; publish at least 5)
  --desired-objects N    objects of the desired-side run (default 10000; 0 skips it)
  --desired-files N      files they are spread over (default 500)
  --naive-sample N       objects the naive path writes before extrapolating (default 1000)
  --seed N               sample fabric seed (default 42)
  --no-drift             skip the drift benchmark
  --only SECTIONS        only these sections, comma-separated: sync, drift, publish, cli, embedded (default all)
  --json FILE            also write every figure as JSON
Method and figures: docs/benchmarks.md`;

export const BENCH_SECTIONS = ['sync', 'drift', 'publish', 'cli', 'embedded'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

function sectionsOf(only: string | undefined): Set<BenchSection> {
  if (only === undefined) return new Set(BENCH_SECTIONS);
  const named = only.split(/[\s,]+/).filter(Boolean);
  const unknown = named.filter((s) => !(BENCH_SECTIONS as readonly string[]).includes(s));
  if (named.length === 0 || unknown.length)
    throw new Error(`--only wants some of ${BENCH_SECTIONS.join(', ')}, got ${JSON.stringify(only)}`);
  return new Set(named as BenchSection[]);
}

function positiveInt(name: string, value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} wants a whole number, got ${JSON.stringify(value)}`);
  return n;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string', default: '10000,100000' },
      db: { type: 'string' },
      repeat: { type: 'string' },
      'desired-objects': { type: 'string', default: '10000' },
      'desired-files': { type: 'string', default: '500' },
      'naive-sample': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '42' },
      'no-drift': { type: 'boolean', default: false },
      only: { type: 'string' },
      json: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const sizes = values.sizes
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((s) => positiveInt('sizes', s));
  if (sizes.length === 0 || sizes.some((n) => n < 100))
    throw new Error('--sizes wants sizes of at least 100 objects, e.g. 10000,100000');

  let databaseUrl: string | null;
  const db = values.db;
  if (db === undefined) databaseUrl = resolveDatabaseUrl() ?? null;
  else if (db === 'embedded') databaseUrl = null;
  else if (db === 'url') {
    databaseUrl = resolveDatabaseUrl() ?? null;
    if (!databaseUrl) throw new Error('--db url: set HH_SYNC_DATABASE_URL or DATABASE_URL');
  } else if (/^postgres(ql)?:\/\//.test(db)) databaseUrl = db;
  else throw new Error(`--db wants embedded, url or a postgres:// URL, got ${JSON.stringify(db)}`);

  const sections = sectionsOf(values.only);
  return {
    sizes,
    databaseUrl,
    repeat: values.repeat === undefined ? null : Math.max(1, positiveInt('repeat', values.repeat)),
    desiredObjects: positiveInt('desired-objects', values['desired-objects']),
    desiredFiles: Math.max(1, positiveInt('desired-files', values['desired-files'])),
    naiveSample: Math.max(1, positiveInt('naive-sample', values['naive-sample'])),
    seed: positiveInt('seed', values.seed),
    drift: !values['no-drift'] && sections.has('drift'),
    sync: sections.has('sync'),
    publish: sections.has('publish'),
    cli: sections.has('cli'),
    embedded: sections.has('embedded'),
    json: values.json ?? null,
  };
}

/** Repetitions for a run of `objects`: cheap runs are repeated and the median kept. */
export function repeatsFor(opts: Pick<BenchOptions, 'repeat'>, objects: number): number {
  return opts.repeat ?? (objects <= 20_000 ? 15 : 5);
}
