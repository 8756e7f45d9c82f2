/**
 * Command line of `npm run bench -- …`:
 *
 *   --sizes 10000,100000   fabric sizes of the actual-side runs (each in its own child process)
 *   --db embedded|url|<postgres://…>
 *                          embedded = in-memory PGlite; url = HH_SYNC_DATABASE_URL / DATABASE_URL;
 *                          default: the URL when one is set, else embedded
 *   --repeat N             repetitions of the cheap measurements (median); default 5 up to 20,000
 *                          objects (the machine is shared: medians of more runs), 1 above
 *   --desired-objects N    objects of the desired-side run (default 10000; 0 skips it)
 *   --desired-files N      files they are spread over (default 500)
 *   --naive-sample N       objects the naive path writes before extrapolating (default 1000)
 *   --seed N               sample fabric seed (default 42)
 *   --no-drift             skip the drift benchmark
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
  json: string | null;
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

  return {
    sizes,
    databaseUrl,
    repeat: values.repeat === undefined ? null : Math.max(1, positiveInt('repeat', values.repeat)),
    desiredObjects: positiveInt('desired-objects', values['desired-objects']),
    desiredFiles: Math.max(1, positiveInt('desired-files', values['desired-files'])),
    naiveSample: Math.max(1, positiveInt('naive-sample', values['naive-sample'])),
    seed: positiveInt('seed', values.seed),
    drift: !values['no-drift'],
    json: values.json ?? null,
  };
}

/** Repetitions for a run of `objects`: cheap runs are repeated and the median kept. */
export function repeatsFor(opts: Pick<BenchOptions, 'repeat'>, objects: number): number {
  return opts.repeat ?? (objects <= 20_000 ? 5 : 1);
}
