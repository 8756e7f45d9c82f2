/**
 * `hh-sync doctor` honours --connect-timeout (and HH_SYNC_CONNECT_TIMEOUT) like every other command: a
 * database that accepts TCP and never answers fails within that bound, not after the 10 s default.
 */
import { runDoctor } from '../src/cli/doctor-command.js';
import { silentServer } from './helpers/silent-server.js';

function captured() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: (t: string) => void (out.stdout += `${t}\n`), stderr: (t: string) => void (out.stderr += `${t}\n`) },
  };
}

test('doctor against a silent database gives up after --connect-timeout, with one line and exit 3', async () => {
  const silent = await silentServer();
  try {
    const { out, io } = captured();
    const t0 = Date.now();
    const code = await runDoctor(
      { databaseUrl: `postgres://hh@127.0.0.1:${silent.port}/hh`, connectTimeout: '0.3' },
      io,
    );
    expect(code).toBe(3);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(out.stderr.trim().split('\n')).toHaveLength(1);
    expect(out.stderr).toMatch(/no answer within 0.3 s/);
  } finally {
    await silent.close();
  }
});

test('an invalid --connect-timeout is a usage error before any connection', async () => {
  const { out, io } = captured();
  expect(await runDoctor({ databaseUrl: 'postgres://127.0.0.1:1/x', connectTimeout: 'soon' }, io)).toBe(2);
  expect(out.stderr).toMatch(/--connect-timeout "soon": must be a number of seconds/);
});
