// The disk-full injector's error path: a tmpfs it cannot mount is named (USAGE for a bad size, IO_ERROR with the stage
// for a mount the namespace refuses). The full disk itself — an agent's store on a 4 MiB tmpfs filled with ballast,
// the OUTBOX_WRITE_FAILED alarm raised and cleared, every seq delivered or declared, batches and the outbox verifying —
// is the disk-full scenario (hw-test/scenarios/disk-full.yaml, run by hil-scenarios.test.ts).
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { Tmpfs } from '../hil/disk.js';

test('the disk-full injector names why it cannot mount', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-tmpfs-'));
  try {
    await t.throwsAsync(Tmpfs.mount({ path: join(dir, 'fs'), sizeMiB: 0 }), { message: /^USAGE: .*sizeMiB/ });
    // a regular file where the mount point should be: the namespace is made, the mount refused (not a directory)
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    const e = await t.throwsAsync(Tmpfs.mount({ path: file, sizeMiB: 1 }), { instanceOf: LightNodeError });
    t.is(e?.code, 'IO_ERROR');
    t.regex(e?.message ?? '', /^IO_ERROR: disk-full: cannot mount a 1 MiB tmpfs on .*file in its namespace: .+/);
    t.is(e?.context.stage, 'mount');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
