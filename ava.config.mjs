// Unit and property tests: every package's src/**/*.test.ts, compiled by `tsc -b` (pretest) into dist/.
// System / interop tests (independent peers: Mosquitto, pymodbus, mbpoll, anvil, PostgreSQL) live in
// hw-test/src/system and run with `npm run test:system` (ava.system.config.mjs); deploy tests (package, image,
// booted systemd) in hw-test/src/deploy with `npm run test:deploy` (ava.deploy.config.mjs).
const packages = ['protocols', 'edge', 'cloud', 'provisioning', 'hw-test', 'bench'];
export default {
  typescript: {
    rewritePaths: Object.fromEntries(packages.map((p) => [`${p}/src/`, `${p}/dist/`])),
    compile: false,
  },
  files: [...packages.map((p) => `${p}/src/**/*.test.ts`), '!hw-test/src/system/**', '!hw-test/src/deploy/**'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
};
