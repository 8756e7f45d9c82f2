/**
 * Publishing plumbing against REAL git: a bare repository on disk is the remote, its receive hooks run as a
 * server's would, and hostile remotes (a silent TCP server, an unreachable https URL with a token) are real sockets.
 */
import { promises as fs } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGitRepo, commitFiles, git } from '../src/testing/git-repo.js';
import {
  commitsBetween,
  createCommit,
  defaultIdentity,
  fetchTip,
  GitPublishError,
  lastCommitOf,
  lastCommitsOf,
  listFilesAt,
  openPublishClone,
  parseIdentity,
  pushCommit,
  pushOutcomeOf,
  readFileAt,
  readFilesAt,
  resolveAuthor,
  type GitIdentity,
  type PublishClone,
} from '../src/writeback/git-publisher.js';
import { silentServer } from './helpers/silent-server.js';

const ALICE: GitIdentity = { name: 'Alice Ops', email: 'alice@example.com' };
const DATE = new Date('2026-03-04T05:06:07Z');

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'hh-publish-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A work repository with `files` cloned bare as the remote; returns the remote's path and its first commit. */
async function makeRemote(files: Record<string, string>, branch = 'main'): Promise<{ remote: string; first: string }> {
  const work = path.join(root, 'work');
  const first = await createGitRepo(work, files, { branch });
  const remote = path.join(root, 'remote.git');
  await git(root, 'clone', '-q', '--bare', work, remote);
  return { remote, first };
}

const bytes = (s: string) => Buffer.from(s, 'utf8');
const changesOf = (o: Record<string, string | null>) =>
  new Map(Object.entries(o).map(([p, c]) => [p, c === null ? null : bytes(c)] as const));
const remoteTip = (remote: string, branch = 'main') => git(remote, 'rev-parse', `refs/heads/${branch}`);

/** What `publish` will do: fetch, build on the tip, push; on 'non-fast-forward' fetch again and rebuild. */
async function publish(
  clone: PublishClone,
  branch: string,
  changes: Map<string, Buffer | null>,
  attempts = 20,
): Promise<{ commit: string; tries: number }> {
  for (let tries = 1; tries <= attempts; tries++) {
    const { tip } = await fetchTip(clone, branch);
    const { commit } = await createCommit(clone, tip, changes, {
      message: `publish ${[...changes.keys()].join(', ')}`,
      author: ALICE,
    });
    const outcome = await pushCommit(clone, commit, branch);
    if (outcome.ok) return { commit, tries };
    if (outcome.reason !== 'non-fast-forward') throw new Error(outcome.message);
  }
  throw new Error(`no push after ${attempts} attempts`);
}

describe('commit and push without a work tree', () => {
  test('a new file, an edit and a delete each land as one commit with one parent and the given author', async () => {
    const { remote, first } = await makeRemote({ 'fabric/a.yaml': 'a: 1\n', 'fabric/b.yaml': 'b: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    expect(clone.gitDir.startsWith(path.join(root, 'cache', 'publish') + path.sep)).toBe(true);

    const { branch, tip } = await fetchTip(clone, null);
    expect({ branch, tip }).toEqual({ branch: 'main', tip: first });
    const changes = changesOf({ 'fabric/new.yaml': 'n: 1\n', 'fabric/a.yaml': 'a: 2\n', 'fabric/b.yaml': null });
    const made = await createCommit(clone, tip, changes, { message: 'publish 3 objects', author: ALICE, date: DATE });
    expect(made.changed).toEqual(['fabric/a.yaml', 'fabric/b.yaml', 'fabric/new.yaml']);
    expect(await remoteTip(remote)).toBe(first); // nothing reaches the remote before the push

    expect(await pushCommit(clone, made.commit, 'main')).toEqual({ ok: true });
    expect(await remoteTip(remote)).toBe(made.commit);
    expect(await git(remote, 'log', '-1', '--format=%P|%an <%ae>|%cn|%aI|%B', 'main')).toBe(
      `${first}|Alice Ops <alice@example.com>|Alice Ops|2026-03-04T05:06:07+00:00|publish 3 objects`,
    );
    expect(await git(remote, 'ls-tree', '-r', '--name-only', 'main')).toBe('fabric/a.yaml\nfabric/new.yaml');
    expect(await git(remote, 'show', 'main:fabric/a.yaml')).toBe('a: 2');
  });

  test('content equal to the tip is no change: only really changed paths are listed, and all-equal makes no commit', async () => {
    const { remote, first } = await makeRemote({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    const none = await createCommit(clone, tip, changesOf({ 'a.yaml': 'a: 1\n', 'gone.yaml': null }), {
      message: 'm',
      author: ALICE,
    });
    expect(none).toEqual({ commit: first, changed: [] });
    const one = await createCommit(clone, tip, changesOf({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 2\n' }), {
      message: 'm',
      author: ALICE,
    });
    expect(one.changed).toEqual(['b.yaml']);
    expect(one.commit).not.toBe(first);
  });

  test('bytes are stored exactly (CRLF, BOM, unicode names) and read back; an executable file keeps its mode', async () => {
    const { remote } = await makeRemote({ 'run.sh': '#!/bin/sh\n' });
    await git(path.join(root, 'work'), 'update-index', '--chmod=+x', 'run.sh');
    await git(path.join(root, 'work'), 'commit', '-qm', 'x');
    await git(path.join(root, 'work'), 'push', '-q', remote, 'main');
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    const crlf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes('kind: Switch\r\nname: ü\r\n')]);
    const changes = new Map([
      ['fäbric/spine-ß.yaml', crlf],
      ['run.sh', bytes('#!/bin/sh\necho hi\n')],
    ]);
    const { commit, changed } = await createCommit(clone, tip, changes, { message: 'm', author: ALICE });
    expect(changed.sort()).toEqual(['fäbric/spine-ß.yaml', 'run.sh']);
    expect((await readFileAt(clone, commit, 'fäbric/spine-ß.yaml'))?.equals(crlf)).toBe(true);
    expect(await readFileAt(clone, commit, 'absent.yaml')).toBeNull();
    // Many at once (one listing, one cat-file): the same bytes, absent files as null.
    const many = await readFilesAt(clone, commit, ['fäbric/spine-ß.yaml', 'absent.yaml', 'run.sh']);
    expect([...many.keys()]).toEqual(['fäbric/spine-ß.yaml', 'absent.yaml', 'run.sh']);
    expect(many.get('fäbric/spine-ß.yaml')?.equals(crlf)).toBe(true);
    expect(many.get('absent.yaml')).toBeNull();
    expect(many.get('run.sh')?.toString()).toBe('#!/bin/sh\necho hi\n');
    expect(await listFilesAt(clone, commit, '')).toEqual(['fäbric/spine-ß.yaml', 'run.sh']);
    expect(await listFilesAt(clone, commit, 'fäbric/')).toEqual(['fäbric/spine-ß.yaml']);
    const modes = await git(clone.gitDir, 'ls-tree', '-r', commit);
    expect(modes).toMatch(/^100755 blob \S+\trun\.sh$/m);
    expect(modes).toMatch(/^100644 blob \S+\t"f\\303\\244bric/m);
  });

  test('a folder and a symbolic link are not files to read', async () => {
    const { remote } = await makeRemote({ 'dir/x.yaml': 'x: 1\n' });
    await commitFiles(path.join(root, 'work'), { link: { symlink: 'dir/x.yaml' } });
    await git(path.join(root, 'work'), 'push', '-q', remote, 'main');
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    await expect(readFileAt(clone, tip!, 'dir')).rejects.toThrow(/dir is a folder at commit [0-9a-f]{12}, not a file/);
    await expect(readFileAt(clone, tip!, 'link')).rejects.toThrow(/link is a symbolic link/);
    await expect(readFilesAt(clone, tip!, ['dir/x.yaml', 'dir'])).rejects.toThrow(/dir is a folder/);
    await expect(readFilesAt(clone, tip!, ['link'])).rejects.toThrow(/link is a symbolic link/);
    expect(await listFilesAt(clone, tip!, '')).toEqual(['dir/x.yaml']);
  });

  test('a file name that is not UTF-8 is listed with its bad byte escaped, never altered into another name', async () => {
    const { remote } = await makeRemote({ 'ok.yaml': 'ok: 1\n' });
    const work = path.join(root, 'work');
    await fs.writeFile(
      Buffer.concat([Buffer.from(`${work}/bad`), Buffer.from([0xff]), Buffer.from('name.yaml')]),
      'x: 1\n',
    );
    await git(work, 'add', '-A');
    await git(work, 'commit', '-qm', 'latin-1 name');
    await git(work, 'push', '-q', remote, 'main');
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    expect(await listFilesAt(clone, tip!, '')).toEqual(['bad\\xffname.yaml', 'ok.yaml']);
    expect(await readFileAt(clone, tip!, 'bad\uFFFDname.yaml')).toBeNull();
    expect((await readFileAt(clone, tip!, 'ok.yaml'))?.toString()).toBe('ok: 1\n');
  });

  test('a push to a new branch (pull-request flow) starts from the default tip and leaves the default branch alone', async () => {
    const { remote, first } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    expect(await fetchTip(clone, 'hh-sync/publish-1')).toEqual({ branch: 'hh-sync/publish-1', tip: null });
    const { tip } = await fetchTip(clone, null);
    const { commit } = await createCommit(clone, tip, changesOf({ 'a.yaml': 'a: 2\n' }), {
      message: 'm',
      author: ALICE,
    });
    expect(await pushCommit(clone, commit, 'hh-sync/publish-1')).toEqual({ ok: true });
    expect(await remoteTip(remote, 'hh-sync/publish-1')).toBe(commit);
    expect(await remoteTip(remote)).toBe(first);
    expect(await fetchTip(clone, 'hh-sync/publish-1')).toEqual({ branch: 'hh-sync/publish-1', tip: commit });
  });

  test('the default branch is the remote HEAD, whatever its name', async () => {
    const { remote, first } = await makeRemote({ 'a.yaml': 'a: 1\n' }, 'trunk');
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    expect(await fetchTip(clone, null)).toEqual({ branch: 'trunk', tip: first });
  });

  test('an empty remote: a named branch has no tip, a root commit creates it; no default branch is a clear error', async () => {
    const remote = path.join(root, 'empty.git');
    await fs.mkdir(remote);
    await git(remote, 'init', '-q', '--bare');
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    await expect(fetchTip(clone, null)).rejects.toThrow(/names no default branch \(an empty repository\?\)/);
    expect(await fetchTip(clone, 'main')).toEqual({ branch: 'main', tip: null });
    await expect(createCommit(clone, null, new Map(), { message: 'm', author: ALICE })).rejects.toThrow(
      /nothing to commit/,
    );
    const { commit } = await createCommit(clone, null, changesOf({ 'a.yaml': 'a: 1\n' }), {
      message: 'm',
      author: ALICE,
    });
    expect(await pushCommit(clone, commit, 'main')).toEqual({ ok: true });
    expect(await git(remote, 'log', '--format=%H|%P|', 'main')).toBe(`${commit}||`);
  });
});

describe('a remote that moved, refused or raced', () => {
  test('remote moved meanwhile → non-fast-forward, remote unchanged (no force); fetch, rebuild and push then lands', async () => {
    const { remote } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    const mine = await createCommit(clone, tip, changesOf({ 'mine.yaml': 'm: 1\n' }), { message: 'm', author: ALICE });

    const other = await openPublishClone(remote, { cacheBase: path.join(root, 'other-cache') });
    const theirs = await publish(other, 'main', changesOf({ 'theirs.yaml': 't: 1\n' }));

    const outcome = await pushCommit(clone, mine.commit, 'main');
    expect(outcome).toMatchObject({ ok: false, reason: 'non-fast-forward' });
    expect(await remoteTip(remote)).toBe(theirs.commit);

    const again = await fetchTip(clone, 'main');
    expect(again.tip).toBe(theirs.commit);
    const rebuilt = await createCommit(clone, again.tip, changesOf({ 'mine.yaml': 'm: 1\n' }), {
      message: 'm',
      author: ALICE,
    });
    expect(await pushCommit(clone, rebuilt.commit, 'main')).toEqual({ ok: true });
    expect(await git(remote, 'ls-tree', '--name-only', 'main')).toBe('a.yaml\nmine.yaml\ntheirs.yaml');
    expect(await git(remote, 'log', '-1', '--format=%P', 'main')).toBe(theirs.commit);
  });

  test("a pre-receive hook that declines → 'rejected' with its message, cleaned of escapes and credentials", async () => {
    const { remote, first } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const hook = path.join(remote, 'hooks', 'pre-receive');
    await fs.mkdir(path.dirname(hook), { recursive: true });
    await fs.writeFile(
      hook,
      '#!/bin/sh\nprintf "\\033[31mpolicy: main is protected\\033[0m\\n" >&2\n' +
        'echo "see https://bot:hooks3cret@example.com/policy" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    const { commit } = await createCommit(clone, tip, changesOf({ 'a.yaml': 'a: 2\n' }), {
      message: 'm',
      author: ALICE,
    });
    const outcome = await pushCommit(clone, commit, 'main');
    expect(outcome).toMatchObject({ ok: false, reason: 'rejected' });
    const message = outcome.ok ? '' : outcome.message;
    expect(message).toMatch(/the remote refused the push to main: \[remote rejected\] \(pre-receive hook declined\)/);
    expect(message).toContain('remote: policy: main is protected');
    expect(message).not.toContain('\x1b');
    expect(message).not.toContain('hooks3cret');
    expect(await remoteTip(remote)).toBe(first);
  });

  test("a push to a local non-bare repository's checked-out branch is 'rejected' with git's reason", async () => {
    const work = path.join(root, 'work');
    const first = await createGitRepo(work, { 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(work, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, null);
    expect(tip).toBe(first);
    const { commit } = await createCommit(clone, tip, changesOf({ 'a.yaml': 'a: 2\n' }), {
      message: 'm',
      author: ALICE,
    });
    const outcome = await pushCommit(clone, commit, 'main');
    expect(outcome).toMatchObject({ ok: false, reason: 'rejected' });
    expect(outcome.ok ? '' : outcome.message).toMatch(/branch is currently checked out/);
    expect(await git(work, 'rev-parse', 'HEAD')).toBe(first);
  });

  test('four publishers sharing one fresh clone directory all land, each once, with no commit lost', async () => {
    const { remote, first } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const cacheBase = path.join(root, 'cache');
    const results = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const clone = await openPublishClone(remote, { cacheBase });
        return { clone, ...(await publish(clone, 'main', changesOf({ [`p${i}.yaml`]: `p: ${i}\n` }))) };
      }),
    );
    expect(new Set(results.map((r) => r.clone.gitDir)).size).toBe(1);
    expect(await git(remote, 'ls-tree', '--name-only', 'main')).toBe('a.yaml\np1.yaml\np2.yaml\np3.yaml\np4.yaml');
    const history = (await git(remote, 'rev-list', '--first-parent', 'main')).split('\n');
    expect(history).toHaveLength(5);
    expect(history.at(-1)).toBe(first);
    expect(new Set(history)).toEqual(new Set([first, ...results.map((r) => r.commit)]));
    expect(await git(remote, 'rev-list', '--merges', 'main')).toBe('');
  });
});

describe('reading git push --porcelain', () => {
  const sha = 'c0ffee'.padEnd(40, '0');
  const porcelain = (summary: string, flag = '!') =>
    `To https://github.com/org/repo.git\n${flag}\t${sha}:refs/heads/main\t${summary}\nDone\n`;

  test('a protected branch (GitHub GH006) is rejected with the remote lines; other branches are not confused', () => {
    const stderr =
      'remote: error: GH006: Protected branch update failed for refs/heads/main.\n' +
      'remote: error: Changes must be made through a pull request.\n' +
      "error: failed to push some refs to 'https://ghp_leakedT0ken@github.com/org/repo.git'\n";
    const outcome = pushOutcomeOf(porcelain('[remote rejected] (protected branch hook declined)'), stderr, 1, 'main');
    expect(outcome).toEqual({
      ok: false,
      reason: 'rejected',
      message:
        'the remote refused the push to main: [remote rejected] (protected branch hook declined)\n' +
        'remote: error: GH006: Protected branch update failed for refs/heads/main.\n' +
        'remote: error: Changes must be made through a pull request.',
    });
    expect(pushOutcomeOf(porcelain('[remote rejected] (x)'), stderr, 1, 'mai')).toBeNull();
  });

  test("git's non-fast-forward answers and a server's lost ref-lock race mean 'moved meanwhile'; a bare lock failure does not", () => {
    for (const summary of ['[rejected] (non-fast-forward)', '[rejected] (fetch first)']) {
      expect(pushOutcomeOf(porcelain(summary), '', 1, 'main')).toMatchObject({ reason: 'non-fast-forward' });
    }
    const race = "remote: error: cannot lock ref 'refs/heads/main': is at 1111 but expected 2222\n";
    expect(pushOutcomeOf(porcelain('[remote rejected] (failed to update ref)'), race, 1, 'main')).toMatchObject({
      reason: 'non-fast-forward',
    });
    const disk = 'remote: error: unable to write file: No space left on device\n';
    expect(pushOutcomeOf(porcelain('[remote rejected] (failed to update ref)'), disk, 1, 'main')).toMatchObject({
      reason: 'rejected',
      message: expect.stringContaining('remote: error: unable to write file: No space left on device'),
    });
  });

  test('success, up to date, and no status at all', () => {
    expect(pushOutcomeOf(porcelain('[new branch]', '*'), '', 0, 'main')).toEqual({ ok: true });
    expect(pushOutcomeOf(porcelain('[up to date]', '='), '', 0, 'main')).toEqual({ ok: true });
    expect(pushOutcomeOf('', 'fatal: the remote end hung up unexpectedly', 1, 'main')).toBeNull();
  });

  test('a flood of remote lines is bounded, each line clipped and stripped of terminal escapes', () => {
    const stderr = Array.from({ length: 500 }, (_, i) => `remote: \x1b[2J\x07line ${i} ${'x'.repeat(1000)}`).join('\n');
    const outcome = pushOutcomeOf(porcelain('[remote rejected] (hook declined)'), stderr, 1, 'main');
    const lines = outcome && !outcome.ok ? outcome.message.split('\n') : [];
    expect(lines).toHaveLength(21);
    expect(lines[1]).toMatch(/^remote: line 0 x+…$/);
    expect(lines.every((l) => l.length < 320)).toBe(true);
    // eslint-disable-next-line no-control-regex -- the escapes and bells the hostile remote sent
    expect(lines.join('\n')).not.toMatch(/[\x00-\x08\x1b\x7f]/);
  });
});

describe('hostile remotes and inputs', () => {
  test('a token in an https URL never appears in an error message, nor in the clone path', async () => {
    for (const url of [
      'https://x-access-token:s3cr3tT0ken@127.0.0.1:1/org/repo.git',
      'https://ghp_s3cr3tT0kenAsUserName0123456789@127.0.0.1:1/org/repo.git',
    ]) {
      const clone = await openPublishClone(url, { cacheBase: path.join(root, 'cache'), timeoutMs: 5000 });
      expect(clone.gitDir).not.toContain('s3cr3tT0ken');
      const fetchError = await fetchTip(clone, 'main').then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(fetchError).toBeInstanceOf(GitPublishError);
      expect(fetchError!.message).toMatch(/^cannot fetch repository https:\/\/\*\*\*@127\.0\.0\.1:1\/org\/repo\.git: /);
      expect(fetchError!.message).not.toContain('s3cr3tT0ken');
      const { commit } = await createCommit(clone, null, changesOf({ 'a.yaml': 'a\n' }), {
        message: 'm',
        author: ALICE,
      });
      const pushError = await pushCommit(clone, commit, 'main').then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(pushError?.message).toMatch(/^cannot push to main of https:\/\/\*\*\*@127\.0\.0\.1:1/);
      expect(pushError!.message).not.toContain('s3cr3tT0ken');
    }
  });

  test('a ref lock that never goes away: the fetch retries a bounded number of times, then says so', async () => {
    const { remote } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    await fetchTip(clone, 'main');
    await commitFiles(path.join(root, 'work'), { 'b.yaml': 'b: 1\n' });
    await git(path.join(root, 'work'), 'push', '-q', remote, 'main');
    await fs.writeFile(path.join(clone.gitDir, 'refs', 'remotes', 'origin', 'main.lock'), '');
    await expect(fetchTip(clone, 'main')).rejects.toThrow(
      /^cannot fetch repository .*cannot lock ref 'refs\/remotes\/origin\/main'/s,
    );
    await fs.rm(path.join(clone.gitDir, 'refs', 'remotes', 'origin', 'main.lock'));
    expect((await fetchTip(clone, 'main')).tip).toBe(await remoteTip(remote));
  });

  test('a remote that accepts and never answers: fetch and push time out with a clear error, no hang', async () => {
    const server = await silentServer();
    try {
      const clone = await openPublishClone(`${server.url}/repo.git`, {
        cacheBase: path.join(root, 'cache'),
        timeoutMs: 2000,
      });
      const started = Date.now();
      await expect(fetchTip(clone, 'main')).rejects.toThrow(
        new RegExp(`^cannot fetch repository ${server.url}/repo.git: git fetch timed out after 2 s`),
      );
      await expect(fetchTip(clone, null)).rejects.toThrow(/git ls-remote timed out after 2 s/);
      const { commit } = await createCommit(clone, null, changesOf({ 'a.yaml': 'a\n' }), {
        message: 'm',
        author: ALICE,
      });
      await expect(pushCommit(clone, commit, 'main', { timeoutMs: 2000 })).rejects.toThrow(
        /git push timed out after 2 s/,
      );
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(server.accepted()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  test.each([
    ['/etc/passwd', 'absolute path'],
    ['../outside.yaml', "path segment '..' leaves the repository"],
    ['a/../../b.yaml', "path segment '..' leaves the repository"],
    ['a//b.yaml', "path segment '' leaves the repository"],
    ['a\\b.yaml', 'backslash in path'],
    ['a\0b.yaml', 'control character in path'],
    ['a\nb.yaml', 'control character in path'],
    ['.git/config', "path segment '.git' is Git's own directory"],
    ['sub/.GIT/hooks/x', "path segment '.git' is Git's own directory"],
    ['', 'empty path'],
  ])('file path %j is refused (%s) before git is asked anything', async (bad, reason) => {
    // A clone that does not exist: the path is refused before any git command could fail on it.
    const nowhere: PublishClone = { gitDir: path.join(root, 'no-such-clone'), repository: path.join(root, 'none') };
    const parent = 'a'.repeat(40);
    await expect(
      createCommit(nowhere, parent, changesOf({ [bad]: 'x' }), { message: 'm', author: ALICE }),
    ).rejects.toThrow(`file path ${JSON.stringify(bad)} is refused: ${reason}`);
    await expect(readFileAt(nowhere, parent, bad)).rejects.toThrow(`file path ${JSON.stringify(bad)} is refused`);
  });

  test('a file where a folder is (or the reverse) is refused, not silently replaced', async () => {
    const { remote } = await makeRemote({ 'a.yaml': 'a: 1\n', 'dir/b.yaml': 'b: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    await expect(
      createCommit(clone, tip, changesOf({ 'a.yaml/inner.yaml': 'x' }), { message: 'm', author: ALICE }),
    ).rejects.toThrow(/would also remove a\.yaml \(a file and a folder of the same name\)/);
    await expect(createCommit(clone, tip, changesOf({ dir: 'x' }), { message: 'm', author: ALICE })).rejects.toThrow(
      /would also remove dir\/b\.yaml/,
    );
  });

  test.each(['bad..name', '-x', '@{-1}', 'a b', 'x.lock', 'HEAD~1', 'a\nb', 'refs/../x'])(
    'branch name %j is refused before the remote is asked',
    async (bad) => {
      const nowhere: PublishClone = {
        gitDir: path.join(root, 'no-such-clone'),
        repository: 'https://127.0.0.1:1/r.git',
      };
      const message = `branch name ${JSON.stringify(bad)} is not a valid Git branch name`;
      await expect(fetchTip(nowhere, bad)).rejects.toThrow(message);
      await expect(pushCommit(nowhere, '0'.repeat(40), bad)).rejects.toThrow(message);
    },
  );

  test('a repository path that is not a repository, and a cache directory that is not a clone, are clear errors', async () => {
    const plain = path.join(root, 'plain');
    await fs.mkdir(plain);
    await expect(openPublishClone(plain, { cacheBase: path.join(root, 'cache') })).rejects.toThrow(
      `${plain} is not a Git repository`,
    );
    await expect(openPublishClone('--upload-pack=touch /tmp/x', {})).rejects.toThrow(/is not a Git URL or path/);
    const { remote } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    rmSync(clone.gitDir, { recursive: true });
    await fs.mkdir(clone.gitDir);
    await expect(openPublishClone(remote, { cacheBase: path.join(root, 'cache') })).rejects.toThrow(
      /exists but is not a bare Git repository/,
    );
  });
});

describe('identities and history', () => {
  test('parseIdentity takes "Name <email>" and refuses anything else', () => {
    expect(parseIdentity('  Alice Ops <alice@example.com> ')).toEqual(ALICE);
    for (const bad of ['alice@example.com', '<a@b>', 'Alice <a b@c>', 'Alice <a@b', 'A <a@b>\nB <b@c>', 'A\0 <a@b>']) {
      expect(() => parseIdentity(bad)).toThrow(`identity ${JSON.stringify(bad)} is not`);
    }
  });

  test('the author comes from the Git configuration (HOME) when not given; none configured is a clear error', async () => {
    const { remote } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const home = path.join(root, 'home');
    await fs.mkdir(home);
    const saved = { home: process.env.HOME, xdg: process.env.XDG_CONFIG_HOME };
    process.env.HOME = home;
    delete process.env.XDG_CONFIG_HOME;
    try {
      await fs.writeFile(path.join(home, '.gitconfig'), '[user]\n\tname = Bob Config\n\temail = bob@example.org\n');
      expect(await defaultIdentity(clone)).toEqual({ name: 'Bob Config', email: 'bob@example.org' });
      expect(await resolveAuthor(clone, undefined)).toEqual({ name: 'Bob Config', email: 'bob@example.org' });
      expect(await resolveAuthor(clone, 'Alice Ops <alice@example.com>')).toEqual(ALICE);
      // Empty values in the user's configuration override any system-wide identity: nothing is configured.
      await fs.writeFile(path.join(home, '.gitconfig'), '[user]\n\tname =\n\temail = bob@example.org\n');
      expect(await defaultIdentity(clone)).toBeNull();
      await expect(resolveAuthor(clone, undefined)).rejects.toThrow(
        /^no author for the commit: give one \("Name <email>"\) or set user\.name and user\.email/,
      );
    } finally {
      if (saved.home === undefined) delete process.env.HOME;
      else process.env.HOME = saved.home;
      if (saved.xdg !== undefined) process.env.XDG_CONFIG_HOME = saved.xdg;
    }
  });

  test('an identity that would forge commit headers is refused', async () => {
    const { remote } = await makeRemote({ 'a.yaml': 'a: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const { tip } = await fetchTip(clone, 'main');
    const author = { name: 'Eve\ncommitter Mallory', email: 'eve@example.com' };
    await expect(createCommit(clone, tip, changesOf({ 'a.yaml': 'x' }), { message: 'm', author })).rejects.toThrow(
      /author .* is not a usable Git identity/,
    );
  });

  test('lastCommitOf names the newest commit that touched a file; commitsBetween lists what came after', async () => {
    const { remote, first } = await makeRemote({ 'a.yaml': 'a: 1\n', 'b.yaml': 'b: 1\n' });
    const clone = await openPublishClone(remote, { cacheBase: path.join(root, 'cache') });
    const editA = await publish(clone, 'main', changesOf({ 'a.yaml': 'a: 2\n' }));
    const editB = await publish(clone, 'main', changesOf({ 'b.yaml': 'b: 2\n' }));
    expect(await lastCommitOf(clone, editB.commit, 'a.yaml')).toEqual({
      commit: editA.commit,
      author: 'Alice Ops <alice@example.com>',
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await lastCommitOf(clone.gitDir, editB.commit, 'b.yaml'))?.commit).toBe(editB.commit);
    expect((await lastCommitOf(clone, editA.commit, 'b.yaml'))?.commit).toBe(first);
    expect(await lastCommitOf(clone, editB.commit, 'never.yaml')).toBeNull();
    // Many paths in one git process: each gets its own newest commit; a path no commit touched is absent.
    const many = await lastCommitsOf(clone, editB.commit, ['a.yaml', 'b.yaml', 'never.yaml']);
    expect([...many].map(([p, c]) => [p, c.commit]).sort()).toEqual(
      [
        ['a.yaml', editA.commit],
        ['b.yaml', editB.commit],
      ].sort(),
    );
    expect((await lastCommitsOf(clone, editA.commit, ['b.yaml'])).get('b.yaml')?.commit).toBe(first);
    expect((await commitsBetween(clone, first, editB.commit)).map((c) => c.commit)).toEqual([
      editB.commit,
      editA.commit,
    ]);
    expect((await commitsBetween(clone, first, editB.commit, 'a.yaml')).map((c) => c.commit)).toEqual([editA.commit]);
  });
});
