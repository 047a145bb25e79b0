/**
 * `npm run -s bench -- cellular [--json]`: the cellular budget. The device's own mqtt.js options
 * (`mqttLinkClientOptions`: MQTT 5, persistent session, last-will, topic aliases, keepalive 240 s) over TLS 1.3 with a
 * client certificate (the hw-test PKI) to Debian's Mosquitto, through the byte-counting link proxy of `@lightnode/hw-test`
 * (both directions, plus its IP/TCP header model). Measured, each exchange on its own: a keepalive cycle, a full TLS+MQTT
 * connect (TCP, handshake, CONNECT/CONNACK, the link's SUBSCRIBE to `config` and `setpoint` with the retained signed
 * config it brings back), a resumed one (the first connection's TLS 1.3 session ticket; `isSessionReused()` checked),
 * a day of hourly batches of 1-min samples of the protocol bench's meter (sealBatch + encodeBatchWire), the status
 * document, a config ack, and the two alternatives: per-sample signed JSON and gzip -9 JSON batches. Then the month of
 * the cellular profile (cellular-model.ts) from those sizes.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createConnection, type Socket } from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { Wallet } from 'ethers';
import { MqttClient } from 'mqtt';
import {
  encodeBatchWire,
  lightNodeDomain,
  privateKeySigner,
  sealBatch,
  signConfig,
  signConfigAck,
  systemClock,
  topicCodecs,
  topics,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  type Sample,
} from '@lightnode/protocols';
import { TEST_DEVICE_KEY } from '@lightnode/protocols/testing';
import { linkSubscribeOptions, mqttLinkClientOptions } from '@lightnode/edge';
import { CELLULAR_PROFILE, monthBytes, monthCounts, type ExchangeBytes } from './cellular-model.js';
import { emit, type BenchResult } from './common.js';
import { gzipJsonBatch } from './gzip-json.js';
import {
  diffCount,
  ipBytes,
  makeTestPki,
  meterDataset,
  naturalUnits,
  startLinkProxy,
  startMosquitto,
  TCP_CLOSE_B,
  TCP_OPEN_B,
  type LinkCount,
} from '@lightnode/hw-test';
import { cellularConfig, typicalStatus } from './cellular-docs.js';

const BUDGET_B = 5_000_000;
const HOUR_MS = 3_600_000;

interface Conn {
  client: MqttClient;
  tls: TLSSocket;
  /** The proxy's count of this connection so far (after a fence: everything the client wrote has reached it). */
  settled(): Promise<LinkCount>;
  /** The latest TLS session ticket the server sent on this connection. */
  session(): Buffer | undefined;
  end(): Promise<void>;
}

export async function main(args: string[]): Promise<number> {
  const signer = privateKeySigner(TEST_DEVICE_KEY);
  const wallet = new Wallet(TEST_DEVICE_KEY);
  const dom = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);
  const deviceId = signer.address;
  const pki = makeTestPki();
  const broker = await startMosquitto({
    persistence: false,
    tls: {
      caFile: pki.caFile,
      certFile: pki.serverCert,
      keyFile: pki.serverKey,
      requireClientCert: true,
      tlsVersion: 'tlsv1.3',
    },
  });
  const proxy = await startLinkProxy({ port: broker.port });
  const tlsFiles = {
    ca: readFileSync(pki.caFile),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
  };
  const linkOpts = mqttLinkClientOptions(
    { url: `mqtts://127.0.0.1:${proxy.port}`, deviceId, clock: systemClock, keepaliveS: CELLULAR_PROFILE.keepaliveS },
    5,
  );

  /** Opens a device connection through the proxy (raw TCP → TLS 1.3 → mqtt.js) and waits until it is subscribed. */
  const open = async (session?: Buffer): Promise<Conn> => {
    const index = proxy.connections().length;
    const raw: Socket = createConnection({ host: '127.0.0.1', port: proxy.port });
    const tls = tlsConnect({ socket: raw, ...tlsFiles, minVersion: 'TLSv1.3', ...(session ? { session } : {}) });
    let ticket: Buffer | undefined;
    const gotTicket = new Promise<void>((resolve) =>
      tls.on('session', (s: Buffer) => {
        ticket = s;
        resolve();
      }),
    );
    const client = new MqttClient(() => tls, linkOpts);
    const waitPacket = (dir: 'packetsend' | 'packetreceive', cmd: string): Promise<void> =>
      new Promise((resolve) => {
        const on = (p: { cmd: string }): void => {
          if (p.cmd !== cmd) return;
          client.off(dir, on);
          resolve();
        };
        client.on(dir, on);
      });
    const retainedAcked = waitPacket('packetsend', 'puback');
    const sessionPresent = await new Promise<boolean>((resolve, reject) => {
      client.once('connect', (connack: { sessionPresent?: boolean }) => resolve(connack.sessionPresent === true));
      client.once('error', reject);
    });
    await new Promise<void>((resolve, reject) =>
      client.subscribe(
        { [topics.config(deviceId)]: linkSubscribeOptions(5), [topics.setpoint(deviceId)]: linkSubscribeOptions(5) },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    // retain handling 1 (the link's): the retained config comes only with a subscription the broker did not have
    await Promise.all([sessionPresent ? Promise.resolve() : retainedAcked, gotTicket]);
    const conn: Conn = {
      client,
      tls,
      settled: async () => {
        await proxy.until(() => (proxy.connections()[index]?.up.bytes ?? -1) >= raw.bytesWritten);
        return proxy.connections()[index]!;
      },
      session: () => ticket,
      end: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
    };
    if (tls.getProtocol() !== 'TLSv1.3') throw new Error(`cellular: negotiated ${tls.getProtocol()}, not TLSv1.3`);
    return conn;
  };
  /** IP bytes of one exchange: `fn` runs to its acknowledgement, then the proxy is fenced. */
  const exchange = async (c: Conn, fn: () => Promise<void>): Promise<{ ip: number; payload: number }> => {
    const a = await c.settled();
    await fn();
    const d = diffCount(a, await c.settled());
    return { ip: ipBytes(d).total, payload: d.up.bytes + d.down.bytes };
  };
  const publish = (c: Conn, topic: string, payload: Uint8Array | string, retain = false): Promise<void> =>
    new Promise((resolve, reject) =>
      c.client.publish(topic, Buffer.from(payload), { qos: 1, retain }, (e) => (e ? reject(e) : resolve())),
    );
  const mean = async (c: Conn, items: (() => Promise<void>)[]): Promise<{ ip: number; payload: number }> => {
    let ip = 0;
    let payload = 0;
    for (const fn of items) {
      const x = await exchange(c, fn);
      ip += x.ip;
      payload += x.payload;
    }
    return { ip: ip / items.length, payload: payload / items.length };
  };

  const results: BenchResult[] = [];
  const ratios: Record<string, number> = {};
  try {
    // the operator's retained signed config (what every (re)subscribe of the device brings back)
    const configDoc = signConfig(cellularConfig(), { deviceId, revision: 1, atMs: Date.UTC(2021, 5, 22) }, signer, dom);
    const configBytes = topicCodecs.config.encode(configDoc);
    const op = await new Promise<MqttClient>((resolve, reject) => {
      const raw = tlsConnect({ host: '127.0.0.1', port: broker.port, ...tlsFiles });
      const c = new MqttClient(() => raw, { protocolVersion: 5, clientId: 'operator', reconnectPeriod: 0 });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
    await new Promise<void>((resolve, reject) =>
      op.publish(topics.config(deviceId), Buffer.from(configBytes), { qos: 1, retain: true }, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
    await new Promise<void>((resolve) => op.end(false, {}, () => resolve()));

    // a day of the protocol bench's meter (seed 20210623 from 2021-06-23T08:00Z) read once a minute: every 60th 1-s
    // sample, seqs renumbered consecutively as the device would number them
    const day = [
      ...meterDataset({ deviceId, count: 86_400, startMs: Date.UTC(2021, 5, 23, 8), seed: 20210623 }),
    ].filter((_, k) => k % 60 === 0);
    const samples: Sample[] = day.map((s, k) => ({ ...s, seq: k }));
    const hours: Sample[][] = [];
    for (let h = 0; h < 24; h++) hours.push(samples.slice(h * 60, (h + 1) * 60));
    const hourStart = (g: Sample[]): number => Math.floor(g[0]!.tsMs / HOUR_MS) * HOUR_MS;
    const wires = hours.map((g) =>
      encodeBatchWire(
        sealBatch(
          {
            deviceId,
            podId: g[0]!.podId,
            samples: g,
            windowStartMs: hourStart(g),
            windowEndMs: hourStart(g) + HOUR_MS,
          },
          signer,
          dom,
        ),
      ),
    );
    const gzips = hours.map((g) => gzipJsonBatch(g, wallet, hourStart(g), hourStart(g) + HOUR_MS));

    // full connect, then everything a day of connection carries
    const full = await open();
    const fullCount = await full.settled();
    const fullConnect = ipBytes(fullCount).total + TCP_OPEN_B + TCP_CLOSE_B;
    const ping = await exchange(full, async () => {
      const pong = new Promise<void>((resolve) =>
        full.client.once('packetreceive', (p) => (p.cmd === 'pingresp' ? resolve() : undefined)),
      );
      full.client.sendPing();
      await pong;
    });
    const batchTopic = topics.batch(deviceId);
    const batch = await mean(
      full,
      wires.map((w) => () => publish(full, batchTopic, w)),
    );
    const status = await mean(
      full,
      hours.map(
        (g) => () =>
          publish(
            full,
            topics.status(deviceId),
            topicCodecs.status.encode(typicalStatus(deviceId, g, configDoc.message.configHash)),
            true,
          ),
      ),
    );
    const ack = signConfigAck(
      {
        version: configDoc.message.version,
        deviceId: deviceId.toLowerCase(),
        revision: 1,
        configHash: configDoc.message.configHash,
        state: 'applied',
        reason: '',
        atMs: Date.UTC(2021, 5, 23, 8, 2),
        seq: 1,
      },
      signer,
      dom,
    );
    const ackBytes = topicCodecs.report.encode({ ...ack });
    const configAck = await exchange(full, () => publish(full, topics.report(deviceId), ackBytes));
    const gzip = await mean(
      full,
      gzips.map((z) => () => publish(full, batchTopic, z)),
    );
    const naiveTopic = `ln/v1/${deviceId.toLowerCase()}/reading`;
    const naive = await mean(
      full,
      samples.map((s) => () => {
        const body = { deviceId: s.deviceId, seq: s.seq, tsMs: s.tsMs, ...naturalUnits(s) };
        const json = JSON.stringify(body);
        return publish(full, naiveTopic, JSON.stringify({ ...body, signature: wallet.signMessageSync(json) }));
      }),
    );
    const ticket = full.session();
    await full.end();

    // resumed connect with the first connection's session ticket
    const resumed = await open(ticket);
    if (!resumed.tls.isSessionReused()) throw new Error('cellular: the TLS session was not resumed');
    const resumedConnect = ipBytes(await resumed.settled()).total + TCP_OPEN_B + TCP_CLOSE_B;
    await resumed.end();

    const sizes: ExchangeBytes = {
      data: batch.ip,
      ping: ping.ip,
      status: status.ip,
      fullConnect,
      resumedConnect,
      configAck: configAck.ip,
    };
    const batched = monthBytes(monthCounts(CELLULAR_PROFILE), sizes);
    const naiveMonth = monthBytes(monthCounts({ ...CELLULAR_PROFILE, batchMs: CELLULAR_PROFILE.sampleMs }), {
      ...sizes,
      data: naive.ip,
    });
    const gzipMonth = monthBytes(monthCounts(CELLULAR_PROFILE), { ...sizes, data: gzip.ip });
    const counts = monthCounts(CELLULAR_PROFILE);
    const ip = '(IP bytes, both directions)';
    results.push(
      { name: 'keepalive.ipBytes', value: ping.ip, unit: `B per PINGREQ/PINGRESP ${ip}` },
      { name: 'keepalive.tlsBytes', value: ping.payload, unit: 'B (TLS records)' },
      { name: 'connect.full.ipBytes', value: fullConnect, unit: `B ${ip}, TCP open/close included` },
      { name: 'connect.full.tlsBytes', value: fullCount.up.bytes + fullCount.down.bytes, unit: 'B' },
      { name: 'connect.resumed.ipBytes', value: resumedConnect, unit: `B ${ip}, TCP open/close included` },
      {
        name: 'connect.retainedConfigPayloadBytes',
        value: configBytes.length,
        unit: 'B (redelivered at each subscribe)',
      },
      { name: 'batch60min.payloadBytes', value: wires.reduce((a, w) => a + w.length, 0) / wires.length, unit: 'B' },
      { name: 'batch60min.ipBytes', value: batch.ip, unit: `B per batch of 60 1-min samples, PUBACK included ${ip}` },
      { name: 'batch60min.ipBytesPerSample', value: batch.ip / 60, unit: 'B/sample' },
      { name: 'status.ipBytes', value: status.ip, unit: `B per retained status document ${ip}` },
      { name: 'configAck.ipBytes', value: configAck.ip, unit: `B ${ip}` },
      { name: 'naive.ipBytesPerSample', value: naive.ip, unit: `B per signed JSON sample, QoS 1 ${ip}` },
      {
        name: 'gzipJson60min.payloadBytesPerSample',
        value: gzips.reduce((a, z) => a + z.length, 0) / 1440,
        unit: 'B/sample',
      },
      { name: 'gzipJson60min.ipBytes', value: gzip.ip, unit: `B per batch ${ip}` },
      { name: 'month.pings', value: counts.pings, unit: 'keepalive cycles' },
      { name: 'month.fullConnects', value: counts.fullConnects, unit: 'connects' },
      { name: 'month.resumedConnects', value: counts.resumedConnects, unit: 'connects' },
      { name: 'month.statuses', value: counts.statuses, unit: 'documents' },
      ...Object.entries(batched.parts).map(([k, v]) => ({
        name: `month.batched.${k}Bytes`,
        value: Math.round(v),
        unit: 'B',
      })),
      { name: 'month.batchedBytes', value: Math.round(batched.total), unit: 'B / 30 days' },
      { name: 'month.naiveBytes', value: Math.round(naiveMonth.total), unit: 'B / 30 days' },
      { name: 'month.gzipJsonBytes', value: Math.round(gzipMonth.total), unit: 'B / 30 days' },
    );
    ratios.budgetOverMonthly = BUDGET_B / batched.total;
    ratios.naiveOverBatched = naiveMonth.total / batched.total;
    ratios.gzipJsonOverBatched = gzipMonth.total / batched.total;
    ratios.gzipJsonOverBatchedData = gzip.ip / batch.ip;
  } finally {
    await proxy.close();
    await broker.dispose();
    rmSync(pki.dir, { recursive: true, force: true });
  }
  emit(
    {
      bench: 'cellular',
      command: 'npm run -s bench -- cellular',
      dataset: `hw-test meterDataset seed 20210623 from 2021-06-23T08:00Z read once a minute (every 60th 1-s sample), 24 hourly batches of 60; Mosquitto over TLS 1.3 (client certificate) on loopback through a counting proxy; month = ${CELLULAR_PROFILE.days} days of: 1-min sampling, 60-min batches, keepalive ${CELLULAR_PROFILE.keepaliveS} s, status hourly and at each reconnect, one reconnect a day (resumed; full once a week), one config ack`,
      results,
      ratios,
    },
    args,
  );
  return 0;
}
