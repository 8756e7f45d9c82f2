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
  // Two cores: two workers. Every database test file gets its own database.
  maxWorkers: 2,
  testTimeout: 60000,
};
