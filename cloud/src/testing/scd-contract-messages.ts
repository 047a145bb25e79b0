/**
 * The SCD contract's acks and QoS reports part (SQLite in `npm test`, PostgreSQL in the system suite): written by the
 * BAL only (`POST /ingest/messages`), deduplicated on (deviceId, seq) across both kinds (the same message again is
 * accepted, other content → 409 SEQ_CONFLICT, nothing of that delivery stored), read by DSO, TSO, market and the
 * aggregator of the device's PoD (another aggregator → 403), bad query parameters and bodies → 400 naming them.
 */
import type { ExecutionContext, TestFn } from 'ava';
import {
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  signAck,
  signQosReport,
  verifySigned,
  type Ack,
  type QosReport,
} from '@lightnode/protocols';
import { CHAIN, POD_A, POD_B, REGISTER, TEST_SETPOINT_ID, testAck, testQos } from './fixtures.js';
import type { ScdHarness } from './scd-contract-input.js';

const domain = lightNodeDomain(CHAIN, REGISTER);
type Reply = Awaited<ReturnType<ScdHarness['call']>>;

/** `POST /ingest/messages` body of signed acks / QoS reports, each delivered as from its own device. */
export function messageDelivery(...signed: { kind: string; message: Ack | QosReport; signature: string }[]): unknown {
  return {
    v: 1,
    bal: 'bal-test',
    messages: signed.map((s) => ({ ...s, deviceId: s.message.deviceId, receivedMs: 1_624_450_600_000 })),
  };
}

const rows = (r: Reply): Record<string, unknown>[] => r.body as unknown as Record<string, unknown>[];

export function scdMessagesContract(test: TestFn, label: string, harness: () => ScdHarness): void {
  const status = (t: ExecutionContext, r: Reply, code: number, errorCode?: string): void => {
    t.is(r.status, code, JSON.stringify(r.body));
    if (errorCode) t.is(r.body.error?.code, errorCode);
  };

  test.serial(
    `${label}: acks and QoS reports — written by the BAL only, deduplicated on (deviceId, seq)`,
    async (t) => {
      const h = harness();
      const other = privateKeySigner(generatePrivateKey()); // a device behind no PoD
      const ack = signAck(testAck(h.dev.address, 1000), h.dev, domain);
      const qos = signQosReport(testQos(h.dev.address, 1001), h.dev, domain);
      const loose = signAck(testAck(other.address, 7), other, domain);
      status(t, await h.call('POST', '/ingest/messages', 'ACEAE', messageDelivery(ack)), 403, 'FORBIDDEN');
      const first = await h.call('POST', '/ingest/messages', 'bal', messageDelivery(ack, qos, loose));
      status(t, first, 200);
      t.like(first.body, { stored: 3, duplicates: 0 });
      const again = await h.call('POST', '/ingest/messages', 'bal', messageDelivery(qos, ack));
      t.like(again.body, { stored: 0, duplicates: 2 }, 'the same messages again: accepted, not stored twice');

      const before = await h.store.counts();
      const clipped = signAck(
        testAck(h.dev.address, 1000, { state: 'clipped', reason: 'ESS_MAX_DISCHARGE' }),
        h.dev,
        domain,
      );
      const fresh = signAck(testAck(h.dev.address, 1002), h.dev, domain);
      const conflict = await h.call('POST', '/ingest/messages', 'bal', messageDelivery(fresh, clipped));
      status(t, conflict, 409, 'SEQ_CONFLICT');
      t.is(conflict.body.error?.field, 'messages.1');
      const crossKind = signQosReport(testQos(h.dev.address, 1000), h.dev, domain);
      status(t, await h.call('POST', '/ingest/messages', 'bal', messageDelivery(crossKind)), 409, 'SEQ_CONFLICT');
      t.deepEqual(await h.store.counts(), before, 'nothing of a conflicting delivery stored');

      const mine = await h.call('GET', `/acks?setpointId=${TEST_SETPOINT_ID}&podId=${POD_A}`, 'ACEAE');
      status(t, mine, 200);
      t.is(rows(mine).length, 1);
      t.like(rows(mine)[0], {
        deviceId: h.dev.address,
        seq: 1000,
        podId: POD_A,
        state: 'applied',
        appliedPowerW: -120_000,
      });
      const stored = rows(mine)[0]!.signed as typeof ack;
      t.is(verifySigned(stored, domain).signer, h.dev.address, 'the stored ack verifies on its own');
      for (const who of ['dso', 'tso', 'market']) {
        const all = await h.call('GET', `/acks?setpointId=${TEST_SETPOINT_ID}`, who);
        t.deepEqual(
          rows(all).map((r) => [r.deviceId, r.podId]),
          [
            [other.address, undefined], // seq 7: the earlier message time
            [h.dev.address, POD_A],
          ],
          who,
        );
      }
      const q = await h.call('GET', `/qos?podId=${POD_A}&fromMs=1624450000000&toMs=1624460000000`, 'ACEAE');
      t.like(rows(q), [{ seq: 1001, slotIndex: 50, requestedEnergyWh: -30_000, deliveredEnergyWh: -29_400 }]);
      t.deepEqual(rows(await h.call('GET', `/qos?podId=${POD_A}&toMs=1624450000000`, 'dso')), [], 'before the window');
      t.deepEqual(rows(await h.call('GET', `/qos?podId=${POD_B}`, 'ACEAE_2')), [], 'its own PoD: nothing there');
    },
  );

  test.serial(`${label}: acks and QoS reports — another aggregator's PoD → 403, the BAL may not read`, async (t) => {
    const h = harness();
    for (const path of [`/acks?podId=${POD_A}`, `/qos?podId=${POD_A}&setpointId=${TEST_SETPOINT_ID}`]) {
      const r = await h.call('GET', path, 'ACEAE_2');
      status(t, r, 403, 'FORBIDDEN');
      t.regex(
        r.body.error!.message,
        /ACEAE_2 \(aggregator\) may not read the (acks|QoS reports) of PoD IT002E61899978/,
      );
    }
    status(t, await h.call('GET', `/acks?podId=${POD_A}`, 'bal'), 403, 'FORBIDDEN');
    status(t, await h.call('GET', `/qos?podId=${POD_A}`, 'bal'), 403, 'FORBIDDEN');
    status(t, await h.call('GET', '/acks?podId=IT002E99999999', 'dso'), 404, 'NOT_FOUND');
  });

  test.serial(`${label}: acks and QoS reports — bad query parameters and bodies → 400 naming them`, async (t) => {
    const h = harness();
    for (const [path, who, field] of [
      ['/acks?setpointId=0x12', 'dso', 'setpointId'],
      ['/qos?setpointId=nope', 'dso', 'setpointId'],
      ['/acks?podId=nope', 'dso', 'podId'],
      [`/acks?setpointId=${TEST_SETPOINT_ID}`, 'ACEAE', 'podId'],
      ['/qos?fromMs=abc', 'dso', 'fromMs'],
      ['/qos?fromMs=1.5', 'dso', 'fromMs'],
      ['/qos?toMs=-1', 'dso', 'toMs'],
      ['/qos?fromMs=10&toMs=5', 'dso', 'toMs'],
      ['/acks?limit=0x10', 'dso', 'limit'],
    ] as const) {
      const r = await h.call('GET', path, who);
      t.is(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      t.is(r.body.error?.field, field, path);
      t.true(r.body.error!.message.includes(field), r.body.error!.message);
    }
    const ack = signAck(testAck(h.dev.address, 3000), h.dev, domain);
    const body = (over: Record<string, unknown>, message: Record<string, unknown> = {}): unknown => {
      const d = messageDelivery(ack) as { messages: Record<string, unknown>[] };
      return { ...d, messages: [{ ...d.messages[0], ...over, message: { ...ack.message, ...message } }] };
    };
    const before = await h.store.counts();
    for (const [b, field] of [
      [body({}, { state: 'done' }), 'messages.0.message.state'],
      [body({}, { seq: -1 }), 'messages.0.message.seq'],
      [body({}, { colour: 'red' }), 'messages.0.message'],
      [body({ deviceId: `0x${'22'.repeat(20)}` }), 'messages.0.deviceId'],
      [body({ kind: 'gap' }), 'messages.0.kind'],
      [body({ signature: '0x00' }), 'messages.0.signature'],
      [{ v: 1, bal: 'bal-test', messages: [] }, 'messages'],
    ] as const) {
      const r = await h.call('POST', '/ingest/messages', 'bal', b);
      t.is(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
      t.is(r.body.error?.field, field, JSON.stringify(r.body));
    }
    t.deepEqual(await h.store.counts(), before, 'nothing stored');
  });
}
