/** Limits of one git command: a huge time limit is still a limit (Node's setTimeout fires at once past 2^31-1 ms). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runGit } from '../src/gitops/git-cli.js';

test('a time limit beyond what a timer can hold does not time the command out at once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hh-git-limit-'));
  try {
    // A local "remote" that does not exist: git fails on its own, quickly; it must not be reported as a timeout.
    const err = await runGit(['ls-remote', `file://${dir}/missing.git`], { network: { timeoutMs: 1e12 } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBeDefined();
    expect(err!.message).not.toMatch(/timed out/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
