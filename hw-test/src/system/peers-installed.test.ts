// The independent peers the interop suite talks to must be installed (`.ci/run` installs them from Debian).
// A missing peer fails here, loudly and by name, instead of the interop tests skipping silently.
import test from 'ava';
import { spawnSync } from 'node:child_process';

const peers: { name: string; cmd: string; args: string[]; expect: RegExp; pkg: string }[] = [
  {
    name: 'mosquitto broker',
    cmd: '/usr/sbin/mosquitto',
    args: ['-h'],
    expect: /mosquitto version \d/,
    pkg: 'mosquitto',
  },
  {
    name: 'mosquitto_sub client',
    cmd: 'mosquitto_sub',
    args: ['--help'],
    expect: /mosquitto_sub/,
    pkg: 'mosquitto-clients',
  },
  { name: 'mbpoll Modbus master', cmd: 'mbpoll', args: ['-V'], expect: /\d+\.\d+/, pkg: 'mbpoll' },
  { name: 'socat (pty pairs)', cmd: 'socat', args: ['-V'], expect: /socat version \d/, pkg: 'socat' },
  { name: 'openssl (test PKI for TLS)', cmd: 'openssl', args: ['version'], expect: /OpenSSL \d/, pkg: 'openssl' },
  {
    name: 'pyserial for pymodbus RTU (system python)',
    cmd: '/usr/bin/python3',
    args: ['-c', 'import serial, serial_asyncio; print("pyserial", serial.VERSION)'],
    expect: /pyserial \d/,
    pkg: 'python3-serial python3-serial-asyncio',
  },
  {
    name: 'pymodbus (Debian, system python)',
    cmd: '/usr/bin/python3',
    args: ['-c', 'import pymodbus; print("pymodbus", pymodbus.__version__)'],
    expect: /pymodbus 3\./,
    pkg: 'python3-pymodbus',
  },
  {
    name: 'PostgreSQL 15 server',
    cmd: '/usr/lib/postgresql/15/bin/postgres',
    args: ['--version'],
    expect: /PostgreSQL\) 15\./,
    pkg: 'postgresql',
  },
  {
    name: 'Chromium (headless, the report screenshot test)',
    cmd: '/usr/bin/chromium',
    args: ['--version'],
    expect: /Chromium \d+\./,
    pkg: 'chromium',
  },
  {
    name: 'Liberation fonts (the report page in Chromium)',
    cmd: 'ls',
    args: ['/usr/share/fonts/truetype/liberation'],
    expect: /LiberationSans-Regular\.ttf/,
    pkg: 'fonts-liberation',
  },
  { name: 'tmux (the commissioning TTY test)', cmd: 'tmux', args: ['-V'], expect: /tmux \d/, pkg: 'tmux' },
  // the deploy suite (`npm run test:deploy`): package, image, signed updates, booted systemd
  {
    name: 'mmdebstrap (image roots)',
    cmd: 'mmdebstrap',
    args: ['--version'],
    expect: /mmdebstrap \d/,
    pkg: 'mmdebstrap',
  },
  {
    name: 'systemd-nspawn (booted unit tests)',
    cmd: 'systemd-nspawn',
    args: ['--version'],
    expect: /systemd \d+/,
    pkg: 'systemd-container',
  },
  {
    name: 'qemu-user-static (arm64 roots)',
    cmd: 'qemu-aarch64-static',
    args: ['--version'],
    expect: /qemu-aarch64 version \d/,
    pkg: 'qemu-user-static',
  },
  {
    name: 'binfmt-support',
    cmd: 'update-binfmts',
    args: ['--version'],
    expect: /binfmt-support \d/,
    pkg: 'binfmt-support',
  },
  { name: 'arch-test', cmd: 'ls', args: ['/usr/bin/arch-test'], expect: /arch-test/, pkg: 'arch-test' },
  {
    name: 'dpkg-dev (dpkg-shlibdeps)',
    cmd: 'dpkg-shlibdeps',
    args: ['--version'],
    expect: /dpkg-shlibdeps/,
    pkg: 'dpkg-dev',
  },
  { name: 'lintian', cmd: 'lintian', args: ['--version'], expect: /Lintian v\d/, pkg: 'lintian' },
  { name: 'minisign (update signatures)', cmd: 'minisign', args: ['-v'], expect: /minisign 0\.\d+/, pkg: 'minisign' },
  { name: 'bmaptool (flashing)', cmd: 'bmaptool', args: ['--version'], expect: /bmaptool \d/, pkg: 'bmap-tools' },
  { name: 'sfdisk (GPT images)', cmd: 'sfdisk', args: ['--version'], expect: /sfdisk from util-linux/, pkg: 'fdisk' },
  { name: 'zstd', cmd: 'zstd', args: ['--version'], expect: /Zstandard CLI/, pkg: 'zstd' },
  {
    name: 'arm64 cross compiler (native addons)',
    cmd: 'aarch64-linux-gnu-g++',
    args: ['--version'],
    expect: /aarch64-linux-gnu-g\+\+/,
    pkg: 'g++-aarch64-linux-gnu',
  },
];

for (const p of peers) {
  test(`${p.name} is installed (Debian package ${p.pkg})`, (t) => {
    const r = spawnSync(p.cmd, p.args, { encoding: 'utf8' });
    t.falsy(r.error, `${p.cmd} cannot run: ${r.error?.message ?? ''} — install the Debian package '${p.pkg}'`);
    t.regex(`${r.stdout}${r.stderr}`, p.expect);
  });
}
