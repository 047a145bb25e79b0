import base from './ava.config.mjs';
// Interop / system tests against independent peers. `.ci/run` installs the Debian packages they need;
// a missing peer fails loudly (never skips).
export default {
  ...base,
  files: ['hw-test/src/system/**/*.test.ts'],
  timeout: '600s',
  concurrency: 1,
  serial: true,
};
