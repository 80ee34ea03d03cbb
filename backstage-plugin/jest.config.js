// Plain jest with @swc/jest (the Backstage CLI does not install cleanly with
// npm 11). Integration tests start real servers, hence the longer timeout.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/src/**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } },
    ],
  },
  testTimeout: 30000,
  verbose: false,
};
