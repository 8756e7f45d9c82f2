/** Jest runs the TypeScript tests through ts-jest in ESM mode (NODE_OPTIONS=--experimental-vm-modules). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // tsconfig.json sets isolatedModules, so ts-jest transpiles each file without type-checking it (typecheck does that
  // once, in `npm test`); repeating the option here only earned a deprecation warning per worker.
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  // Three workers on two cores: with two, the test processes kept only about one core busy on average (many tests
  // wait on a server, a timer or a child process they are testing); a third overlaps those waits (7.1 → 6.0 min for
  // the suite in one same-hour comparison, the same CPU time). Every database test file gets its own database.
  maxWorkers: 3,
  // A worker keeps what every ESM test file it ran loaded (its module graph, in a context of its own): by the end of a
  // full run each of the three held 1.6–1.7 GB, took longer than Jest's 500 ms to exit (V8 tearing down that heap on
  // two loaded cores), and was killed — "a worker process has failed to exit gracefully" in every full run, with no
  // handle left open. Replaced once above 700 MB, a worker exits in about 0.3 s, and the suite ran in 432 s, not
  // 475–513 s (the smaller heaps collect faster).
  workerIdleMemoryLimit: '700MB',
  // Even so, with the lint running beside the tests (as CI runs them) one worker still took 632 ms to exit on its
  // own, no handle open. 2 s allows for that; a worker that a leaked handle or timer keeps alive never exits, so it
  // is still killed and the warning still printed.
  workerGracefulExitTimeout: 2000,
  testTimeout: 60000,
};
