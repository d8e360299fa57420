/**
 * Jest runs the TypeScript sources directly (ts-jest); `npm run build` type-checks everything.
 * Run through `make test` / `npm test`: they set NODE_OPTIONS=--experimental-vm-modules, which
 * the OTLP exporter needs inside jest (it loads `http` with a dynamic import).
 */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 20000,
  reporters: ['default', '<rootDir>/test/support/summaryReporter.js'],
};
