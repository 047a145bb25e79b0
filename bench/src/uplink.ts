/**
 * `npm run -s bench -- uplink [--json] [--days N] [--skip-rss]` — against Debian's Mosquitto on loopback:
 * (a) bytes on the wire per sample through the real uplink (a counting TCP proxy between the uplink and the broker:
 *     every MQTT byte the device sends), per-sample signed JSON vs our batches at 60 s and 15 min;
 * (b) backlog drain: N days of 1-s samples (default 7 = 604,800) stored offline in the outbox, then delivered;
 * (c) the agent process's RSS and CPU while polling 4 simulated meters at 1 Hz for 30 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import {
  builtinProfiles,
  encodeBatchWire,
  lightNodeDomain,
  privateKeySigner,
  sealBatch,
  systemClock,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  type Sample,
} from '@lightnode/protocols';
import { TEST_DEVICE_KEY } from '@lightnode/protocols/testing';
import { MqttLink, Shipper, SqliteStore, writeNewKeyFile } from '@lightnode/edge';
import { emit, type BenchResult } from './common.js';
import {
  MeterSimulator,
  meterDataset,
  naturalUnits,
  serveTcp,
  startLinkProxy,
  startMosquitto,
} from '@lightnode/hw-test';

async function connected(u: { readonly state: string }): Promise<void> {
  for (let i = 0; i < 500 && u.state !== 'connected'; i++) await new Promise((r) => setTimeout(r, 10));
  if (u.state !== 'connected') throw new Error('uplink did not connect');
}

export async function main(args: string[]): Promise<number> {
  const di = args.indexOf('--days');
  const days = di >= 0 ? Number(args[di + 1]) : 7;
  const results: BenchResult[] = [];
  const ratios: Record<string, number> = {};
  const signer = privateKeySigner(TEST_DEVICE_KEY);
  const wallet = new Wallet(TEST_DEVICE_KEY);
  const dom = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
  const broker = await startMosquitto();
  const work = mkdtempSync(join(tmpdir(), 'ln-bench-uplink-'));
  try {
    // (a) wire bytes through the real uplink
    const hours = 1;
    const samples = [
      ...meterDataset({
        deviceId: signer.address,
        count: hours * 3600,
        startMs: Date.UTC(2021, 5, 23, 8),
        seed: 20210623,
      }),
    ];
    const proxy = await startLinkProxy({ port: broker.port });
    const run = async (publish: (u: MqttLink) => Promise<void>): Promise<number> => {
      const u = new MqttLink({
        url: `mqtt://127.0.0.1:${proxy.port}`,
        deviceId: signer.address,
        clock: systemClock,
        keepaliveS: 240,
      });
      u.start();
      await connected(u);
      const before = proxy.total().up.bytes;
      await publish(u);
      const b = proxy.total().up.bytes - before;
      await u.stop();
      return b;
    };
    // the baseline: one signed JSON document per sample (ethers personal_sign), through the same link (leaf `report`)
    const naive = await run(async (u) => {
      const window: Promise<void>[] = [];
      for (const s of samples) {
        const body = { kind: 'reading', deviceId: s.deviceId, seq: s.seq, tsMs: s.tsMs, ...naturalUnits(s) };
        const json = JSON.stringify(body);
        window.push(u.publish('report', { ...body, signature: wallet.signMessageSync(json) }));
        if (window.length >= 100) await Promise.all(window.splice(0));
      }
      await Promise.all(window);
    });
    results.push({
      name: 'naive.wireBytesPerSample',
      value: naive / samples.length,
      unit: 'B/sample (MQTT 5 via the uplink, all bytes sent)',
    });
    for (const [label, windowMs] of [
      ['batch60s', 60_000],
      ['batch15min', 900_000],
    ] as const) {
      const groups = new Map<number, Sample[]>();
      for (const s of samples) {
        const ws = Math.floor(s.tsMs / windowMs) * windowMs;
        groups.set(ws, [...(groups.get(ws) ?? []), s]);
      }
      const wires = [...groups].map(([ws, g]) =>
        encodeBatchWire(
          sealBatch(
            { deviceId: signer.address, podId: g[0]!.podId, samples: g, windowStartMs: ws, windowEndMs: ws + windowMs },
            signer,
            dom,
          ),
        ),
      );
      const bytes = await run(async (u) => {
        for (const w of wires) await u.publish('batch', w);
      });
      results.push({ name: `${label}.wireBytesPerSample`, value: bytes / samples.length, unit: 'B/sample' });
      ratios[`naiveOver${label[0]!.toUpperCase()}${label.slice(1)}`] = naive / bytes;
    }
    await proxy.close();

    // (b) backlog drain
    const n = days * 86_400;
    const ob = SqliteStore.open({
      path: join(work, 'outbox.db'),
      seqFile: join(work, 'seq.hwm'),
      signer,
      domain: dom,
      podId: 'IT002E61899978',
      clock: { ...systemClock, now: () => Date.UTC(2021, 6, 1) },
      quotaBytes: 2 ** 40,
      windowMs: 60_000,
      seqBlock: 100_000,
    });
    const t0 = performance.now();
    const gen = meterDataset({ deviceId: signer.address, count: n, startMs: Date.UTC(2021, 5, 23), seed: 1 });
    let chunk: Sample[] = [];
    const flush = (): void => {
      ob.commitCycle(
        chunk.map((s) => ({
          tsMs: s.tsMs,
          source: s.source,
          values: Object.fromEntries(
            Object.entries(s.quantities).map(([k, v]) => [k, { value: v, quality: 'good' as const }]),
          ),
        })),
      );
      chunk = [];
    };
    for (const s of gen) {
      chunk.push(s);
      if (chunk.length === 3600) {
        flush();
        ob.sealDue(true);
      }
    }
    if (chunk.length) flush();
    ob.sealDue(true);
    const stored = ob.stats();
    const prepS = (performance.now() - t0) / 1000;
    process.stderr.write(
      `stored ${stored.undeliveredSamples} samples in ${stored.undeliveredBatches} batches (${(stored.bytes / 1e6).toFixed(1)} MB) in ${prepS.toFixed(0)} s; draining …\n`,
    );
    const u = new MqttLink({ url: broker.url, deviceId: signer.address, clock: systemClock });
    u.start();
    await connected(u);
    const shipper = new Shipper(ob, u, 64);
    const d0 = performance.now();
    shipper.kick();
    let lastReport = d0;
    while (ob.stats().undeliveredBatches > 0) {
      await new Promise((r) => setTimeout(r, 100));
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        const s = ob.stats();
        process.stderr.write(
          `  drain: ${stored.undeliveredBatches - s.undeliveredBatches}/${stored.undeliveredBatches} batches\n`,
        );
      }
    }
    const drainS = (performance.now() - d0) / 1000;
    shipper.stop();
    await u.stop();
    ob.close();
    results.push(
      { name: 'drain.samples', value: stored.undeliveredSamples, unit: 'samples' },
      { name: 'drain.batches', value: stored.undeliveredBatches, unit: 'batches' },
      { name: 'drain.storedBytes', value: stored.bytes, unit: 'B' },
      { name: 'drain.totalS', value: drainS, unit: 's' },
      { name: 'drain.samplesPerS', value: stored.undeliveredSamples / drainS, unit: 'samples/s' },
      { name: 'drain.prepareS', value: prepS, unit: 's (generate, commit, seal and sign — not part of the drain)' },
    );

    // (c) agent RSS and CPU polling 4 meters at 1 Hz
    if (!args.includes('--skip-rss')) {
      process.stderr.write('measuring the agent polling 4 meters at 1 Hz for 30 s …\n');
      const sims = [1, 2, 3, 4].map(
        (unit) =>
          new MeterSimulator({
            profile: builtinProfiles().get('eastron/sdm630'),
            unit,
            clock: systemClock,
            load: { seed: unit },
          }),
      );
      const meters = await serveTcp(sims);
      const dir = join(work, 'agent');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(dir);
      writeNewKeyFile(join(dir, 'device.key'));
      const cfg = {
        podId: 'IT002E61899978',
        stateDir: dir,
        batch: { windowMs: 60_000 },
        uplink: { url: broker.url },
        lines: [
          {
            name: 'l',
            transport: { tcp: { host: '127.0.0.1', port: meters.port } },
            meters: [1, 2, 3, 4].map((u) => ({ id: `m${u}`, profile: 'eastron/sdm630', unit: u, pollMs: 1000 })),
          },
        ],
      };
      writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
      // started exactly as a device does: plain `lightnode agent --config FILE`, no node flags (the command sets its
      // own heap policy, edge/src/cli.ts)
      const nodeFlags: string[] = [];
      const child = spawn(
        process.execPath,
        [
          ...nodeFlags,
          join(import.meta.dirname, '..', '..', 'bin', 'lightnode.mjs'),
          'agent',
          '--config',
          join(dir, 'config.json'),
          '--log-level',
          'warn',
        ],
        { stdio: 'ignore' },
      );
      const stat = (): { cpu: number; rss: number } => {
        const s = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
        return { cpu: Number(s[11]) + Number(s[12]), rss };
      };
      await new Promise((r) => setTimeout(r, 5000)); // warm-up: start, first full reads
      const a = stat();
      const w0 = performance.now();
      let maxRss = a.rss;
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        maxRss = Math.max(maxRss, stat().rss);
      }
      const b = stat();
      const wallS = (performance.now() - w0) / 1000;
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      await meters.close();
      const ticks = 100; // USER_HZ
      results.push(
        { name: 'agent4x1Hz.rssMB', value: maxRss / 1e6, unit: 'MB (max over 30 s; plain `lightnode agent`)' },
        { name: 'agent4x1Hz.cpuPercentOfCore', value: ((b.cpu - a.cpu) / ticks / wallS) * 100, unit: '% of one core' },
      );
    }
  } finally {
    await broker.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  emit(
    {
      bench: 'uplink',
      command: `npm run -s bench -- uplink${di >= 0 ? ` --days ${days}` : ''}`,
      dataset: `hw-test meterDataset (seed 20210623, 1 h of 1-s samples, 15 quantities) through the uplink to Mosquitto on loopback; drain: ${days} days of 1-s samples (seed 1)`,
      results,
      ratios,
    },
    args,
  );
  return 0;
}
