/**
 * One rule for credentials in Git URLs (issue 9, round 3): what `fabric add` stores, what `fabric list`
 * prints, what the library registry refuses and what git's messages mask are decided by the same function.
 * http(s) in any case (and git+https) keeps no user name, git:// none, ssh only a login-like one;
 * fragments go too. Legitimate URLs pass unchanged.
 */
import 'reflect-metadata';
import { redactUrl } from '../src/gitops/git-cli.js';
import { stripUrlCredentials } from '../src/gitops/git-url.js';
import { FabricRegistry, InvalidFabricSettingsError } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { hh } from './helpers/cli-in-process.js';

/** [fabric name, URL with a secret, the secret, the URL that may be stored and shown]. */
const WITH_SECRETS: [string, string, string, string][] = [
  ['tok3', 'ssh://SECRETTOKEN3@host/x.git', 'SECRETTOKEN3', 'ssh://host/x.git'],
  ['tok13', 'git://SECRETTOKEN13@host/x.git', 'SECRETTOKEN13', 'git://host/x.git'],
  ['tok6', 'SECRETTOKEN6@127.0.0.1:x.git', 'SECRETTOKEN6', '127.0.0.1:x.git'],
  ['frag5', 'https://host/x.git#SECRETFRAG5', 'SECRETFRAG5', 'https://host/x.git'],
  ['tok9', 'HTTPS://SECRETTOKEN9@host/x.git', 'SECRETTOKEN9', 'https://host/x.git'],
  ['tok10', 'git+https://SECRETTOKEN10@host/x.git', 'SECRETTOKEN10', 'git+https://host/x.git'],
  ['user11', 'https://builduser@host/x.git', 'builduser', 'https://host/x.git'],
  ['long12', 'ssh://a1b2c3d4e5f6a7b8c9d0e1f2@host/x.git', 'a1b2c3d4e5f6a7b8c9d0e1f2', 'ssh://host/x.git'],
];

const LEGITIMATE = [
  'git@github.com:org/repo.git',
  'ssh://git@host/x.git',
  'https://host/x.git',
  'file:///srv/repo',
  'ssh://deploy@host:2222/r.git',
];

describe('the one rule (stripUrlCredentials and the masking of git messages)', () => {
  test.each(WITH_SECRETS)('%s: %s is stored as %s and masked in messages', (_name, url, secret, stored) => {
    expect(stripUrlCredentials(url).url).toBe(stored);
    expect(stripUrlCredentials(url).removed.length).toBeGreaterThan(0);
    const message = redactUrl(`fatal: unable to access '${url}': The requested URL returned error: 403`);
    expect(message).not.toContain(secret);
  });

  test.each([...LEGITIMATE, '/local/path'])('%s is kept as is, stored and in messages', (url) => {
    expect(stripUrlCredentials(url)).toEqual({ url, removed: [] });
    expect(redactUrl(`fatal: '${url}' does not appear to be a git repository`)).toContain(url);
  });
});

describe('library registry', () => {
  let db: TestDatabase;
  let fabrics: FabricRegistry;
  beforeAll(async () => {
    db = await createTestDatabase();
    fabrics = new FabricRegistry(db.orm.em);
  });
  afterAll(async () => db.close());

  test.each(WITH_SECRETS)('%s: %s is refused without quoting the secret', async (name, url, secret, stored) => {
    const err = await fabrics.create(name, { gitRepository: url }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(InvalidFabricSettingsError);
    expect(err!.message).not.toContain(secret);
    expect(err!.message).toContain(`(${stored})`);
    expect(await fabrics.get(name)).toBeNull();
  });

  test.each(LEGITIMATE.map((u, i) => [`ok${i}`, u]))('%s: %s is stored as given', async (name, url) => {
    await fabrics.create(name, { gitRepository: url });
    expect((await fabrics.get(name))?.gitRepository).toBe(url);
  });
});

describe('CLI: fabric add, then fabric list (text and --json)', () => {
  let cliDb: TestDatabase;
  beforeAll(async () => {
    process.env.NO_COLOR = '1';
    cliDb = await createTestDatabase();
  });
  // Declared as set, but unset here when the setup that assigns it failed or never ran.
  afterAll(async () => (cliDb as TestDatabase | undefined)?.close());

  test('every secret is removed before storing; legitimate URLs are stored verbatim', async () => {
    const flags = ['--database-url', cliDb.url];
    // Legitimate URLs of each form (scp-like, ssh://, https://), the rest through the registry above.
    const legit = LEGITIMATE.slice(0, 3).map((u, i): [string, string] => [`ok${i}`, u]);
    const adds = [...WITH_SECRETS.map(([name, url]) => [name, url]), ...legit];
    for (const [name, url] of adds) {
      const r = await hh([...flags, 'fabric', 'add', name!, '--git', url!]);
      expect(r.code).toBe(0);
      for (const [, , secret] of WITH_SECRETS) expect(r.stdout + r.stderr).not.toContain(secret);
    }

    const json = await hh([...flags, '--json', 'fabric', 'list']);
    const text = await hh([...flags, 'fabric', 'list']);
    expect(json.code).toBe(0);
    const listed = new Map(
      (JSON.parse(json.stdout) as { name: string; gitRepository: string }[]).map((f) => [f.name, f.gitRepository]),
    );
    for (const [name, , secret, stored] of WITH_SECRETS) {
      expect(listed.get(name)).toBe(stored);
      expect(json.stdout + text.stdout + text.stderr).not.toContain(secret);
    }
    for (const [name, url] of legit) {
      expect(listed.get(name)).toBe(url);
      expect(text.stdout).toContain(url);
    }
  });
});
