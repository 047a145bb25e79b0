import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FakeClock } from '@lightnode/protocols/testing';
import { queueContract } from '../testing/queue-contract.js';
import { sqliteFull } from '../testing/sqlite-full.js';
import { testStoreOptions } from '../testing/store-options.js';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
test.after.always(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory and the options of a store in it. */
function sqliteSetup(clock: FakeClock, quotaBytes = 10_000_000, windowMs = 1000) {
  const dir = mkdtempSync(join(tmpdir(), 'ln-store-'));
  dirs.push(dir);
  const options = testStoreOptions(dir, clock, { quotaBytes, windowMs, seqBlock: 50 });
  return { dir, options, open: () => SqliteStore.open(options) };
}

const WRITER = join(dirname(fileURLToPath(import.meta.url)), '..', 'testing', 'sqlite-writer.js');

/** Runs the writer child until at least `atLeast` acks are committed, then SIGKILL. */
function killWhileWriting(dir: string, atLeast: number): Promise<{ messageSeq: number; sampleSeq: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const last = { messageSeq: -1, sampleSeq: -1 };
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [k, v] = line.split(' ');
      if (k === 'm') last.messageSeq = Number(v);
      if (k === 's') last.sampleSeq = Number(v);
      if (last.messageSeq + 1 >= atLeast) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve({ ...last }) : reject(new Error(`writer exited ${code}: ${err}`)),
    );
  });
}

queueContract(test, {
  name: 'SqliteStore',
  make({ clock, quotaBytes, windowMs }) {
    const { dir, open } = sqliteSetup(clock, quotaBytes, windowMs);
    return {
      open,
      killWhileWriting: (atLeast) => killWhileWriting(dir, atLeast),
      setFull: (store, full) => sqliteFull((store as SqliteStore).db, full),
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
