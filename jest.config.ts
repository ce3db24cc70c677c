import type { Config } from 'jest';

// ESM all the way (got and p-limit are ESM-only): ts-jest's ESM preset, run under
// NODE_OPTIONS=--experimental-vm-modules, with `.js` stripped from relative imports so the
// NodeNext-style specifiers in src/ resolve to the .ts files.
const config: Config = {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testTimeout: 60_000,
};

export default config;
