// The floor of the CLI latency benchmark (bench/cli-bench.ts): what any command reading the ledger must at least
// do — start node, load `pg`, connect, run one SELECT, print the rows as JSON. Usage: node cli-floor.mjs <url>
import pg from 'pg';

const client = new pg.Client({ connectionString: process.argv[2] });
await client.connect();
try {
  const { rows } = await client.query('SELECT * FROM hedgehog_fabric ORDER BY name');
  process.stdout.write(`${JSON.stringify(rows)}\n`);
} finally {
  await client.end();
}
