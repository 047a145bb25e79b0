/**
 * What a careful engineer would send instead of our wire form: one JSON document per batch window — the samples in
 * natural units, as the protocol bench's naive baseline writes each one — with ONE EIP-191 signature (ethers
 * `signMessage` over the JSON without the `signature` field), the whole compressed by gzip -9 (zlib level 9).
 * Used by the protocol bench (60-s batches) and the cellular bench (60-min batches) alike.
 */
import { gzipSync } from 'node:zlib';
import type { Wallet } from 'ethers';
import type { Sample } from '@lightnode/protocols';
import { naturalUnits } from '@lightnode/hw-test';

/** The gzip-9 payload of one signed JSON batch of `samples` (non-empty) over [windowStartMs, windowEndMs). */
export function gzipJsonBatch(
  samples: readonly Sample[],
  wallet: Wallet,
  windowStartMs: number,
  windowEndMs: number,
): Buffer {
  const first = samples[0];
  if (!first) throw new Error('gzipJsonBatch: no samples');
  const body = {
    deviceId: first.deviceId,
    podId: first.podId,
    windowStartMs,
    windowEndMs,
    samples: samples.map((s) => ({ seq: s.seq, tsMs: s.tsMs, ...naturalUnits(s) })),
  };
  const signature = wallet.signMessageSync(JSON.stringify(body));
  return gzipSync(JSON.stringify({ ...body, signature }), { level: 9 });
}
