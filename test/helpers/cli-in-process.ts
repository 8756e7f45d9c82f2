/**
 * hh-sync driven in this process (no spawn: a CLI start costs seconds on a loaded machine), its stdout and
 * stderr captured so nothing reaches the test runner's output. For what only a real process shows (its exit,
 * a hang, signals) use the spawned runner in ./cli.ts.
 */
import { jest } from '@jest/globals';
import { main } from '../../src/cli/main.js';

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

export async function hh(args: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
