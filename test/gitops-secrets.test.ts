/**
 * Git remotes never hang and never leak (issue 9): every network operation has a time limit that kills
 * git with its helpers; credentials are removed from URLs before they are stored or printed, and a token
 * reaches git only through HH_SYNC_GIT_TOKEN and a credential helper, never a command line or a message.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { redactUrl } from '../src/gitops/git-cli.js';
import { syncMirror } from '../src/gitops/git-source.js';
import { stripUrlCredentials } from '../src/gitops/git-url.js';
import { readDesiredState, resolveSourceRef } from '../src/gitops/desired-state-reader.js';
import { createGitRepo } from '../src/testing/index.js';
import { silentServer } from './helpers/silent-server.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'hh-secrets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TOKEN = 'ghp_0123456789abcdefABCDEF0123456789abcd';

describe('stripUrlCredentials', () => {
  test.each([
    [`https://${TOKEN}@github.com/org/repo.git`, 'https://github.com/org/repo.git', ['user name']],
    // https keeps no user name at all: the credential helper / HH_SYNC_GIT_USERNAME supplies it.
    [
      `https://oauth2:${TOKEN}@gitlab.example.com/org/repo.git`,
      'https://gitlab.example.com/org/repo.git',
      ['password', 'user name'],
    ],
    [`https://x-access-token:${TOKEN}@github.com/o/r`, 'https://github.com/o/r', ['password', 'user name']],
    [`ssh://${TOKEN}@git.example.com/o/r.git`, 'ssh://git.example.com/o/r.git', ['user name']],
    [
      `https://git.example.com/o/r.git?access_token=${TOKEN}`,
      'https://git.example.com/o/r.git',
      ['query parameter access_token'],
    ],
    [
      `https://git.example.com/o/r.git?private_token=${TOKEN}&ref=x`,
      'https://git.example.com/o/r.git?ref=x',
      ['query parameter private_token'],
    ],
    [`${TOKEN}@github.com:org/repo.git`, 'github.com:org/repo.git', ['user name']],
  ])('%s → %s', (input, url, removed) => {
    expect(stripUrlCredentials(input)).toEqual({ url, removed });
  });

  test.each([
    'git@github.com:org/repo.git',
    'ssh://git@github.com/org/repo.git',
    'ssh://deploy@host:2222/r.git',
    'https://github.com/org/repo',
    '/srv/repos/fabric',
    './local',
  ])('kept as is: %s', (url) => expect(stripUrlCredentials(url)).toEqual({ url, removed: [] }));
});

describe('redactUrl', () => {
  test('user info, token-like scp users and credential query parameters are hidden in any text', () => {
    const text = `fatal: unable to access 'https://me:${TOKEN}@h/r.git/': x; also ${TOKEN}@h:r.git and https://h/r?access_token=${TOKEN}&x=1 git@h:r`;
    const shown = redactUrl(text);
    expect(shown).not.toContain(TOKEN);
    expect(shown).toContain('https://***@h/r.git/');
    expect(shown).toContain('***@h:r.git');
    expect(shown).toContain('access_token=***&x=1');
    expect(shown).toContain('git@h:r');
  });
});

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

describe('git network operations have a time limit', () => {
  test('a clone from a server that never answers fails within the limit, leaves no git process and no half-made cache', async () => {
    const server = await silentServer();
    try {
      const cache = path.join(tmp, 'cache-clone');
      const started = Date.now();
      await expect(syncMirror(`http://127.0.0.1:${server.port}/repo.git`, cache, { timeoutMs: 1000 })).rejects.toThrow(
        /cannot clone or fetch repository http:\/\/127\.0\.0\.1:\d+\/repo\.git: git clone timed out after 1 s/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
      expect(server.accepted()).toBeGreaterThan(0);
      // git and git-remote-http were killed: nobody holds the connection any more.
      expect(await until(() => server.open() === 0, 2000)).toBe(true);
      expect(existsSync(cache)).toBe(false);
      expect(readdirSync(tmp).filter((f) => f.startsWith('cache-clone'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  test('a fetch into an existing mirror is limited too (readDesiredState option, or HH_SYNC_GIT_TIMEOUT)', async () => {
    const origin = path.join(tmp, 'origin');
    await createGitRepo(origin, { 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n' });
    const cache = path.join(tmp, 'cache-fetch');
    await syncMirror(`file://${origin}`, cache); // a good mirror…
    const server = await silentServer();
    const url = `http://127.0.0.1:${server.port}/repo.git`;
    try {
      // …whose remote now never answers.
      await expect(readDesiredState({ repository: url, cacheDir: cache }, { gitTimeoutMs: 800 })).rejects.toThrow(
        /git fetch timed out after 0\.8 s/,
      );
      process.env.HH_SYNC_GIT_TIMEOUT = '0.5';
      try {
        await expect(readDesiredState({ repository: url, cacheDir: cache })).rejects.toThrow(/timed out after 0\.5 s/);
      } finally {
        delete process.env.HH_SYNC_GIT_TIMEOUT;
      }
      expect(await until(() => server.open() === 0, 2000)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('HH_SYNC_GIT_TOKEN', () => {
  test('reaches the server through the credential helper, never the command line or the error message', async () => {
    const authorizations: string[] = [];
    const server = http.createServer((req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
        return;
      }
      authorizations.push(req.headers.authorization);
      res.writeHead(403).end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    process.env.HH_SYNC_GIT_TOKEN = TOKEN;
    try {
      const err = await syncMirror(`http://127.0.0.1:${port}/r.git`, path.join(tmp, 'cache-token'), {
        timeoutMs: 10_000,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).not.toContain(TOKEN);
      expect(authorizations.length).toBeGreaterThan(0);
      expect(Buffer.from(authorizations[0]!.replace(/^Basic /, ''), 'base64').toString()).toBe(
        `x-access-token:${TOKEN}`,
      );
    } finally {
      delete process.env.HH_SYNC_GIT_TOKEN;
      await new Promise((r) => server.close(r));
    }
  });
});

describe('resolveSourceRef', () => {
  test('a local repository: a known ref resolves, an unknown one is refused in one line', async () => {
    const repo = path.join(tmp, 'refs');
    await createGitRepo(repo, { 'a.yaml': 'x: 1\n' });
    expect((await resolveSourceRef({ repository: repo, ref: 'main' })).commit).toMatch(/^[0-9a-f]{40}$/);
    await expect(resolveSourceRef({ repository: repo, ref: 'nope' })).rejects.toThrow(
      /^ref 'nope' is not a branch, tag or commit of the repository$/,
    );
  });
});

describe('fabric output', () => {
  test('a Git URL stored with a token (before credentials were removed on input) is shown without it', async () => {
    const { HedgehogFabric } = await import('../src/entities/index.js');
    const { fabricJson } = await import('../src/cli/json-shapes.js');
    const f = Object.assign(new HedgehogFabric(), {
      name: 'old',
      gitRepository: `https://me:${TOKEN}@git.example.com/r.git?access_token=${TOKEN}`,
    });
    expect(fabricJson(f).gitRepository).toBe('https://git.example.com/r.git');
  });
});
