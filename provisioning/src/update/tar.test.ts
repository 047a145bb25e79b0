import test from 'ava';
import fc from 'fast-check';
import { readTar, TarStreamReader, writeTar, type TarEntry } from './tar.js';

const sample: TarEntry[] = [
  { type: 'dir', path: 'bin', mode: 0o755 },
  { type: 'file', path: 'bin/lightnode', mode: 0o755, data: Buffer.from('#!/bin/sh\necho hi\n') },
  { type: 'file', path: 'empty', mode: 0o600, data: Buffer.alloc(0) },
  { type: 'symlink', path: 'current-node', target: 'node/bin/node' },
  { type: 'file', path: `${'very-long-directory-name/'.repeat(8)}file.js`, mode: 0o644, data: Buffer.alloc(513, 1) },
  { type: 'symlink', path: 'long-link', target: 'x/'.repeat(80) + 'target' },
  { type: 'file', path: 'ünïcode/名前.txt', mode: 0o444, data: Buffer.from('utf8 path') },
];

test('round trip: files, dirs, symlinks, modes, long (pax) and non-ASCII paths', (t) => {
  const tar = writeTar(sample);
  t.is(tar.length % 512, 0);
  const r = readTar(tar);
  t.true(r.ok);
  if (r.ok) t.deepEqual(r.entries, sample);
});

test('deterministic: the same entries give the same bytes', (t) => {
  t.true(writeTar(sample).equals(writeTar(sample)));
});

test('GNU tar reads what we write (ustar + pax)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync('tar', ['-tvf', '-'], { input: writeTar(sample), encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /very-long-directory-name\/.*file\.js/);
  t.regex(r.stdout, /long-link -> (x\/){80}target/);
  t.regex(r.stdout, /-rwxr-xr-x .* bin\/lightnode/);
});

test('truncated archives and corrupted headers are refused, never thrown', (t) => {
  const tar = writeTar(sample);
  for (const cut of [0, 100, 512, 700, 1024, tar.length - 1024, tar.length - 1]) {
    const r = readTar(tar.subarray(0, cut));
    t.false(r.ok, `cut at ${cut}`);
  }
  const bad = Buffer.from(tar);
  bad[10] = bad[10]! ^ 0x20;
  t.like(readTar(bad), { ok: false });
});

test('property: any entries round-trip', (t) => {
  const seg = fc.stringMatching(/^[a-zA-Z0-9._é-]{1,40}$/).filter((s) => s !== '.' && s !== '..');
  const path = fc.array(seg, { minLength: 1, maxLength: 6 }).map((a) => a.join('/'));
  const entry: fc.Arbitrary<TarEntry> = fc.oneof(
    fc.record({
      type: fc.constant('file' as const),
      path,
      mode: fc.integer({ min: 0, max: 0o7777 }),
      data: fc.uint8Array({ maxLength: 1500 }).map((a) => Buffer.from(a)),
    }),
    fc.record({ type: fc.constant('dir' as const), path, mode: fc.integer({ min: 0, max: 0o7777 }) }),
    fc.record({ type: fc.constant('symlink' as const), path, target: path }),
  );
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 8 }), (es) => {
      const r = readTar(writeTar(es));
      return r.ok && JSON.stringify(r.entries) === JSON.stringify(es);
    }),
    { numRuns: 200 },
  );
  t.pass();
});

/** Reads `tar` through the incremental reader, pushed in the given chunk sizes (cycled). */
function readStreamed(tar: Buffer, sizes: number[]): TarEntry[] {
  const out: TarEntry[] = [];
  let cur: { path: string; mode: number; parts: Buffer[] } | null = null;
  const r = new TarStreamReader({
    entry: (h) => {
      if (h.type === 'file') cur = { path: h.path, mode: h.mode, parts: [] };
      else out.push(h);
    },
    data: (c) => cur!.parts.push(Buffer.from(c)),
    entryEnd: () => {
      out.push({ type: 'file', path: cur!.path, mode: cur!.mode, data: Buffer.concat(cur!.parts) });
      cur = null;
    },
  });
  for (let off = 0, i = 0; off < tar.length; i++) {
    const n = sizes[i % sizes.length]!;
    r.push(tar.subarray(off, off + n));
    off += n;
  }
  r.end();
  return out;
}

test('the incremental reader gives the same entries under any chunking (property)', (t) => {
  const tar = writeTar(sample);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 8 }), (sizes) => {
      t.deepEqual(readStreamed(tar, sizes), sample);
    }),
    { numRuns: 200 },
  );
});

test('the incremental reader refuses truncated and corrupted archives', (t) => {
  const tar = writeTar(sample);
  for (const cut of [0, 100, 512, 700, 1024, tar.length - 1024, tar.length - 513])
    t.throws(() => readStreamed(tar.subarray(0, cut), [333]), { message: /truncated/ }, `cut at ${cut}`);
  const bad = Buffer.from(tar);
  bad[10] = bad[10]! ^ 0xff;
  t.throws(() => readStreamed(bad, [4096]), { message: /bad header checksum/ });
  t.throws(() => readStreamed(Buffer.concat([tar, Buffer.from('junk')]), [4096]), { message: /after the end/ });
});
