/**
 * End to end on the embedded default: aedes + anvil + BAL + SCD (SQLite), batches published over MQTT.
 * Bad batches are each refused with the right reason; good ones end up in the SCD with proofs that verify, and a
 * one-character change anywhere in a proof makes it fail.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import {
  batchDigest,
  encodeBatchWire,
  isLightNodeError,
  type Command,
  type CommandGroup,
  generatePrivateKey,
  privateKeySigner,
  signGap,
  topics,
  type Eip712Domain,
  type SignedBatch,
  type Signer,
} from '@lightnode/protocols';
import { startCloud, type CloudStack } from './stack.js';
import { verifyProof } from './proof.js';
import { sealedBatch, testGap, waitFor } from './testing/index.js';
import { commands } from './cli.js';
import { lightNodeDomain } from '@lightnode/protocols';

let dir: string;
let cloud: CloudStack;
let pub: MqttClient;
let domain: Eip712Domain;
const POD = 'IT002E61899978';

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ln-cloud-'));
  cloud = await startCloud({ dir, windowMs: 500, registryTtlMs: 0 });
  domain = lightNodeDomain(cloud.book.chainId, cloud.book.keyRegister);
  pub = mqtt.connect(cloud.brokerUrl, { protocolVersion: 4 });
  await new Promise<void>((r) => pub.once('connect', () => r()));
});
test.after.always(async () => {
  await pub?.endAsync();
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function newDevice(register = true): Promise<Signer> {
  const s = privateKeySigner(generatePrivateKey());
  if (register) await cloud.chain.registerDevice(s.address, s.publicKey!);
  return s;
}

const batch = (s: Signer, firstSeq: number, n: number, seed = 1): SignedBatch =>
  sealedBatch(s, firstSeq, n, { podId: POD, seed, domain });

async function publish(deviceId: string, b: SignedBatch | Uint8Array): Promise<void> {
  await pub.publishAsync(topics.batch(deviceId), Buffer.from(b instanceof Uint8Array ? b : encodeBatchWire(b)), {
    qos: 1,
  });
}

const rejectedCodes = (deviceId: string): string[] =>
  cloud
    .bal!.ledger.deadLetters(1000)
    .filter((d) => d.deviceId === deviceId)
    .map((d) => d.code);

async function api(path: string, token: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const r = await fetch(`${cloud.scdUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  });
  return { status: r.status, body: await r.json() };
}

test.serial('good batches: verified, anchored, in the SCD, with proofs that verify on chain', async (t) => {
  const dev = await newDevice();
  // the SCD's outbound streams: the PoD's aggregator and the DSO get the samples, the other aggregator does not
  const streams: Record<string, number> = {};
  const sub = mqtt.connect(cloud.brokerUrl, { protocolVersion: 4 });
  sub.on('message', (topic, payload) => {
    const m = JSON.parse(payload.toString()) as { samples: unknown[] };
    streams[topic] = (streams[topic] ?? 0) + m.samples.length;
  });
  await new Promise<void>((r) => sub.once('connect', () => r()));
  await sub.subscribeAsync(['scd/v1/ACEAE/measurements', 'scd/v1/ACEAE_2/measurements', 'scd/v1/dso/measurements'], {
    qos: 1,
  });
  t.is(
    (
      await api('/pods', cloud.tokens.ACEAE!, {
        method: 'POST',
        body: JSON.stringify({ podId: POD, deviceId: dev.address }),
      })
    ).status,
    201,
  );
  for (let i = 0; i < 5; i++) await publish(dev.address, batch(dev, i * 60, 60));
  await waitFor(async () => (await cloud.scd!.store.counts()).measurements >= 300, 20_000, '300 samples in the SCD');
  t.is((await cloud.scd!.store.measurements({ deviceId: dev.address, limit: 1000 })).length, 300);
  await waitFor(() => (streams['scd/v1/ACEAE/measurements'] ?? 0) >= 300, 5000, 'the aggregator stream');
  t.is(streams['scd/v1/ACEAE/measurements'], 300);
  t.is(streams['scd/v1/dso/measurements'], 300);
  t.is(streams['scd/v1/ACEAE_2/measurements'], undefined, 'an aggregator never receives another one’s PoDs');
  await sub.endAsync();
  const { status, body: proof } = await api(`/proof/${dev.address}/137`, cloud.tokens.ACEAE!);
  t.is(status, 200);
  t.is(proof.seq, 137);
  const report = await verifyProof(proof, { chain: cloud.chain });
  t.true(report.ok, JSON.stringify(report.checks));
  t.deepEqual(
    report.checks.map((c) => c.check),
    [
      'document',
      'sample → batch root',
      'device signature',
      'batch → anchor-window root',
      'anchor on chain',
      'registered key',
    ],
  );
  // another aggregator may not read it
  const other = await api(`/proof/${dev.address}/137`, cloud.tokens.ACEAE_2!);
  t.is(other.status, 403);
  t.regex(other.body.error.message, /may not read proofs/);

  // a one-character change anywhere makes the proof fail
  const text = JSON.stringify(proof);
  const swap = (c: string): string =>
    /[0-9]/.test(c)
      ? String((Number(c) + 1) % 10)
      : /[a-f]/.test(c)
        ? c === 'a'
          ? 'b'
          : 'a'
        : /[a-zA-Z]/.test(c)
          ? c === 'x'
            ? 'y'
            : 'x'
          : c;
  let tried = 0;
  for (let i = 0; i < text.length; i += 3) {
    const c = text[i]!;
    const d = swap(c);
    if (d === c) continue;
    const mutated = text.slice(0, i) + d + text.slice(i + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(mutated);
    } catch {
      continue; // not JSON any more: fails by construction
    }
    tried++;
    const r = await verifyProof(parsed, { chain: cloud.chain });
    if (r.ok) t.fail(`a change at ${i} (${c}→${d}) in …${text.slice(Math.max(0, i - 30), i + 10)}… still verifies`);
  }
  t.true(tried > 300, `${tried} mutations tried`);

  // the CLI: lightnode proof verify FILE --rpc … (exit 0), the same file with one digit changed (exit 1), a bad flag
  const file = join(dir, 'proof.json');
  const bookFile = join(dir, 'address-book.json');
  writeFileSync(file, JSON.stringify(proof, null, 2));
  const out: string[] = [];
  const io = {
    stdout: (x: string) => out.push(x),
    stderr: () => undefined,
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
  };
  const verify = ((await commands.proof!()) as CommandGroup).subcommands.verify as Command;
  t.is(await verify.run([file, '--rpc', cloud.book.rpcUrl, '--address-book', bookFile], io), 0);
  t.regex(out.at(-1)!, /VALID/);
  writeFileSync(file, JSON.stringify({ ...proof, sample: { ...proof.sample, tsMs: proof.sample.tsMs + 1 } }));
  t.is(await verify.run([file, '--rpc', cloud.book.rpcUrl, '--address-book', bookFile], io), 1);
  t.regex(out.join('\n'), /✘ sample → batch root → signature/);
  // the chain unchecked: exit 1 unless --offline; --rpc without pinned contracts: exit 1
  writeFileSync(file, JSON.stringify(proof, null, 2));
  out.length = 0;
  t.is(await verify.run([file], io), 1);
  t.true(
    out.includes('chain: not checked — give --rpc URL --address-book FILE, or --offline for the mathematics alone'),
  );
  t.regex(out.at(-1)!, /NOT VERIFIED/);
  out.length = 0;
  t.is(await verify.run([file, '--offline'], io), 0);
  t.true(out.includes('chain: not checked (--offline)'));
  t.regex(out.at(-1)!, /VALID \(mathematics only/);
  out.length = 0;
  t.is(await verify.run([file, '--rpc', cloud.book.rpcUrl], io), 1);
  t.regex(out.join('\n'), /chain: contracts not pinned/);
  out.length = 0;
  t.is(await verify.run([file, '--rpc', cloud.book.rpcUrl, '--json'], io), 1);
  const j = JSON.parse(out[0]!) as { ok: boolean; chainChecked: boolean; chain: string };
  t.like(j, { ok: false, chainChecked: false });
  t.regex(j.chain, /contracts not pinned/);
  for (const bad of [
    [file, '--offline', '--rpc', cloud.book.rpcUrl],
    [file, '--address-book', bookFile],
  ])
    t.true(isLightNodeError(await t.throwsAsync(verify.run(bad, io)), 'USAGE'));
  const usage = await t.throwsAsync(verify.run([file, '--rcp', 'x'], io));
  t.true(isLightNodeError(usage, 'USAGE'));
  t.regex(usage.message, /--rcp/);
});

test.serial('bad batches are refused to the dead-letter log with the right reason', async (t) => {
  const dev = await newDevice();
  const good = batch(dev, 0, 10);
  await publish(dev.address, good);

  // forged: the same header signed by another key
  const thief = privateKeySigner(generatePrivateKey());
  const forged = { ...batch(dev, 10, 10), signature: thief.signDigest(batchDigest(batch(dev, 10, 10).header, domain)) };
  await publish(dev.address, forged);

  // tampered: one sample value changed after signing
  const tampered = batch(dev, 20, 10);
  tampered.samples[3] = {
    ...tampered.samples[3]!,
    quantities: { ...tampered.samples[3]!.quantities, activePowerW: 1 },
  };
  await publish(dev.address, tampered);

  // replayed: the same batch again (dropped idempotently), and other content for accepted seqs
  await publish(dev.address, good);
  await publish(dev.address, batch(dev, 0, 10, 99));

  // unregistered and revoked devices
  const stranger = await newDevice(false);
  await publish(stranger.address, batch(stranger, 0, 5));
  const revoked = await newDevice();
  await cloud.chain.revokeDevice(revoked.address, 'stolen');
  await publish(revoked.address, batch(revoked, 0, 5));

  // garbage and a batch on another device's topic
  await publish(dev.address, new Uint8Array([1, 2, 3, 4]));
  await publish(stranger.address, batch(dev, 30, 5));

  await waitFor(
    () => rejectedCodes(dev.address).length >= 5 && rejectedCodes(revoked.address).length >= 1,
    10_000,
    'the dead letters',
  );
  // DECODE_ERROR: the garbage; SCHEMA_INVALID: its batch on the stranger's topic
  t.deepEqual(rejectedCodes(dev.address).sort(), [
    'DECODE_ERROR',
    'MERKLE_ROOT_MISMATCH',
    'SCHEMA_INVALID',
    'SEQ_CONFLICT',
    'SIGNER_MISMATCH',
  ]);
  t.deepEqual(rejectedCodes(stranger.address), ['DEVICE_UNREGISTERED']);
  t.deepEqual(rejectedCodes(revoked.address), ['DEVICE_REVOKED']);
  t.true(cloud.bal!.counters.duplicates >= 1, 'the replayed identical batch is dropped as a duplicate');
  await waitFor(
    async () => (await cloud.scd!.store.measurements({ deviceId: dev.address })).length === 10,
    10_000,
    'the good batch stored',
  );
  // every message was acknowledged (so committed or refused); once nothing is pending, nothing more can arrive
  await waitFor(() => cloud.bal!.ledger.stats().pendingBatches === 0, 10_000, 'every accepted batch forwarded');
  t.is(
    (await cloud.scd!.store.measurements({ deviceId: dev.address })).length,
    10,
    'nothing doubled, nothing bad stored',
  );
});

test.serial('seq continuity: an observed gap, a declared gap, a late batch filling a gap', async (t) => {
  const dev = await newDevice();
  await publish(dev.address, batch(dev, 0, 10));
  await publish(dev.address, batch(dev, 30, 10)); // 10..29 missing
  const gap = signGap(testGap(dev.address, { podId: POD }), dev, domain);
  await pub.publishAsync(topics.gap(dev.address), JSON.stringify(gap), { qos: 1 });
  await publish(dev.address, batch(dev, 50, 10));
  await publish(dev.address, batch(dev, 10, 10)); // late: fills 10..19
  const ledger = cloud.bal!.ledger;
  await waitFor(() => ledger.gaps(dev.address).some((g) => g.kind === 'declared'), 10_000, 'the declared gap');
  await waitFor(
    async () => (await cloud.scd!.store.measurements({ deviceId: dev.address })).length === 40,
    10_000,
    '40 samples stored',
  );
  const gaps = ledger.gaps(dev.address).map((g) => [g.kind, g.firstSeq, g.lastSeq]);
  t.deepEqual(gaps, [
    ['observed', 20, 29],
    ['declared', 40, 49],
  ]);
  await waitFor(
    async () => (await cloud.scd!.store.gaps(dev.address)).some((g) => g.declared),
    10_000,
    'the SCD gap view',
  );
  t.deepEqual(await cloud.scd!.store.gaps(dev.address), [
    { firstSeq: 20, lastSeq: 29, declared: false },
    { firstSeq: 40, lastSeq: 49, declared: true, reason: 'disk_quota', energyImportWh: 12, energyExportWh: 0 },
  ]);
});
