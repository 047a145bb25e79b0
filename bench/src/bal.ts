/**
 * `npm run -s bench -- bal [--json]`: samples verified and anchored per core through the BAL's own ingest path —
 * decode the wire bytes, re-hash every leaf and check the root, recover the EIP-712 signature (low-s), look the key
 * up in LightNodeKeyRegister on a real anvil (through the BAL's cache), commit to the durable ledger, seal 4-s anchor
 * windows and anchor their roots on anvil. Compared in the same run: 60-s batches vs 1-sample batches, and the
 * native secp256k1 verifier vs pure JS (@noble). CPU time is this process's (anvil is another process); wall-clock
 * rates include the ledger's fsyncs (synchronous=FULL) and the anchor transactions.
 * Dataset: hw-test's seeded 3-phase 1-s meter, 8 devices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeBatchWire,
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  sealBatch,
  systemClock,
  topics,
  type Sample,
  type Signer,
} from '@lightnode/protocols';
import {
  Bal,
  BalLedger,
  ChainClient,
  ChainKeyRegistry,
  devAccountKey,
  selectRecover,
  startAnvil,
  type ScdSink,
} from '@lightnode/cloud';
import { meterDataset } from '@lightnode/hw-test';
import { emit, type BenchResult } from './common.js';

const DEVICES = 8;

interface Variant {
  name: string;
  batchSamples: number;
  impl: 'native' | 'js';
  samples: number;
}

export async function main(args: string[]): Promise<number> {
  const anvil = await startAnvil();
  const dir = mkdtempSync(join(tmpdir(), 'ln-bench-bal-'));
  const results: BenchResult[] = [];
  const perCore: Record<string, number> = {};
  try {
    const chain = await ChainClient.deploy(anvil.url, devAccountKey(0));
    const domain = lightNodeDomain(chain.book.chainId, chain.book.keyRegister);
    const devices: Signer[] = [];
    for (let d = 0; d < DEVICES; d++) {
      const s = privateKeySigner(generatePrivateKey());
      await chain.registerDevice(s.address, s.publicKey!);
      devices.push(s);
    }
    const variants: Variant[] = [
      { name: 'native60s', batchSamples: 60, impl: 'native', samples: 240_000 },
      { name: 'native1', batchSamples: 1, impl: 'native', samples: 16_000 },
      { name: 'js60s', batchSamples: 60, impl: 'js', samples: 48_000 },
      { name: 'js1', batchSamples: 1, impl: 'js', samples: 1_600 },
    ];
    for (const v of variants) {
      // the devices' batches, sealed beforehand (the device's work, not the BAL's)
      const perDevice = v.samples / DEVICES;
      const wires: { topic: string; wire: Uint8Array }[] = [];
      const streams = devices.map((s, d) => [
        ...meterDataset({ deviceId: s.address, count: perDevice, startMs: Date.UTC(2021, 5, 23, 8), seed: 100 + d }),
      ]);
      for (let k = 0; k < perDevice; k += v.batchSamples)
        devices.forEach((s, d) => {
          const samples: Sample[] = streams[d]!.slice(k, k + v.batchSamples);
          const ws = samples[0]!.tsMs;
          const b = sealBatch(
            {
              deviceId: s.address,
              podId: samples[0]!.podId,
              samples,
              windowStartMs: ws,
              windowEndMs: samples.at(-1)!.tsMs + 1000,
            },
            s,
            domain,
          );
          wires.push({ topic: topics.batch(s.address), wire: encodeBatchWire(b) });
        });
      const ledger = new BalLedger(join(dir, `${v.name}.sqlite`));
      let forwarded = 0;
      const sink: ScdSink = {
        ingestWindow: (w) => {
          forwarded += w.batches.length;
          return Promise.resolve({ batches: w.batches.length, samplesStored: 0, samplesDuplicate: 0 });
        },
        ingestGaps: () => Promise.resolve({ batches: 0, samplesStored: 0, samplesDuplicate: 0 }),
        ingestMessages: (d) => Promise.resolve({ stored: d.messages.length, duplicates: 0 }),
      };
      const bal = new Bal({
        id: v.name,
        ledger,
        registry: new ChainKeyRegistry(chain, systemClock, 60_000),
        anchorer: chain,
        sink,
        domain,
        recover: selectRecover(v.impl).recover,
        clock: systemClock,
      });
      // a 4-s anchor window every `perWindow` batches: the rate a 2-core BAL would see at the native 60-s target
      const perWindow = Math.max(1, Math.round(wires.length / 20));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let accepted = 0;
      for (let i = 0; i < wires.length; i++) {
        const r = await bal.ingestBatch(wires[i]!.topic, wires[i]!.wire);
        if (r.status !== 'accepted') throw new Error(`bench: ${v.name} batch ${i} ${r.status}: ${JSON.stringify(r)}`);
        accepted += r.samples;
        if ((i + 1) % perWindow === 0) await bal.tick();
      }
      await bal.tick();
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(cpu0);
      const cpu = (c.user + c.system) / 1e6;
      if (forwarded !== wires.length)
        throw new Error(`bench: ${v.name} anchored ${forwarded} of ${wires.length} batches`);
      ledger.close();
      perCore[v.name] = accepted / cpu;
      results.push(
        { name: `${v.name}.samplesPerCoreSecond`, value: Math.round(accepted / cpu), unit: 'samples/s/core' },
        { name: `${v.name}.samplesPerSecondWall`, value: Math.round(accepted / wall), unit: 'samples/s' },
        { name: `${v.name}.batches`, value: wires.length, unit: 'batches' },
        { name: `${v.name}.windowsAnchored`, value: bal.counters.windowsAnchored, unit: 'windows' },
      );
      process.stderr.write(
        `  ${v.name}: ${accepted} samples in ${wires.length} batches, ${cpu.toFixed(2)} s CPU, ${wall.toFixed(2)} s wall, ${bal.counters.windowsAnchored} windows anchored\n`,
      );
    }
    chain.close();
  } finally {
    await anvil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  emit(
    {
      bench: 'bal',
      command: 'npm run -s bench -- bal',
      dataset: `hw-test meter-1s, ${DEVICES} devices, keys registered on anvil; BAL ledger synchronous=FULL`,
      results,
      ratios: {
        batch60sOver1sample: perCore.native60s! / perCore.native1!,
        nativeOverJs60s: perCore.native60s! / perCore.js60s!,
        nativeOverJs1sample: perCore.native1! / perCore.js1!,
      },
    },
    args,
  );
  return 0;
}
