#!/usr/bin/env node
// Builds the Debian package `lightnode` (issue 14, item 3):
//   npm run package:deb [-- --arch amd64|arm64] [--seq N] [--compress xz|zstd|none]
// → out/deb/lightnode_<version>_<arch>.deb, by `dpkg-deb --root-owner-group` from a tree staged in
// out/cache/stage-<arch>/. Progress on stderr; the path of the .deb on stdout.
//
// The factory release /usr/lib/lightnode/releases/<version>/ is self-contained: release.json, bin/lightnode,
// node/bin/node (Node from the npm package node-linux-<x64|arm64>, stripped) and app/ (bin/lightnode.mjs and
// @lightnode/{protocols,edge,provisioning} with their production dependencies only). The dependencies are copied
// from this repository's node_modules (the versions package-lock.json installed and the tests ran), walking the
// `dependencies` / `optionalDependencies` / non-optional `peerDependencies` of the three workspaces with Node's
// resolution; native addons are rebuilt for the target Node's ABI against its bundled headers (node-gyp
// `--nodedir`), arm64 with Debian's g++-aarch64-linux-gnu. Caches in out/cache/: the Node tarballs (npm pack), the
// stripped Node binaries and the built addons (keyed by addon version, Node version and arch).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { LightNodeError, flagChoice, flagInt, parseFlags } from '@lightnode/protocols';

const NODE_VERSION = '24.22.3';
const WORKSPACES = ['protocols', 'edge', 'provisioning'];
/** Addons compiled from source for the target (their npm packages ship no prebuild we can use). */
const GYP_ADDONS = { 'better-sqlite3': 'better_sqlite3.node', 'unix-dgram': 'unix_dgram.node' };
/** Addons whose npm package ships prebuilds per platform (prebuildify layout): keep the target's only. */
const PREBUILT_ADDONS = ['@serialport/bindings-cpp'];
/**
 * Dependencies that are used only to install or build (never loaded at run time), left out with their subtrees:
 * better-sqlite3's prebuild downloader, the addon headers (the addons are built from the repository's copy), and
 * type declarations.
 */
const BUILD_ONLY = [/^prebuild-install$/, /^node-addon-api$/, /^nan$/, /^@types\//];
const ARCHES = {
  amd64: { npm: 'x64', gyp: 'x64', strip: 'strip', env: {} },
  arm64: {
    npm: 'arm64',
    gyp: 'arm64',
    strip: 'aarch64-linux-gnu-strip',
    env: {
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
      CC_host: 'gcc',
      CXX_host: 'g++',
    },
  },
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const here = join(root, 'deploy', 'package');
const cache = join(root, 'out', 'cache');
const t0 = Date.now();
const say = (msg) => process.stderr.write(`[package:deb ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

const USAGE = `Usage: npm run package:deb [-- --arch amd64|arm64] [--seq N] [--compress xz|zstd|none]

Builds out/deb/lightnode_<version>_<arch>.deb (default arch: this machine's; default seq: git rev-list --count HEAD;
default compression: zstd).`;

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? root,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', opts.quiet ? 'pipe' : 'inherit'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (is it installed?)`);
  if (r.status !== 0) {
    const tail = opts.quiet && r.stderr ? `\n${r.stderr.split('\n').slice(-30).join('\n')}` : '';
    throw new Error(`'${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})${tail}`);
  }
  return r.stdout ?? '';
}
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

/** Node 24 for the target, from the npm package node-linux-<arch>: the tarball and its extraction cached. */
function nodeFor(arch) {
  const npmArch = ARCHES[arch].npm;
  const dir = join(cache, 'node');
  mkdirSync(dir, { recursive: true });
  const tgz = join(dir, `node-linux-${npmArch}-${NODE_VERSION}.tgz`);
  if (!existsSync(tgz)) {
    say(`npm pack node-linux-${npmArch}@${NODE_VERSION} (~50 MB)`);
    run('npm', ['pack', '--silent', `node-linux-${npmArch}@${NODE_VERSION}`], { cwd: dir, capture: true });
  }
  const x = join(dir, `${arch}-${NODE_VERSION}`);
  if (!existsSync(join(x, 'package', 'include', 'node', 'node.h'))) {
    rmSync(x, { recursive: true, force: true });
    mkdirSync(x);
    run('tar', ['-xzf', tgz, '-C', x]);
  }
  const stripped = join(dir, `node-${arch}-${NODE_VERSION}.stripped`);
  if (!existsSync(stripped)) {
    say(`strip node (${arch})`);
    run(ARCHES[arch].strip, ['--strip-all', '-o', `${stripped}.tmp`, join(x, 'package', 'bin', 'node')]);
    renameSync(`${stripped}.tmp`, stripped);
  }
  return { nodedir: join(x, 'package'), binary: stripped, license: join(x, 'package', 'LICENSE') };
}

/** Node's resolution of package `name` from the package directory `fromDir` (up to the repository root). */
function resolvePackage(name, fromDir) {
  for (let d = fromDir; ; d = dirname(d)) {
    const c = join(d, 'node_modules', name);
    if (existsSync(join(c, 'package.json'))) return c;
    if (d === root || d === dirname(d)) return undefined;
  }
}

/**
 * The production dependency closure of the workspaces: repository-relative directory → where it goes under app/
 * (a workspace's own node_modules/x lands under app/node_modules/@lightnode/<ws>/node_modules/x).
 */
function productionClosure() {
  const found = new Map();
  const queue = [];
  const add = (name, fromDir, optional) => {
    if (BUILD_ONLY.some((re) => re.test(name))) return;
    const d = resolvePackage(name, fromDir);
    if (!d) {
      if (optional) return;
      throw new Error(`production dependency '${name}' of ${relative(root, fromDir) || '.'} is not installed`);
    }
    const rel = relative(root, d);
    if (found.has(rel)) return;
    let dest = rel;
    for (const ws of WORKSPACES) {
      if (rel.startsWith(`${ws}/node_modules/`))
        dest = join('node_modules', '@lightnode', ws, rel.slice(ws.length + 1));
    }
    if (!dest.startsWith('node_modules/')) throw new Error(`unexpected location of a dependency: ${rel}`);
    found.set(rel, dest);
    queue.push(d);
  };
  const depsOf = (dir, pkg) => {
    for (const n of Object.keys(pkg.dependencies ?? {})) if (!n.startsWith('@lightnode/')) add(n, dir, false);
    for (const n of Object.keys(pkg.optionalDependencies ?? {})) add(n, dir, true);
    // peers: npm installs the required ones; an absent peer is the package's own choice (e.g. ws's bufferutil)
    for (const n of Object.keys(pkg.peerDependencies ?? {})) add(n, dir, true);
  };
  for (const ws of WORKSPACES) depsOf(join(root, ws), readJson(join(root, ws, 'package.json')));
  while (queue.length) {
    const d = queue.shift();
    depsOf(d, readJson(join(d, 'package.json')));
  }
  return found;
}

/** Files of a workspace that the app needs: package.json and dist/ without tests, test fakes, maps and typings. */
function keepDistFile(src) {
  const base = src.split('/').pop();
  if (statSync(src).isDirectory()) return base !== 'testing';
  return !/\.test\.js$|\.d\.ts$|\.map$|\.tsbuildinfo$/.test(base);
}

/** Junk in npm packages that a device does not need (docs, TypeScript sources and maps, test suites). */
function keepDepFile(src, pkgDir) {
  const rel = relative(pkgDir, src);
  if (rel === '') return true;
  const base = rel.split('/').pop();
  if (rel.split('/')[0] === 'node_modules') return false; // nested dependencies are copied as their own entries
  if (statSync(src).isDirectory())
    return !(rel === base && ['.github', 'test', 'tests', '__tests__', '.vscode', 'benchmark', 'docs'].includes(base));
  if (/^(LICEN[CS]E|COPYING|NOTICE)/i.test(base)) return true;
  if (/\.(md|markdown|map|ts|mts|cts|tsbuildinfo)$/i.test(base)) return false;
  return !/^\.(npmignore|eslintrc.*|prettierrc.*|travis\.yml|editorconfig|gitattributes)$/.test(base);
}

/** Builds (or takes from the cache) a node-gyp addon for the target; returns the .node file. */
function buildAddon(name, stagedDir, arch, nodedir) {
  const version = readJson(join(stagedDir, 'package.json')).version;
  const cached = join(
    cache,
    'addons',
    `${arch}-node${NODE_VERSION}`,
    `${name.replace('/', '+')}@${version}`,
    GYP_ADDONS[name],
  );
  if (!existsSync(cached)) {
    const started = Date.now();
    say(`node-gyp rebuild ${name}@${version} for ${arch} against Node ${NODE_VERSION}'s headers`);
    const nodeGyp = join(
      dirname(dirname(run('which', ['npm'], { capture: true }).trim())),
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    );
    const gyp = existsSync(nodeGyp) ? nodeGyp : '/usr/share/nodejs/npm/node_modules/node-gyp/bin/node-gyp.js';
    run('node', [gyp, 'rebuild', `--nodedir=${nodedir}`, `--arch=${ARCHES[arch].gyp}`, '--jobs=2'], {
      cwd: stagedDir,
      env: { ...ARCHES[arch].env, npm_config_nodedir: nodedir },
      quiet: true,
    });
    const built = join(stagedDir, 'build', 'Release', GYP_ADDONS[name]);
    mkdirSync(dirname(cached), { recursive: true });
    run(ARCHES[arch].strip, ['--strip-unneeded', '-o', `${cached}.tmp`, built]);
    renameSync(`${cached}.tmp`, cached);
    say(`${name} built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } else say(`${name}@${version} (${arch}) from out/cache/addons`);
  return cached;
}

/** Debian Depends from the ELF files' needed libraries and symbol versions (readelf works for every arch). */
function shlibDepends(elfFiles) {
  // GLIBCXX_3.4.N → the GCC release of Debian's libstdc++6 that introduced it (libstdc++6's symbols file)
  const gxx = { 21: '5', 22: '6', 23: '7', 24: '7', 25: '8', 26: '9', 27: '9', 28: '10', 29: '11', 30: '12', 31: '13' };
  const libc = new Set([
    'libc.so.6',
    'libm.so.6',
    'libdl.so.2',
    'libpthread.so.0',
    'librt.so.1',
    'ld-linux-x86-64.so.2',
    'ld-linux-aarch64.so.1',
  ]);
  let glibc = [2, 17];
  let glibcxx = 0;
  let gccS = false;
  let cxx = false;
  const cmp = (a, b) => a[0] - b[0] || (a[1] ?? 0) - (b[1] ?? 0);
  for (const f of elfFiles) {
    const dyn = run('readelf', ['-d', '-V', '--wide', f], { capture: true });
    for (const m of dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
      const lib = m[1];
      if (lib === 'libstdc++.so.6') cxx = true;
      else if (lib === 'libgcc_s.so.1') gccS = true;
      else if (!libc.has(lib)) throw new Error(`${relative(root, f)} needs ${lib}: add its Debian package to Depends`);
    }
    for (const m of dyn.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)) {
      const v = [Number(m[1]), Number(m[2])];
      if (cmp(v, glibc) > 0) glibc = v;
    }
    for (const m of dyn.matchAll(/Name: GLIBCXX_3\.4\.(\d+)/g)) glibcxx = Math.max(glibcxx, Number(m[1]));
  }
  const deps = [`libc6 (>= ${glibc.join('.')})`];
  if (gccS) deps.push('libgcc-s1 (>= 3.0)');
  if (cxx) {
    const v = gxx[glibcxx];
    if (glibcxx > 31) throw new Error(`GLIBCXX_3.4.${glibcxx}: extend the table in shlibDepends`);
    deps.push(v ? `libstdc++6 (>= ${v})` : 'libstdc++6');
  }
  return deps;
}

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}
const isElf = (p) => {
  const b = readFileSync(p).subarray(0, 4);
  return b.length === 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
};
const elfMachine = (p) => readFileSync(p).readUInt16LE(18); // e_machine: 62 x86-64, 183 aarch64

function fill(template, vars) {
  return readFileSync(join(here, template), 'utf8').replace(/@([A-Z_]+)@/g, (m, k) => {
    if (!(k in vars)) throw new Error(`${template}: no value for ${m}`);
    return vars[k];
  });
}

async function main(argv) {
  const p = parseFlags(
    argv,
    { arch: { type: 'string' }, seq: { type: 'string' }, compress: { type: 'string' } },
    USAGE,
    false,
  );
  const hostArch = run('dpkg', ['--print-architecture'], { capture: true }).trim();
  const arch = flagChoice(p, 'arch', USAGE, ['amd64', 'arm64']) ?? hostArch;
  if (!(arch in ARCHES))
    throw new LightNodeError('USAGE', `--arch: this machine is ${hostArch}: pass --arch amd64|arm64\n\n${USAGE}`, {});
  const compress = flagChoice(p, 'compress', USAGE, ['xz', 'zstd', 'none']) ?? 'zstd';
  const seq =
    flagInt(p, 'seq', USAGE, 0, 2 ** 31) ??
    Number(run('git', ['rev-list', '--count', 'HEAD'], { capture: true }).trim());
  const version = readJson(join(root, 'package.json')).version;
  const gitRev = run('git', ['rev-parse', '--short=12', 'HEAD'], { capture: true }).trim();
  const dirty = run('git', ['status', '--porcelain'], { capture: true }).trim() !== '';
  say(
    `lightnode ${version} ${arch} seq=${seq} (git ${gitRev}${dirty ? ', uncommitted changes' : ''}), Node ${NODE_VERSION}`,
  );
  for (const ws of WORKSPACES) {
    if (!existsSync(join(root, ws, 'dist', 'cli.js')))
      throw new Error(`${ws}/dist/cli.js is missing: run 'npx tsc -b' first`);
  }

  const node = nodeFor(arch);
  const stage = join(cache, `stage-${arch}`);
  rmSync(stage, { recursive: true, force: true });
  const rel = join(stage, 'usr', 'lib', 'lightnode', 'releases', version);
  const app = join(rel, 'app');
  mkdirSync(join(rel, 'bin'), { recursive: true });
  mkdirSync(join(rel, 'node', 'bin'), { recursive: true });
  mkdirSync(join(app, 'bin'), { recursive: true });

  // release: release.json, bin/lightnode, node
  writeFileSync(
    join(rel, 'release.json'),
    JSON.stringify({ name: 'lightnode', version, arch, seq, node: NODE_VERSION }, null, 2) + '\n',
  );
  copyFileSync(join(here, 'files', 'release-lightnode'), join(rel, 'bin', 'lightnode'));
  chmodSync(join(rel, 'bin', 'lightnode'), 0o755);
  copyFileSync(node.binary, join(rel, 'node', 'bin', 'node'));
  chmodSync(join(rel, 'node', 'bin', 'node'), 0o755);
  copyFileSync(node.license, join(rel, 'node', 'LICENSE'));

  // app: the dispatcher, the workspaces' dist, the production dependencies
  say('app: workspaces and production dependencies');
  // without its '#!/usr/bin/env node' line: the release runs it with its own node/bin/node, never a system nodejs
  const dispatcher = readFileSync(join(root, 'bin', 'lightnode.mjs'), 'utf8').replace(/^#!.*\n/, '');
  writeFileSync(join(app, 'bin', 'lightnode.mjs'), dispatcher);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'lightnode-app', version, private: true, type: 'module' }, null, 2) + '\n',
  );
  for (const ws of WORKSPACES) {
    const dest = join(app, 'node_modules', '@lightnode', ws);
    mkdirSync(dest, { recursive: true });
    const pkg = readJson(join(root, ws, 'package.json'));
    delete pkg.devDependencies;
    writeFileSync(join(dest, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
    cpSync(join(root, ws, 'dist'), join(dest, 'dist'), { recursive: true, filter: keepDistFile });
  }
  const closure = productionClosure();
  for (const [src, dest] of closure) {
    const from = join(root, src);
    cpSync(from, join(app, dest), { recursive: true, filter: (s) => keepDepFile(s, from) });
  }
  say(
    `${closure.size} production dependencies: ${[...closure.values()]
      .map((d) => d.replace(/^.*node_modules\//, ''))
      .sort()
      .join(' ')}`,
  );

  // native addons for the target
  for (const name of Object.keys(GYP_ADDONS)) {
    const entry = [...closure.entries()].find(([src]) => src === `node_modules/${name}`);
    if (!entry) throw new Error(`${name} is not among the production dependencies any more: update GYP_ADDONS`);
    const dir = join(app, entry[1]);
    // build from pristine sources (not the staged copy, which has had its docs pruned)
    const buildDir = join(cache, `gyp-${arch}`, name);
    rmSync(buildDir, { recursive: true, force: true });
    mkdirSync(dirname(buildDir), { recursive: true });
    cpSync(join(root, entry[0]), buildDir, {
      recursive: true,
      filter: (s) => !relative(join(root, entry[0]), s).startsWith('build'),
    });
    // unix-dgram's binding.gyp asks node for nan's include dir: resolve it from the repository
    const nodeModulesLink = join(dirname(buildDir), 'node_modules');
    if (!existsSync(nodeModulesLink)) run('ln', ['-s', join(root, 'node_modules'), nodeModulesLink]);
    const built = buildAddon(name, buildDir, arch, node.nodedir);
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    for (const d of ['src', 'deps', 'binding.gyp']) rmSync(join(dir, d), { recursive: true, force: true });
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    copyFileSync(built, join(dir, 'build', 'Release', GYP_ADDONS[name]));
    chmodSync(join(dir, 'build', 'Release', GYP_ADDONS[name]), 0o644); // a shared object, loaded, not executed
  }
  for (const name of PREBUILT_ADDONS) {
    const entry = [...closure.entries()].find(([src]) => src === `node_modules/${name}`);
    if (!entry) throw new Error(`${name} is not among the production dependencies any more: update PREBUILT_ADDONS`);
    const dir = join(app, entry[1]);
    const keep = `linux-${ARCHES[arch].npm}`;
    for (const d of readdirSync(join(dir, 'prebuilds')))
      if (d !== keep) rmSync(join(dir, 'prebuilds', d), { recursive: true });
    for (const d of ['build', 'src', 'binding.gyp']) rmSync(join(dir, d), { recursive: true, force: true });
    // musl builds are for Alpine; this package targets Debian's glibc
    for (const f of readdirSync(join(dir, 'prebuilds', keep)))
      if (f.includes('.musl.')) rmSync(join(dir, 'prebuilds', keep, f));
  }
  const machine = arch === 'amd64' ? 62 : 183;
  const elves = walk(rel).filter(isElf);
  for (const f of elves) {
    if (elfMachine(f) !== machine)
      throw new Error(`${relative(stage, f)} is not a ${arch} binary: a native addon not rebuilt?`);
  }
  say(`ELF files for ${arch}: ${elves.map((f) => relative(rel, f)).join(', ')}`);

  // the system side: /usr/bin/lightnode, units, udev, sysusers, conffiles, docs
  const sysInstall = (src, destDir, mode = 0o644, name) => {
    mkdirSync(join(stage, destDir), { recursive: true });
    const dest = join(stage, destDir, name ?? src.split('/').pop());
    copyFileSync(src, dest);
    chmodSync(dest, mode);
  };
  sysInstall(join(here, 'files', 'lightnode'), 'usr/bin', 0o755);
  const listDir = (d) =>
    existsSync(join(root, d))
      ? readdirSync(join(root, d))
          .filter((f) => !f.startsWith('.'))
          .sort()
      : [];
  const units = listDir('deploy/systemd');
  for (const u of units) sysInstall(join(root, 'deploy/systemd', u), 'lib/systemd/system');
  for (const r of listDir('deploy/udev')) sysInstall(join(root, 'deploy/udev', r), 'lib/udev/rules.d');
  for (const s of listDir('deploy/sysusers')) sysInstall(join(root, 'deploy/sysusers', s), 'usr/lib/sysusers.d');
  sysInstall(join(here, 'files', 'update.json'), 'etc/lightnode');
  sysInstall(join(here, 'files', 'update-keys.pub'), 'etc/lightnode');
  const doc = 'usr/share/doc/lightnode';
  sysInstall(join(here, 'debian', 'copyright'), doc);
  sysInstall(join(root, 'deploy', 'README.md'), doc);
  const date = run('date', ['-R', '-u'], { capture: true }).trim();
  const vars = {
    VERSION: version,
    SEQ: String(seq),
    GIT: gitRev + (dirty ? '+dirty' : ''),
    NODE: NODE_VERSION,
    DATE: date,
  };
  writeFileSync(join(stage, doc, 'changelog.gz'), gzipSync(fill('debian/changelog', vars), { level: 9 }));
  sysInstall(join(here, 'debian', 'lintian-overrides'), 'usr/share/lintian/overrides', 0o644, 'lightnode');
  mkdirSync(join(stage, 'usr/share/man/man1'), { recursive: true });
  writeFileSync(
    join(stage, 'usr/share/man/man1/lightnode.1.gz'),
    gzipSync(readFileSync(join(here, 'files', 'lightnode.1')), { level: 9 }),
  );

  // DEBIAN/: control, maintainer scripts, conffiles, md5sums
  const enableUnits = units.filter((u) => /^\[Install\]/m.test(readFileSync(join(root, 'deploy/systemd', u), 'utf8')));
  const dd = join(stage, 'DEBIAN');
  mkdirSync(dd);
  const scriptVars = {
    ...vars,
    UNITS: enableUnits.join(' '),
    ALL_UNITS: units.filter((u) => !u.includes('@')).join(' '),
  };
  for (const s of ['postinst', 'prerm', 'postrm']) {
    writeFileSync(join(dd, s), fill(`debian/${s}`, scriptVars));
    chmodSync(join(dd, s), 0o755);
  }
  writeFileSync(join(dd, 'conffiles'), '/etc/lightnode/update-keys.pub\n/etc/lightnode/update.json\n');
  const files = walk(stage).filter((f) => !f.startsWith(dd + '/'));
  writeFileSync(
    join(dd, 'md5sums'),
    files.map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${relative(stage, f)}\n`).join(''),
  );
  const installedKb = Math.ceil(files.reduce((n, f) => n + statSync(f).size, 0) / 1024);
  const depends = ['systemd', 'udev', ...shlibDepends(elves)];
  writeFileSync(
    join(dd, 'control'),
    [
      'Package: lightnode',
      `Version: ${version}`,
      `Architecture: ${arch}`,
      'Maintainer: Light Node maintainers <maintainers@lightnode.invalid>',
      `Installed-Size: ${installedKb}`,
      `Depends: ${depends.join(', ')}`,
      'Section: net',
      'Priority: optional',
      'Homepage: https://lightnode.invalid/',
      `Description: Light Node device agent with its own Node.js ${NODE_VERSION}`,
      " Reads the customer's smart meter (Chain 2, Modbus RTU/TCP), signs every",
      ' measurement with the device key, buffers it on local storage and forwards it',
      ' over MQTT; drives the battery from signed setpoints. Runs under systemd with a',
      ' watchdog and applies signed application updates with automatic rollback.',
      ' .',
      ` Self-contained: the release in /usr/lib/lightnode/releases/${version}/ carries its`,
      ' own Node.js runtime and npm dependencies (git ' + gitRev + (dirty ? '+dirty' : '') + `, seq ${seq}).`,
      '',
    ].join('\n'),
  );

  // dpkg-deb
  const outDir = join(root, 'out', 'deb');
  mkdirSync(outDir, { recursive: true });
  const deb = join(outDir, `lightnode_${version}_${arch}.deb`);
  const started = Date.now();
  say(`dpkg-deb --build -Z${compress} (installed size ${(installedKb / 1024).toFixed(0)} MB)`);
  // zstd -9: measured on the 2-core build machine for the amd64 tree (116 MB): zstd -3 3.6 s / 41.7 MB, zstd -9
  // 6.9 s / 37.3 MB, zstd -19 176 s / 32.5 MB, xz -1 45 s / 34.6 MB, xz -6 190 s / 29.7 MB (machine shared, busy). The .deb goes into images and factory
  // installs, not over cellular (updates are bundles), so build time wins over the last 8 MB.
  const level = compress === 'xz' ? ['-z6'] : compress === 'zstd' ? ['-z9'] : [];
  run('dpkg-deb', ['--root-owner-group', `-Z${compress}`, ...level, '--build', stage, `${deb}.tmp`], { capture: true });
  renameSync(`${deb}.tmp`, deb);
  const size = statSync(deb).size;
  say(
    `${relative(root, deb)}: ${(size / 1e6).toFixed(1)} MB, dpkg-deb ${((Date.now() - started) / 1000).toFixed(1)} s, total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  process.stdout.write(deb + '\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`package:deb: ${e.message}\n`);
    process.exitCode = e.code === 'USAGE' ? 2 : 1;
  },
);
