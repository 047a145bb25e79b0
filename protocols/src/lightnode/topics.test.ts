import test from 'ava';
import fc from 'fast-check';
import { isLightNodeError } from '../errors.js';
import { sealBatch } from './batch.js';
import { signGap } from './messages.js';
import { signConfig } from './provisioning.js';
import { testDomain, testSamples, testSigner } from './testkit.js';
import {
  INBOUND_LEAVES,
  OUTBOUND_LEAVES,
  TOPIC_LEAVES,
  parseTopic,
  topicCodecs,
  topics,
  type TopicLeaf,
} from './topics.js';

const signer = testSigner();
const dev = signer.address;

test('every leaf has a topic, a direction and a codec; parseTopic inverts topics[leaf]', (t) => {
  t.deepEqual([...INBOUND_LEAVES, ...OUTBOUND_LEAVES].sort(), [...TOPIC_LEAVES].sort());
  for (const leaf of TOPIC_LEAVES) {
    t.deepEqual(parseTopic(topics[leaf](dev)), { deviceId: dev, leaf });
    t.truthy(topicCodecs[leaf]);
  }
  t.is(parseTopic(`ln/v1/${dev}/nope`), null);
  t.is(topics.report(dev), `ln/v1/${dev}/report`);
});

test('round trips: batch (wire form), gap (signed JSON), report, status, config', (t) => {
  const samples = testSamples(5, { deviceId: dev, startMs: 0 });
  const b = sealBatch(
    { deviceId: dev, podId: samples[0]!.podId, samples, windowStartMs: 0, windowEndMs: 60_000 },
    signer,
    testDomain(),
  );
  t.deepEqual(topicCodecs.batch.decode(topicCodecs.batch.encode(b)).header, b.header);
  const g = signGap(
    {
      version: 1,
      deviceId: dev,
      podId: 'IT002E61899978',
      firstSeq: 3,
      lastSeq: 9,
      count: 7,
      reason: 'disk_quota',
      energyImportWh: -1,
      energyExportWh: -1,
      atMs: 1,
    },
    signer,
    testDomain(),
  );
  t.deepEqual(topicCodecs.gap.decode(topicCodecs.gap.encode(g)), g);
  const r = { kind: 'config-ack', seq: 1 };
  t.deepEqual(topicCodecs.report.decode(topicCodecs.report.encode(r)), r);
  const s = { v: 1, deviceId: dev, state: 'online' as const, atMs: 5 };
  t.deepEqual(topicCodecs.status.decode(topicCodecs.status.encode(s)), s);
  const c = signConfig({ meters: [] }, { deviceId: dev, revision: 2, atMs: 5 }, signer, testDomain());
  t.deepEqual(topicCodecs.config.decode(topicCodecs.config.encode(c)), c);
});

test('signed envelopes: not JSON or not {kind, message, signature} → DECODE_ERROR naming the problem', (t) => {
  const enc = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x));
  const cases: [unknown, RegExp][] = [
    ['{not json', /not UTF-8 JSON/],
    [[1, 2], /expected a JSON object/],
    [{ kind: 'ack', message: {}, signature: '0x' }, /kind is string "ack"/],
    [{ kind: 'setpoint', message: 3, signature: '0x' }, /message is number 3/],
    [{ kind: 'setpoint', message: {} }, /signature is undefined/],
    [{ kind: 'setpoint', message: {}, signature: '0x', extra: 1 }, /unknown field "extra"/],
  ];
  for (const [x, re] of cases) {
    const e = t.throws(() => topicCodecs.setpoint.decode(enc(x)));
    t.true(isLightNodeError(e, 'DECODE_ERROR'), String(e));
    t.regex(e.message, re);
  }
  t.throws(() => topicCodecs.setpoint.decode(Uint8Array.of(0xff, 0xfe)), { message: /DECODE_ERROR/ });
});

test('garbage never throws anything but a LightNodeError, on any leaf', (t) => {
  fc.assert(
    fc.property(fc.constantFrom<TopicLeaf>(...TOPIC_LEAVES), fc.uint8Array({ maxLength: 300 }), (leaf, bytes) => {
      try {
        topicCodecs[leaf].decode(bytes);
      } catch (e) {
        return isLightNodeError(e);
      }
      return true;
    }),
  );
  t.pass();
});
