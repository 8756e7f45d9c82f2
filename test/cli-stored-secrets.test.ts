/** URLs a ledger stored before credentials were removed on input are never printed with them. */
import 'reflect-metadata';
import { query } from '../src/store/sql.js';
import { hh } from './helpers/cli-in-process.js';
import { cliEnv } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { ifSetUp } from './helpers/if-set-up.js';

let db: TestDatabase;
beforeAll(async () => {
  process.env.NO_COLOR = '1';
  db = await createTestDatabase();
});
afterAll(async () => ifSetUp(db)?.close());

test('fabric list (text and --json) hides a password in a stored server URL and a token in a stored Git URL', async () => {
  const flags = ['--database-url', db.url];
  expect((await hh([...flags, 'fabric', 'add', 'old', '--git', 'https://example.com/net/fabric.git'])).code).toBe(0);
  await query(
    db.orm.em.fork(),
    `UPDATE hedgehog_fabric SET api_server_url = ?, git_repository = ? WHERE name = 'old'`,
    ['https://admin:S3CRETPW@10.0.0.1:6443', 'https://ghp_S3CRETTOKEN@example.com/net/fabric.git'],
  );
  // Wide enough for the whole URLs: a table cut to 80 columns could hide the secret by cutting it off.
  const text = await hh([...flags, 'fabric', 'list'], { env: cliEnv({ COLUMNS: '200' }) });
  const json = await hh([...flags, '--json', 'fabric', 'list']);
  const wide = await hh([...flags, '-o', 'wide', 'fabric', 'list']);
  const yaml = await hh([...flags, '-o', 'yaml', 'fabric', 'list']);
  expect(text.code).toBe(0);
  for (const out of [text.stdout + text.stderr, json.stdout, wide.stdout, yaml.stdout]) {
    expect(out).not.toMatch(/S3CRET/);
    expect(out).toContain('10.0.0.1:6443');
  }
  expect(JSON.parse(json.stdout)[0].apiServerUrl).toBe('https://10.0.0.1:6443');
});
