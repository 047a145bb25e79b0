// The store on a real full file system: a 2 MiB tmpfs of its own mount namespace (the HIL disk-full injector's
// `Tmpfs`: `unshare -rm` + `mount -t tmpfs`, no root needed), filled by the child with a ballast file. A write fails
// with OUTBOX_WRITE_FAILED (the SQLite or errno cause kept), is rolled back, the store stays usable; freed, the next
// write succeeds and `verify` finds the file sound and continuous.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tmpfs } from '../hil/disk.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'store-full-disk-child.js');

test('store on a full tmpfs: OUTBOX_WRITE_FAILED, nothing accepted lost, writes again once space is freed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-fulldisk-'));
  const tmpfs = await Tmpfs.mount({ path: dir, sizeMiB: 2 });
  try {
    const argv = [...tmpfs.enter, process.execPath, CHILD, dir];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.is(code, 0, err);
    const r = JSON.parse(out) as {
      accepted: number;
      failure?: { code: string; cause: string; message: string };
      nextSeqBefore: number;
      nextSeqDuring: number;
      writeFailureDuring: boolean;
      pendingDuring: number;
      writeFailureAfter: boolean;
      nextSeqAfter: number;
      verify: { ok: boolean; gaps: unknown[]; bad: unknown[]; lastSeq: number };
    };
    t.log(`accepted ${r.accepted} cycles on the full disk before: ${r.failure?.message}`);
    t.is(r.failure?.code, 'OUTBOX_WRITE_FAILED');
    t.regex(r.failure!.cause, /^(SQLITE_FULL|SQLITE_IOERR.*|ENOSPC)$/);
    t.true(r.writeFailureDuring);
    t.is(r.nextSeqDuring, r.nextSeqBefore + 20 * r.accepted, 'the failed cycle used no seq');
    t.true(r.pendingDuring > 0);
    t.false(r.writeFailureAfter, 'cleared by the next successful write');
    t.is(r.nextSeqAfter, r.nextSeqDuring + 3);
    t.true(r.verify.ok, JSON.stringify(r.verify));
    t.deepEqual(r.verify.gaps, []);
    t.is(r.verify.lastSeq, r.nextSeqAfter - 1);
  } finally {
    await tmpfs.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
