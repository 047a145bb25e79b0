// The embedded cloud of a HIL run (`cloud: {kind: embedded}` = startCloud): an agent enrolled (its key on chain, its
// PoD in the SCD), a broker-down on the stack's broker (stopped, restarted on its port, the BAL back on it), the
// report at the end; and the scenario cross-check that refuses a systemd agent on it.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { isLightNodeError, systemClock } from '@lightnode/protocols';
import { writeNewKeyFile } from '@lightnode/edge';
import { startEmbeddedCloud, cloudLine, type EmbeddedCloud } from './peers-cloud.js';
import { parseScenario } from './scenario-file.js';
import { waitFor } from './harness.js';

const POD = 'IT002E61899978';
let cloud: EmbeddedCloud | undefined;
const dir = mkdtempSync(join(tmpdir(), 'ln-peers-cloud-test-'));
test.after.always(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test.serial(
  'enroll registers the key on chain and binds the PoD; broker-down restarts the broker on its port',
  async (t) => {
    cloud = await startEmbeddedCloud(undefined, systemClock);
    const c = cloud;
    t.regex(c.what, /^startCloud on 127\.0\.0\.1:\d+ \(aedes, anvil chain \d+, BAL, SCD http/);
    t.deepEqual(c.chain, { chainId: c.stack.book.chainId, keyRegister: c.stack.book.keyRegister });

    const keyFile = join(dir, 'device.key');
    const { address } = writeNewKeyFile(keyFile);
    const configPath = join(dir, 'agent.json');
    writeFileSync(configPath, JSON.stringify({ keyFile, podId: POD }));
    t.regex(await c.enroll!(configPath), new RegExp(`^device ${address} registered on chain .*PoD ${POD} bound`));
    t.true((await c.stack.chain.keyOf(address)).active);
    const pods = await fetch(`${c.stack.scdUrl}/pods`, {
      headers: { authorization: `Bearer ${c.stack.tokens.ACEAE}` },
    });
    t.true(
      ((await pods.json()) as { podId: string; deviceId?: string }[]).some(
        (p) => p.podId === POD && p.deviceId?.toLowerCase() === address.toLowerCase(),
      ),
    );

    const port = Number(new URL(c.url).port);
    const connects = c.stack.balMqtt!.connections.connects;
    await c.down();
    t.false(await accepts(port));
    await c.up();
    t.true(await accepts(port));
    await waitFor(async () => c.stack.balMqtt!.connections.connects > connects, 15_000, 'the BAL back on the broker');

    const r = await c.report!([]);
    t.is(r.batchesVerified, 0);
    t.deepEqual(r.scdAcks, {});
    t.is(cloudLine(r), 'BAL verified 0 batches (0 samples), rejected 0, 0 windows anchored on chain, 0 acks accepted');
  },
);

test('a systemd agent with cloud.kind embedded is refused by the cross-check, naming what to use', (t) => {
  const text = [
    'name: s',
    'description: d',
    'seed: 1',
    'durationS: 10',
    'cloud: { kind: embedded }',
    'devices:\n  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 200, tcp: true }',
    'agents:\n  - { id: a1, mode: systemd, devices: [m1] }',
    'invariants: [noSeqConflict]',
  ].join('\n');
  const e = t.throws(() => parseScenario(text, 'sd.yaml'));
  t.true(isLightNodeError(e, 'HIL_SCENARIO_INVALID'));
  t.regex(e.message, /\$\.agents\[0\]\.mode: expected mode process or inprocess with cloud\.kind embedded/);
  t.notThrows(() => parseScenario(text.replace('mode: systemd', 'mode: process'), 'p.yaml'));
});
