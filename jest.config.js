/**
 * Five projects: unit (no I/O), integration (one adapter against its real server), e2e (processes as a user starts them),
 * faults (stops servers of the shared stack: scripts/test.js runs it in its own invocation, --runInBand, after the others),
 * hosts (the stack as hosts in network namespaces, Redis behind Sentinel: needs root and ip; its own stack in .hosts-stack).
 */
const common = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
    // cookie 2 (under fastify's inject, light-my-request) and content-disposition 3 (under @fastify/static, which the
    // reference page and the queue dashboard use) are ESM only, which Node 20.19 requires natively but jest cannot: compile them to CommonJS.
    '/node_modules/(cookie|content-disposition)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(cookie|content-disposition)/)'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], setupFiles: ['<rootDir>/test/setup/trust-stack-ca.ts'], globalSetup: '<rootDir>/test/global-setup.ts', globalTeardown: '<rootDir>/test/global-teardown.ts' },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], setupFiles: ['<rootDir>/test/setup/trust-stack-ca.ts'], globalSetup: '<rootDir>/test/global-setup.ts', globalTeardown: '<rootDir>/test/global-teardown.ts' },
    { ...common, displayName: 'faults', testMatch: ['<rootDir>/test/faults/**/*.test.ts'], setupFiles: ['<rootDir>/test/setup/trust-stack-ca.ts'], globalSetup: '<rootDir>/test/global-setup.ts', globalTeardown: '<rootDir>/test/global-teardown.ts' },
    { ...common, displayName: 'hosts', testMatch: ['<rootDir>/test/hosts/**/*.test.ts'], setupFiles: ['<rootDir>/test/setup/trust-stack-ca.ts'], globalSetup: '<rootDir>/test/hosts/global-setup.ts', globalTeardown: '<rootDir>/test/hosts/global-teardown.ts' },
  ],
  testTimeout: 60000,
  // One worker: files that stop servers of the shared stack must never overlap.
  // scripts/test.js runs each e2e file in a jest process of its own (see there).
  maxWorkers: 1,
};
