/**
 * The library's FabricRegistry never stores a URL carrying a password or token (issue 9): it refuses it with an
 * exported InvalidFabricSettingsError whose one-line message says where credentials go, never quoting them.
 */
import 'reflect-metadata';
import { FabricRegistry, InvalidFabricSettingsError } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

let db: TestDatabase;
let fabrics: FabricRegistry;

beforeAll(async () => {
  db = await createTestDatabase();
  fabrics = new FabricRegistry(db.orm.em);
});

afterAll(async () => {
  await db.close();
});

async function storedUrls(): Promise<string> {
  const rows = await db.orm.em
    .fork()
    .getConnection()
    .execute('SELECT git_repository, api_server_url FROM hedgehog_fabric');
  return JSON.stringify(rows);
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(InvalidFabricSettingsError);
  return err!;
}

describe.each([
  ['a token as the user name', `https://${TOKEN}@github.com/org/fabric.git`, 'https://github.com/org/fabric.git'],
  ['a password', `https://user:${TOKEN}@git.example.com/fabric.git`, 'https://git.example.com/fabric.git'],
  [
    'a token in the query',
    `https://git.example.com/fabric.git?access_token=${TOKEN}`,
    'https://git.example.com/fabric.git',
  ],
  ['an ssh token user', `ssh://${TOKEN}@git.example.com/fabric.git`, 'ssh://git.example.com/fabric.git'],
])('gitRepository with %s', (_what, url, clean) => {
  test('create refuses it in one line naming where credentials go, without the token; nothing is stored', async () => {
    const err = await refusal(fabrics.create('cred-create', { gitRepository: url }));
    expect(err.message).not.toContain(TOKEN);
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain('gitRepository');
    expect(err.message).toContain(clean);
    expect(err.message).toMatch(/credential helper.*SSH agent.*HH_SYNC_GIT_TOKEN/);
    expect(await fabrics.get('cred-create')).toBeNull();
  });

  test('update refuses it and keeps the stored URL', async () => {
    await fabrics.create('cred-update', { gitRepository: 'https://git.example.com/fabric.git' });
    try {
      const err = await refusal(fabrics.update('cred-update', { gitRepository: url }));
      expect(err.message).not.toContain(TOKEN);
      expect((await fabrics.get('cred-update'))?.gitRepository).toBe('https://git.example.com/fabric.git');
      expect(await storedUrls()).not.toContain(TOKEN);
    } finally {
      await fabrics.remove('cred-update');
    }
  });
});

test('an API server URL with a password is refused too', async () => {
  const err = await refusal(fabrics.create('cred-api', { apiServerUrl: `https://admin:${TOKEN}@10.0.0.1:6443` }));
  expect(err.message).not.toContain(TOKEN);
  expect(err.message).toContain('https://10.0.0.1:6443');
  expect(await storedUrls()).not.toContain(TOKEN);
});

test('URLs without credentials (plain user names included) are stored as given', async () => {
  for (const [name, gitRepository] of [
    ['plain-scp', 'git@github.com:org/fabric.git'],
    ['plain-ssh', 'ssh://deploy@git.example.com/fabric.git'],
    ['plain-path', '/srv/fabric'],
  ]) {
    const f = await fabrics.create(name!, { gitRepository, apiServerUrl: 'https://10.0.0.1:6443' });
    expect(f.gitRepository).toBe(gitRepository);
    expect((await fabrics.get(name!))?.apiServerUrl).toBe('https://10.0.0.1:6443');
    expect(await fabrics.remove(name!)).toBe(true);
  }
});
