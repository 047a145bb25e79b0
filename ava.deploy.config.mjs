import base from './ava.config.mjs';
// Deploy tests: the Debian package, the image, signed updates and the units booted under systemd-nspawn
// (hw-test/src/deploy). `.ci/run` installs the Debian tools they need; a missing tool fails loudly. Booted tests
// register as skipped, with the reason in their title, only when the probe root cannot boot.
export default {
  ...base,
  files: ['hw-test/src/deploy/**/*.test.ts'],
  timeout: '1200s',
  concurrency: 1,
  serial: true,
};
