/**
 * `npm run -s bench -- protocol [--json] [--hours N]`: bytes per sample on the wire (MQTT 3.1.1 PUBLISH, QoS 1) of
 * (a) one JSON message per sample in natural units with deviceId, seq, tsMs and a hex EIP-191 signature (the naive
 * baseline) vs (b) our signed batches at 60 s and 15 min windows in the compact wire form (which rebuilds every leaf
 * bit for bit — checked here), and (c) what a careful engineer would do instead: each batch as one JSON document with one
 * signature, gzip -9 (gzip-json.ts); plus seal and verify throughput. Dataset: hw-test's seeded 3-phase 1-s meter.
 */
import { Wallet } from 'ethers';
import {
  decodeBatchWire,
  encodeBatchWire,
  encodeSample,
  lightNodeDomain,
  privateKeySigner,
  sealBatch,
  topics,
  verifyBatch,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  type Sample,
  type SignedBatch,
  useWasmKeccak,
} from '@lightnode/protocols';
import { TEST_DEVICE_KEY } from '@lightnode/protocols/testing';
import { meterDataset, naturalUnits } from '@lightnode/hw-test';
import { emit, opsPerSecond, type BenchResult } from './common.js';
import { gzipJsonBatch } from './gzip-json.js';
import { mqttPublishBytes } from './mqtt-size.js';

export async function main(args: string[]): Promise<number> {
  const hi = args.indexOf('--hours');
  const hours = hi >= 0 ? Number(args[hi + 1]) : 2;
  // the verifier's figures are cloud-side: hash-wasm keccak, as the BAL uses it (the agent stays on @noble/hashes)
  await useWasmKeccak();
  const signer = privateKeySigner(TEST_DEVICE_KEY);
  const wallet = new Wallet(TEST_DEVICE_KEY);
  const dom = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
  const start = Date.UTC(2021, 5, 23, 8);
  const samples = [...meterDataset({ deviceId: signer.address, count: hours * 3600, startMs: start, seed: 20210623 })];
  const n = samples.length;
  const topic = topics.batch(signer.address);
  const naiveTopic = `ln/v1/${signer.address}/reading`;

  // (a) naive: one signed JSON per sample
  let naiveBytes = 0;
  let naivePayload = 0;
  const naiveMsgs: string[] = [];
  for (const s of samples) {
    const body = { deviceId: s.deviceId, seq: s.seq, tsMs: s.tsMs, ...naturalUnits(s) };
    const json = JSON.stringify(body);
    const signature = wallet.signMessageSync(json);
    const msg = JSON.stringify({ ...body, signature });
    naiveMsgs.push(msg);
    naivePayload += Buffer.byteLength(msg);
    naiveBytes += mqttPublishBytes(naiveTopic, Buffer.byteLength(msg));
  }

  // (b) batches at 60 s and 15 min
  const windows = (windowMs: number): SignedBatch[] => {
    const out: SignedBatch[] = [];
    let cur: Sample[] = [];
    let ws = Math.floor(samples[0]!.tsMs / windowMs) * windowMs;
    const flush = () => {
      if (cur.length)
        out.push(
          sealBatch(
            {
              deviceId: signer.address,
              podId: cur[0]!.podId,
              samples: cur,
              windowStartMs: ws,
              windowEndMs: ws + windowMs,
            },
            signer,
            dom,
          ),
        );
      cur = [];
    };
    for (const s of samples) {
      if (s.tsMs >= ws + windowMs) {
        flush();
        ws = Math.floor(s.tsMs / windowMs) * windowMs;
      }
      cur.push(s);
    }
    flush();
    return out;
  };
  const results: BenchResult[] = [
    { name: 'samples', value: n, unit: 'samples' },
    { name: 'quantitiesPerSample', value: Object.keys(samples[0]!.quantities).length, unit: 'quantities' },
    { name: 'naive.payloadBytesPerSample', value: naivePayload / n, unit: 'B/sample' },
    { name: 'naive.wireBytesPerSample', value: naiveBytes / n, unit: 'B/sample' },
    {
      name: 'canonicalCborBytesPerSample',
      value: samples.reduce((a, s) => a + encodeSample(s).length, 0) / n,
      unit: 'B/sample',
    },
  ];
  const ratios: Record<string, number> = {};
  for (const [label, windowMs] of [
    ['batch60s', 60_000],
    ['batch15min', 900_000],
  ] as const) {
    const batches = windows(windowMs);
    let wire = 0;
    let payload = 0;
    let gzWire = 0;
    for (const b of batches) {
      gzWire += mqttPublishBytes(
        topic,
        gzipJsonBatch(b.samples, wallet, b.header.windowStartMs, b.header.windowEndMs).length,
      );
      const bytes = encodeBatchWire(b);
      // the wire form must rebuild every leaf bit for bit
      const back = decodeBatchWire(bytes);
      back.samples.forEach((s, i) => {
        if (Buffer.compare(encodeSample(s), encodeSample(b.samples[i]!)) !== 0)
          throw new Error(`${label}: leaf ${i} not rebuilt exactly`);
      });
      verifyBatch(back, dom);
      payload += bytes.length;
      wire += mqttPublishBytes(topic, bytes.length);
    }
    results.push({ name: `${label}.batches`, value: batches.length, unit: 'batches' });
    results.push({ name: `${label}.payloadBytesPerSample`, value: payload / n, unit: 'B/sample' });
    results.push({ name: `${label}.wireBytesPerSample`, value: wire / n, unit: 'B/sample' });
    results.push({ name: `${label}.gzipJson.wireBytesPerSample`, value: gzWire / n, unit: 'B/sample' });
    const Label = `${label[0]!.toUpperCase()}${label.slice(1)}`;
    ratios[`naiveOver${Label}`] = naiveBytes / wire;
    ratios[`gzipJsonOver${Label}`] = gzWire / wire;
  }

  // throughput (one thread): seal and verify 60-s batches; naive per-sample verify as the baseline
  const sixty = samples.slice(0, 60);
  const ws = Math.floor(sixty[0]!.tsMs / 60_000) * 60_000;
  const sealPerS = opsPerSecond(
    () =>
      sealBatch(
        {
          deviceId: signer.address,
          podId: sixty[0]!.podId,
          samples: sixty,
          windowStartMs: ws,
          windowEndMs: ws + 60_000,
        },
        signer,
        dom,
      ),
    1500,
  );
  const b60 = sealBatch(
    { deviceId: signer.address, podId: sixty[0]!.podId, samples: sixty, windowStartMs: ws, windowEndMs: ws + 60_000 },
    signer,
    dom,
  );
  const wire60 = encodeBatchWire(b60);
  const verifyPerS = opsPerSecond(() => verifyBatch(decodeBatchWire(wire60), dom), 1500);
  const { verifyMessage } = await import('ethers');
  let k = 0;
  const naiveVerifyPerS = opsPerSecond(() => {
    const m = JSON.parse(naiveMsgs[k++ % naiveMsgs.length]!) as Record<string, unknown>;
    const { signature, ...body } = m;
    verifyMessage(JSON.stringify(body), signature as string);
  }, 1500);
  results.push(
    { name: 'seal60s.batchesPerS', value: sealPerS, unit: 'batches/s' },
    { name: 'seal60s.samplesPerS', value: sealPerS * 60, unit: 'samples/s' },
    { name: 'verify60s.batchesPerS', value: verifyPerS, unit: 'batches/s' },
    { name: 'verify60s.samplesPerS', value: verifyPerS * 60, unit: 'samples/s' },
    { name: 'naive.verifySamplesPerS', value: naiveVerifyPerS, unit: 'samples/s' },
  );
  ratios.verifySpeedup60s = (verifyPerS * 60) / naiveVerifyPerS;
  emit(
    {
      bench: 'protocol',
      command: `npm run -s bench -- protocol${hours !== 2 ? ` --hours ${hours}` : ''}`,
      dataset: `hw-test meterDataset seed 20210623: ${n} 1-s samples of a 3-phase meter from 2021-06-23T08:00Z (${hours} h), ${Object.keys(samples[0]!.quantities).length} quantities each`,
      results,
      ratios,
    },
    args,
  );
  return 0;
}
