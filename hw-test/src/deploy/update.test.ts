/**
 * Signed updates through the real CLI (`lightnode update … --root DIR`) on a synthetic release tree (release.json, a
 * sh `bin/lightnode`, a few MB of files), with Debian's minisign as the independent peer: every refusal exits 1 with
 * its code and the file named and leaves `current` (and its files) unchanged; a delta applies to its base only;
 * `update sign` output passes `minisign -Vm` and a `minisign -S` signature passes `update verify`; kill -9 at random
 * moments of `apply --root` never leaves `current` on a partial tree; confirm / rollback / hooks with SERVICE_RESULT.
 * Keys are made at test time (`minisign -G -W`), never committed.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  bundleOf,
  packBundle,
  parseBundle,
  parseSecretKey,
  payloadEntries,
  readTar,
  scanTree,
  sha256Hex,
  signDetached,
  treeDigest,
  trustedCommentOf,
  writeTar,
} from '@lightnode/provisioning';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(repo, 'bin/lightnode.mjs');

function need(tool: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${tool}`]);
  if (r.status !== 0) throw new Error(`${tool} is not installed (apt-get install ${tool}): the deploy tests need it`);
}
need('minisign');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function ln(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const json = (r: Run): any => JSON.parse(r.stdout);

function minisign(args: string[]): Run {
  const r = spawnSync('minisign', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A synthetic release tree: `mb` MB of files in `files` files, a shared seed for the unchanged ones. */
function makeRelease(
  dir: string,
  o: { version: string; seq: number; arch?: string; src?: string; mb?: number; files?: number; blobs?: Buffer[] },
): void {
  // `files` small modules (a node_modules-like tree: many files, each fsynced at extraction)
  for (let i = 0; i < (o.files ?? 0); i++) {
    const d = join(dir, `app/node_modules/pkg-${i % 20}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `m${i}.js`), `export const m${i} = ${JSON.stringify(i.toString(36).repeat(200))};\n`);
  }
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'app/node_modules/dep/lib'), { recursive: true });
  mkdirSync(join(dir, 'node/bin'), { recursive: true });
  writeFileSync(
    join(dir, 'release.json'),
    JSON.stringify({ name: 'lightnode', version: o.version, arch: o.arch ?? 'amd64', seq: o.seq, node: '24.22.3' }) +
      '\n',
  );
  writeFileSync(join(dir, 'bin/lightnode'), `#!/bin/sh\necho lightnode ${o.version}\n`);
  chmodSync(join(dir, 'bin/lightnode'), 0o755);
  writeFileSync(join(dir, 'app/main.js'), `export const source = ${JSON.stringify(o.src ?? 'one')};\n`);
  (o.blobs ?? []).forEach((b, i) => writeFileSync(join(dir, `app/node_modules/dep/lib/blob-${i}.bin`), b));
  writeFileSync(join(dir, 'node/bin/node'), o.blobs?.[0] ?? Buffer.from('node'));
  chmodSync(join(dir, 'node/bin/node'), 0o755);
  spawnSync('ln', ['-s', '../app/main.js', join(dir, 'bin/main.js')]);
}
const blobs = (mb: number, n: number): Buffer[] =>
  Array.from({ length: n }, () => randomBytes(Math.ceil((mb * 1024 * 1024) / n)));

interface Bench {
  dir: string;
  root: string;
  key: string;
  pub: string;
  blobs: Buffer[];
  /** packs and signs (update sign) a release; returns the bundle path */
  bundle(name: string, o: Parameters<typeof makeRelease>[1], base?: string): string;
}

/**
 * A test directory with a minisign key, a factory release 1.0.0 under `root` and a bundle maker. Bundles are packed
 * and signed in-process by the library the CLI runs (`packBundle`, `signDetached`): the CLI's own `update pack` and
 * `update sign` are exercised by the interop test, so the other tests do not pay two node starts per bundle.
 */
function bench(t: { teardown(fn: () => void): void }, mb = 2, files = 0): Bench {
  const dir = mkdtempSync(join(tmpdir(), 'ln-deploy-update-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, 'test.key');
  const pub = join(dir, 'test.pub');
  const g = minisign(['-G', '-W', '-p', pub, '-s', key]);
  if (g.code !== 0) throw new Error(`minisign -G -W: ${g.stderr}`);
  const root = join(dir, 'root');
  const bs = blobs(mb, 4);
  const sk = (): ReturnType<typeof parseSecretKey> => parseSecretKey(readFileSync(key, 'utf8'));
  makeRelease(join(root, 'usr/lib/lightnode/releases/1.0.0'), { version: '1.0.0', seq: 1, blobs: bs, files });
  mkdirSync(join(root, 'etc/lightnode'), { recursive: true });
  writeFileSync(join(root, 'etc/lightnode/update-keys.pub'), readFileSync(pub));
  writeFileSync(join(root, 'etc/lightnode/update.json'), '{"confirmAfterS": 0}\n');
  return {
    dir,
    root,
    key,
    pub,
    blobs: bs,
    bundle(name, o, base) {
      const rel = join(dir, `tree-${name}`);
      makeRelease(rel, { blobs: bs, files, ...o });
      const out = join(dir, name);
      const p = packBundle(rel, base ? { bytes: readFileSync(base), file: base } : undefined);
      writeFileSync(out, p.bundle);
      writeFileSync(`${out}.minisig`, signDetached(p.bundle, sk(), trustedCommentOf(p.manifest.release)));
      rmSync(rel, { recursive: true, force: true });
      return out;
    },
  };
}

const sw = (root: string): string => join(root, 'var/lib/lightnode-sw');
/** Where `current` points and the digest of the tree there (what must not change on a refusal). */
function currentView(root: string): { link: string | null; digest: string; version: string } {
  const link = existsSync(join(sw(root), 'current')) ? readlinkSync(join(sw(root), 'current')) : null;
  const dir = link ? resolve(sw(root), link) : join(root, 'usr/lib/lightnode/releases/1.0.0');
  const rel = JSON.parse(readFileSync(join(dir, 'release.json'), 'utf8'));
  return { link, digest: treeDigest(scanTree(dir)), version: rel.version };
}

/** Re-signs bytes with the bench's key under the manifest's trusted comment (a validly signed bad bundle). */
function writeSigned(b: Bench, file: string, bytes: Buffer, tc: string): void {
  writeFileSync(file, bytes);
  writeFileSync(`${file}.minisig`, signDetached(bytes, parseSecretKey(readFileSync(b.key, 'utf8')), tc));
}

test('every apply --root refusal exits 1 with its code, names the file, and leaves current unchanged', (t) => {
  const b = bench(t);
  const full1 = b.bundle('full-1.0.0.lnb', { version: '1.0.0', seq: 1 });
  const good = b.bundle('full-1.1.0.lnb', { version: '1.1.0', seq: 2, src: 'two' });
  t.is(ln(['update', 'apply', good, '--root', b.root]).code, 0);
  t.is(ln(['update', 'confirm', '--root', b.root]).code, 0);
  const before = currentView(b.root);
  t.is(before.version, '1.1.0');
  const tc = (v: string, seq: number, arch = 'amd64'): string => `lightnode ${v} ${arch} seq=${seq}`;
  const next = b.bundle('next.lnb', { version: '1.2.0', seq: 3, src: 'three' });
  const nextBytes = readFileSync(next);

  const cases: { name: string; code: string; file: () => string }[] = [
    {
      name: 'missing signature',
      code: 'UPDATE_SIGNATURE_INVALID',
      file: () => {
        const f = join(b.dir, 'nosig.lnb');
        writeFileSync(f, nextBytes);
        return f;
      },
    },
    {
      name: 'malformed signature',
      code: 'UPDATE_SIGNATURE_INVALID',
      file: () => {
        const f = join(b.dir, 'malformed.lnb');
        writeFileSync(f, nextBytes);
        writeFileSync(`${f}.minisig`, 'untrusted comment: x\nAAAA\n');
        return f;
      },
    },
    {
      name: 'untrusted key',
      code: 'UPDATE_SIGNATURE_INVALID',
      file: () => {
        const f = join(b.dir, 'untrusted.lnb');
        writeFileSync(f, nextBytes);
        const k = join(b.dir, 'other.key');
        minisign(['-G', '-W', '-p', join(b.dir, 'other.pub'), '-s', k]);
        t.is(minisign(['-S', '-s', k, '-m', f, '-t', tc('1.2.0', 3)]).code, 0);
        return f;
      },
    },
    {
      name: 'bad signature (another bundle’s)',
      code: 'UPDATE_SIGNATURE_INVALID',
      file: () => {
        const f = join(b.dir, 'badsig.lnb');
        writeFileSync(f, nextBytes);
        writeFileSync(`${f}.minisig`, readFileSync(`${good}.minisig`));
        return f;
      },
    },
    {
      name: 'truncated',
      code: 'UPDATE_BUNDLE_INVALID',
      file: () => {
        const f = join(b.dir, 'truncated.lnb');
        writeFileSync(f, nextBytes.subarray(0, Math.floor(nextBytes.length / 2)));
        writeFileSync(`${f}.minisig`, readFileSync(`${next}.minisig`));
        return f;
      },
    },
    {
      name: 'payload hash mismatch (validly signed)',
      code: 'UPDATE_BUNDLE_INVALID',
      file: () => {
        const pb = parseBundle(nextBytes, next);
        const bad = bundleOf(
          { ...pb.manifest, payload: { ...pb.manifest.payload, sha256: '0'.repeat(64) } },
          pb.payload,
        );
        const f = join(b.dir, 'hash.lnb');
        writeSigned(b, f, bad, tc('1.2.0', 3));
        return f;
      },
    },
    {
      name: 'no bin/lightnode (validly signed)',
      code: 'UPDATE_BUNDLE_INVALID',
      file: () => {
        const pb = parseBundle(nextBytes, next);
        const entries = payloadEntries(pb, next).filter((e) => e.path !== 'bin/lightnode');
        const payload = gzipSync(writeTar(entries));
        const m = {
          ...pb.manifest,
          payload: { ...pb.manifest.payload, sha256: sha256Hex(payload), bytes: payload.length },
          files: entries.length,
        };
        const f = join(b.dir, 'nobin.lnb');
        writeSigned(b, f, bundleOf(m, payload), tc('1.2.0', 3));
        return f;
      },
    },
    {
      name: 'wrong arch',
      code: 'UPDATE_ARCH_MISMATCH',
      file: () => b.bundle('arm64.lnb', { version: '1.2.0', seq: 3, arch: 'arm64' }),
    },
    { name: 'downgrade', code: 'UPDATE_DOWNGRADE', file: () => full1 },
    {
      name: 'same seq',
      code: 'UPDATE_DOWNGRADE',
      file: () => b.bundle('same.lnb', { version: '1.1.1', seq: 2 }),
    },
    {
      name: 'delta onto another base',
      code: 'UPDATE_BASE_MISMATCH',
      file: () => b.bundle('delta-from-1.lnb', { version: '1.2.0', seq: 3, src: 'three' }, full1),
    },
  ];
  for (const c of cases) {
    const f = c.file();
    const r = ln(['update', 'apply', f, '--root', b.root, '--json']);
    t.is(r.code, 1, `${c.name}: exit code (${r.stderr})`);
    t.regex(r.stderr, new RegExp(`${c.code}: `), c.name);
    t.true(r.stderr.includes(f), `${c.name}: names the file: ${r.stderr}`);
    t.deepEqual(currentView(b.root), before, `${c.name}: current unchanged`);
    t.like(json(ln(['update', 'status', '--root', b.root, '--json'])), {
      current: { version: '1.1.0', confirmed: true },
      last: { action: 'apply', result: 'refused', reason: c.code },
    });
    t.deepEqual(
      readdirSync(join(sw(b.root), 'releases')).filter((n) => n.endsWith('.tmp')),
      [],
      `${c.name}: no leftover`,
    );
  }
  // pending: one unconfirmed already
  t.is(ln(['update', 'apply', next, '--root', b.root]).code, 0);
  const pendingView = currentView(b.root);
  const later = b.bundle('later.lnb', { version: '1.3.0', seq: 4 });
  const r = ln(['update', 'apply', later, '--root', b.root]);
  t.is(r.code, 1);
  t.regex(r.stderr, /UPDATE_PENDING: .*later\.lnb/);
  t.deepEqual(currentView(b.root), pendingView);
});

test('a delta applies onto its base only and reproduces the full tree; full ÷ delta for a patch release', (t) => {
  const b = bench(t);
  const full1 = b.bundle('full-1.lnb', { version: '1.0.0', seq: 1 });
  const full2 = b.bundle('full-2.lnb', { version: '1.0.1', seq: 2, src: 'patched' });
  const delta = b.bundle('delta-2.lnb', { version: '1.0.1', seq: 2, src: 'patched' }, full1);
  const ratio = readFileSync(full2).length / readFileSync(delta).length;
  t.log(
    `full ${readFileSync(full2).length} B, delta ${readFileSync(delta).length} B: full/delta = ${ratio.toFixed(0)}`,
  );
  t.true(ratio >= 100, `full/delta ${ratio}`);
  const v = json(ln(['update', 'verify', delta, '--keys', b.pub, '--json']));
  t.like(v, { ok: true, kind: 'delta', delta: { baseSeq: 1 } });
  t.is(ln(['update', 'apply', delta, '--root', b.root]).code, 0);
  const cur = currentView(b.root);
  t.is(cur.version, '1.0.1');
  t.is(cur.digest, parseBundle(readFileSync(full2), full2).manifest.tree.sha256);
  // the same delta on a device whose release is not its base
  const r = ln(['update', 'confirm', '--root', b.root]);
  t.is(r.code, 0);
  const delta3 = b.bundle('delta-3.lnb', { version: '1.0.2', seq: 3 }, full1);
  const rr = ln(['update', 'apply', delta3, '--root', b.root]);
  t.regex(rr.stderr, /UPDATE_BASE_MISMATCH: .*delta-3\.lnb/);
  t.is(currentView(b.root).version, '1.0.1');
  // a base tree altered on disk (same seq) is not the base either
  const b2 = bench(t);
  const f1 = b2.bundle('f1.lnb', { version: '1.0.0', seq: 1 });
  const d2 = b2.bundle('d2.lnb', { version: '1.0.1', seq: 2 }, f1);
  writeFileSync(join(b2.root, 'usr/lib/lightnode/releases/1.0.0/app/main.js'), 'tampered\n');
  t.regex(ln(['update', 'apply', d2, '--root', b2.root]).stderr, /UPDATE_BASE_MISMATCH/);
});

test('interop with Debian minisign: update sign passes minisign -Vm, a minisign -S signature passes update verify', (t) => {
  const b = bench(t);
  // through the CLI: update pack, then update sign
  const rel = join(b.dir, 'tree-x');
  makeRelease(rel, { version: '2.0.0', seq: 5, blobs: b.blobs });
  const f = join(b.dir, 'x.lnb');
  const p = ln(['update', 'pack', '--release', rel, '--out', f, '--json']);
  t.is(p.code, 0, p.stderr);
  const s = ln(['update', 'sign', f, '--key', b.key]);
  t.is(s.code, 0, s.stderr);
  // and a delta against it (update pack --base)
  writeFileSync(join(rel, 'app/main.js'), 'export const source = "patched";\n');
  writeFileSync(
    join(rel, 'release.json'),
    JSON.stringify({ name: 'lightnode', version: '2.0.1', arch: 'amd64', seq: 6 }),
  );
  const d = join(b.dir, 'x-delta.lnb');
  t.is(ln(['update', 'pack', '--release', rel, '--out', d, '--base', f]).code, 0);
  t.is(ln(['update', 'sign', d, '--key', b.key]).code, 0);
  t.like(json(ln(['update', 'verify', d, '--keys', b.pub, '--json'])), {
    ok: true,
    kind: 'delta',
    delta: { baseSeq: 5 },
  });
  const v = minisign(['-Vm', f, '-p', b.pub]);
  t.is(v.code, 0, v.stderr);
  t.regex(v.stdout, /Trusted comment: lightnode 2\.0\.0 amd64 seq=5/);
  // signed by minisign itself
  rmSync(`${f}.minisig`);
  t.is(minisign(['-S', '-s', b.key, '-m', f, '-t', 'lightnode 2.0.0 amd64 seq=5']).code, 0);
  const r = ln(['update', 'verify', f, '--keys', b.pub, '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(json(r), { ok: true, kind: 'full', release: { version: '2.0.0', seq: 5 } });
  // a minisign signature whose trusted comment is not the manifest's is refused
  t.is(minisign(['-S', '-s', b.key, '-m', f, '-t', 'lightnode 2.0.0 amd64 seq=99']).code, 0);
  const bad = ln(['update', 'verify', f, '--keys', b.pub]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /UPDATE_SIGNATURE_INVALID: .*trusted comment/);
  // legacy (non-prehashed) minisign -l signatures verify too
  t.is(minisign(['-S', '-l', '-s', b.key, '-m', f, '-t', 'lightnode 2.0.0 amd64 seq=5']).code, 0);
  t.is(ln(['update', 'verify', f, '--keys', b.pub]).code, 0);
});

test('kill -9 at random moments of apply --root never leaves current on a partial tree', async (t) => {
  // ~4 MB in a few blobs and 60 small files: much of an apply is extraction with an fsync per file
  const b = bench(t, 4, 60);
  const f = b.bundle('big.lnb', { version: '1.1.0', seq: 2, src: 'big' });
  const newDigest = parseBundle(readFileSync(f), f).manifest.tree.sha256;
  const oldDigest = currentView(b.root).digest;
  // how long one apply takes here
  const t0 = performance.now();
  t.is(ln(['update', 'apply', f, '--root', b.root]).code, 0);
  const applyMs = performance.now() - t0;
  const reset = (): void => {
    rmSync(join(sw(b.root), 'current'), { force: true });
    rmSync(join(sw(b.root), 'previous'), { force: true });
    rmSync(join(sw(b.root), 'state.json'), { force: true });
  };
  reset();
  const outcomes = { old: 0, new: 0 };
  const runs = 24;
  for (let i = 0; i < runs; i++) {
    const child = spawn(process.execPath, [BIN, 'update', 'apply', f, '--root', b.root], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // spread the kills over the whole apply (node start, verify, extraction, fsync, rename, switch)
    await new Promise((r) => setTimeout(r, Math.random() * applyMs * 1.1));
    child.kill('SIGKILL');
    await exited;
    const v = currentView(b.root);
    if (v.version === '1.1.0') {
      t.is(v.digest, newDigest, `run ${i}: new current complete`);
      outcomes.new++;
    } else {
      t.is(v.digest, oldDigest, `run ${i}: old current intact`);
      outcomes.old++;
    }
    // state.json, when written, is whole JSON
    if (existsSync(join(sw(b.root), 'state.json')))
      t.notThrows(() => JSON.parse(readFileSync(join(sw(b.root), 'state.json'), 'utf8')));
    if (v.version === '1.1.0') reset();
  }
  t.log(`apply ${applyMs.toFixed(0)} ms; ${runs} kills: ${outcomes.old} left the old release, ${outcomes.new} the new`);
  // the next apply cleans any leftover and succeeds
  const r = ln(['update', 'apply', f, '--root', b.root, '--json']);
  t.is(r.code, 0, r.stderr);
  t.is(currentView(b.root).digest, newDigest);
  t.deepEqual(
    readdirSync(join(sw(b.root), 'releases')).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('hooks with SERVICE_RESULT, confirm and rollback through --root', (t) => {
  const b = bench(t);
  const st = (): any => json(ln(['update', 'status', '--root', b.root, '--json']));
  t.like(st(), { current: { version: '1.0.0', source: 'factory', confirmed: true }, pending: null });
  // no state: the hooks are no-ops
  t.is(ln(['update', 'hook', 'start', '--root', b.root]).code, 0);
  t.false(existsSync(join(sw(b.root), 'state.json')));

  const a = b.bundle('a.lnb', { version: '1.1.0', seq: 2 });
  t.is(ln(['update', 'apply', a, '--root', b.root]).code, 0);
  t.is(ln(['update', 'hook', 'start', '--root', b.root]).code, 0);
  t.is(ln(['update', 'hook', 'stop', '--root', b.root], { SERVICE_RESULT: 'watchdog' }).code, 0);
  t.like(st(), {
    current: { version: '1.0.0', source: 'factory', confirmed: false },
    previous: { version: '1.1.0' },
    last: { action: 'rollback', result: 'ok', reason: 'watchdog' },
  });
  // the factory release proves itself
  t.is(ln(['update', 'hook', 'start', '--root', b.root]).code, 0);
  t.like(json(ln(['update', 'confirm', '--auto', '--root', b.root, '--json'])), { confirmed: true });

  // crash twice → crash-loop
  const c = b.bundle('c.lnb', { version: '1.2.0', seq: 3 });
  t.is(ln(['update', 'apply', c, '--root', b.root]).code, 0);
  ln(['update', 'hook', 'start', '--root', b.root]);
  ln(['update', 'hook', 'stop', '--root', b.root], { SERVICE_RESULT: 'exit-code' });
  t.like(st(), { current: { version: '1.2.0', confirmed: false }, pending: { crashes: 1 } });
  ln(['update', 'hook', 'start', '--root', b.root]);
  t.like(st(), { current: { version: '1.0.0' }, last: { reason: 'crash-loop', from: '1.2.0' } });
  ln(['update', 'confirm', '--root', b.root]);

  // a good one: started once, confirmed; then never rolled back by itself
  const d = b.bundle('d.lnb', { version: '1.3.0', seq: 4 });
  t.is(ln(['update', 'apply', d, '--root', b.root]).code, 0);
  ln(['update', 'hook', 'start', '--root', b.root]);
  t.like(json(ln(['update', 'confirm', '--auto', '--root', b.root, '--json'])), { confirmed: true, version: '1.3.0' });
  ln(['update', 'hook', 'stop', '--root', b.root], { SERVICE_RESULT: 'watchdog' });
  ln(['update', 'hook', 'start', '--root', b.root]);
  t.is(ln(['update', 'rollback', '--auto', '--root', b.root]).code, 0);
  t.like(st(), { current: { version: '1.3.0', source: 'ota', confirmed: true } });
  // a person rolls it back: previous, pending; OnFailure while it fails → the factory; then retry
  const m = json(ln(['update', 'rollback', '--reason', 'operator', '--root', b.root, '--json']));
  t.like(m, { current: { version: '1.0.0', confirmed: false }, last: { reason: 'operator', from: '1.3.0' } });
  ln(['update', 'hook', 'start', '--root', b.root]);
  t.is(ln(['update', 'hook', 'stop', '--root', b.root], { SERVICE_RESULT: 'timeout' }).code, 0);
  t.like(st(), { current: { version: '1.0.0' }, retry: { reason: 'no-ready' } });
  t.regex(ln(['update', 'status', '--root', b.root]).stdout, /retry +every 15 min/);
  t.is(ln(['update', 'hook', 'retry', '--root', b.root]).code, 0);
  t.like(st(), { retry: { attempts: 1 }, last: { action: 'retry' } });
});

test('apply --incoming: the newest signed bundle applied, processed files removed, downloads in progress kept', (t) => {
  const b = bench(t);
  const inc = join(b.dir, 'incoming');
  mkdirSync(inc);
  const a = b.bundle('a.lnb', { version: '1.1.0', seq: 2 });
  const c = b.bundle('c.lnb', { version: '1.2.0', seq: 3 });
  for (const f of [a, c])
    for (const x of [f, `${f}.minisig`]) writeFileSync(join(inc, x.split('/').pop()!), readFileSync(x));
  writeFileSync(join(inc, 'partial.lnb'), 'downloading');
  const r = ln(['update', 'apply', '--incoming', inc, '--root', b.root, '--json']);
  t.is(r.code, 0, r.stderr);
  t.like(json(r), { applied: { applied: { version: '1.2.0' } } });
  t.deepEqual(readdirSync(inc), ['partial.lnb']);
  t.is(readTar(readFileSync(c)).ok, true);
  // a bundle refused for good (here a downgrade) leaves `<name>.refused` for the agent's update check
  for (const x of [a, `${a}.minisig`]) writeFileSync(join(inc, x.split('/').pop()!), readFileSync(x));
  const d = ln(['update', 'apply', '--incoming', inc, '--root', b.root, '--json']);
  t.is(d.code, 1, d.stdout);
  t.deepEqual(readdirSync(inc).sort(), ['a.lnb.refused', 'partial.lnb']);
  t.like(JSON.parse(readFileSync(join(inc, 'a.lnb.refused'), 'utf8')), { code: 'UPDATE_DOWNGRADE' });
});
