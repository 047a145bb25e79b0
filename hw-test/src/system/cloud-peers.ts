/**
 * The peers of the cloud system tests: Debian's Mosquitto, an anvil chain and a scratch directory, started before the
 * file's tests; the cloud stacks a test starts (pushed on `stacks`) are stopped after them in reverse, then the peers.
 */
import type { TestFn } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAnvil, type AnvilHandle, type CloudStack } from '@lightnode/cloud';
import { startMosquitto, type Mosquitto } from '../peers/index.js';

export interface CloudPeers {
  dir: string;
  broker: Mosquitto;
  anvil: AnvilHandle;
  stacks: CloudStack[];
}

/** Registers the before / after hooks on `test`; the returned getter gives the running peers. */
export function cloudPeers(test: TestFn, prefix: string): () => CloudPeers {
  let peers: Partial<CloudPeers> & { stacks: CloudStack[] } = { stacks: [] };
  test.before(async () => {
    peers.dir = mkdtempSync(join(tmpdir(), prefix));
    peers.broker = await startMosquitto();
    peers.anvil = await startAnvil();
  });
  test.after.always(async () => {
    for (const s of peers.stacks.reverse()) await s.stop();
    await peers.anvil?.stop();
    await peers.broker?.dispose();
    if (peers.dir) rmSync(peers.dir, { recursive: true, force: true });
    peers = { stacks: [] };
  });
  return () => peers as CloudPeers;
}
