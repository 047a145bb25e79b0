/**
 * The end of the run: the proofs of N random samples of the activation slot (activated PoDs), each fetched from the
 * SCD and checked by a separate `lightnode proof verify --rpc … --address-book …` process; every sample of the slot
 * also checked in process with `verifyProof` (chain included).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyProof, type CloudStack } from '@lightnode/cloud';
import { prng } from '@lightnode/protocols/testing';
import type { ReportAnchor } from '../report/types.js';
import { client } from './day-ahead.js';

const LIGHTNODE = fileURLToPath(new URL('../../../../bin/lightnode.mjs', import.meta.url));

/** Runs the real CLI as a child process (asynchronously: the SCD it reads lives in this process). */
export function lightnode(
  args: string[],
  onPid?: (pid: number) => void,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [LIGHTNODE, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (child.pid) onPid?.(child.pid);
  });
}

export interface SlotSample {
  pod: string;
  deviceId: string;
  seq: number;
}

export interface ProofFigures {
  inProcessChecked: number;
  inProcessVerified: number;
  checked: number;
  verified: number;
  picked: SlotSample[];
  /** The anchor windows the slot's samples are in. */
  anchors: ReportAnchor[];
}

interface AnchorPart {
  window: { startMs: number };
  anchor: { txHash: string; blockNumber: number };
}

export async function checkProofs(o: {
  stack: CloudStack;
  samples: readonly SlotSample[];
  n: number;
  seed: number;
  workDir: string;
  onPid?: (pid: number) => void;
}): Promise<ProofFigures> {
  const scd = client(o.stack, 'scd', 'dso');
  let inProcessVerified = 0;
  const docs = new Map<string, unknown>();
  const anchors = new Map<number, ReportAnchor>();
  // fetched and verified 16 at a time (each verification reads the chain: the key register and the anchor's receipt)
  for (let i = 0; i < o.samples.length; i += 16) {
    const chunk = o.samples.slice(i, i + 16);
    const got = await Promise.all(
      chunk.map(async (s) => {
        const doc = await scd.request<AnchorPart>('GET', `/proof/${s.deviceId}/${s.seq}`);
        return { s, doc, ok: (await verifyProof(doc, { chain: o.stack.chain })).ok };
      }),
    );
    for (const { s, doc, ok } of got) {
      docs.set(`${s.deviceId}/${s.seq}`, doc);
      if (ok) inProcessVerified++;
      const a = anchors.get(doc.window.startMs);
      if (a) a.samples++;
      else
        anchors.set(doc.window.startMs, {
          windowStartMs: doc.window.startMs,
          samples: 1,
          txHash: doc.anchor.txHash,
          blockNumber: doc.anchor.blockNumber,
        });
    }
  }
  const r = prng(o.seed);
  const pool = [...o.samples];
  const picked: SlotSample[] = [];
  while (picked.length < o.n && pool.length > 0) picked.push(pool.splice(Math.floor(r() * pool.length), 1)[0]!);
  const bookFile = join(o.workDir, 'address-book.json');
  writeFileSync(bookFile, JSON.stringify(o.stack.book));
  const results = await Promise.all(
    picked.map(async (s) => {
      const file = join(o.workDir, `proof-${s.pod}-${s.seq}.json`);
      writeFileSync(file, JSON.stringify(docs.get(`${s.deviceId}/${s.seq}`)));
      const v = await lightnode(
        ['proof', 'verify', file, '--rpc', o.stack.book.rpcUrl, '--address-book', bookFile],
        o.onPid,
      );
      return v.status === 0;
    }),
  );
  return {
    inProcessChecked: o.samples.length,
    inProcessVerified,
    checked: picked.length,
    verified: results.filter(Boolean).length,
    picked,
    anchors: [...anchors.values()].sort((a, b) => a.windowStartMs - b.windowStartMs),
  };
}
