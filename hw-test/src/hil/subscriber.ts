/**
 * The run's independent subscriber: every batch and gap from the broker, each batch's leaves and root re-hashed and —
 * with ethers' EIP-712 implementation, not ours — its signature recovered; per `(deviceId, seq)` the set of leaf
 * hashes seen (two different ones are a conflict: a seq signed twice), the signed gaps, and the power per batch.
 * Like the harness's `Subscriber` (which keeps no leaves), with what the HIL invariants need. Also each device's
 * setpoint acks (`ln/v1/+/ack`, verified the same way: ethers recovers the device's address) and every setpoint
 * published to a device (`ln/v1/+/setpoint`, its bytes kept as the broker delivered them: the replay's source).
 */
import mqtt from 'mqtt';
import { verifyTypedData } from 'ethers';
import {
  decodeBatchWire,
  lightNodeDomain,
  parseTopic,
  toHex,
  typedDataFor,
  verifyBatch,
  verifyGap,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  type AckState,
  type SignedAck,
  type SignedGap,
} from '@lightnode/protocols';

/** The test vectors' domain (chain 31337, anvil's first contract): what an agent signs for by default. */
const vectorDomain = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);

/** What arrived for one device. */
export interface DeviceLog {
  /** seq → the distinct leaf hashes received for it. */
  leaves: Map<number, Set<string>>;
  /** seq → times received. */
  received: Map<number, number>;
  gaps: { first: number; last: number; reason: string }[];
  /** Seqs whose sample carried a measurement (overall quality good or stale, not invalid: a dead meter's polls). */
  valid?: Set<number>;
  /** Each batch's first seq and window start, in arrival order (resends included). */
  arrivals?: { firstSeq: number; windowStartMs: number }[];
  /** Wall ms when the last batch or gap arrived. */
  lastArrivalMs: number;
}

/** One device-signed setpoint ack that verified (ethers), with the wall ms it arrived. */
export interface AckSeen {
  deviceId: string;
  setpointId: string;
  state: AckState;
  reason: string;
  appliedPowerW: number;
  /** The device's own time of the ack (its clock), ms. */
  atMs: number;
  seq: number;
  arrivedMs: number;
}

/** A setpoint seen on a device's `setpoint` topic: its bytes as delivered, the first time its id was seen. */
export interface SetpointSeen {
  deviceId: string;
  id: string;
  payload: Buffer;
  arrivedMs: number;
}

const TOPICS = ['ln/v1/+/batch', 'ln/v1/+/gap', 'ln/v1/+/ack', 'ln/v1/+/setpoint'];

/** The signer ethers recovers from a signed ack (lowercase), its EIP-712 typed data built from the message. */
export function ackSigner(a: SignedAck, domain = vectorDomain): string {
  const td = typedDataFor('Ack', a.message as never, domain);
  return verifyTypedData(td.domain, td.types, td.message, a.signature).toLowerCase();
}

export class RunSubscriber {
  readonly devices = new Map<string, DeviceLog>();
  /** Batches or gaps that did not verify (topic: reason). */
  readonly bad: string[] = [];
  batches = 0;
  /** Active power of each received sample: wall ms of arrival, the device, the sample time, W. */
  readonly power: { atMs: number; deviceId: string; tsMs: number; w: number }[] = [];
  /** Verified setpoint acks, in arrival order. */
  readonly acks: AckSeen[] = [];
  /** Acks that did not verify (topic: reason). */
  readonly badAcks: string[] = [];
  /** Setpoints published to devices, by id (lowercase). */
  readonly setpoints = new Map<string, SetpointSeen>();
  /** Chain 2 quarters per device: quarter end (UTC ms) → its quarterEnergyImportWh (null: marked untrusted). */
  readonly quarters = new Map<string, Map<number, number | null>>();
  private client: mqtt.MqttClient | null = null;

  private readonly domain: ReturnType<typeof lightNodeDomain>;

  /** `chain`: the domain the agents sign for (their config's `chain`), default the test vectors'. */
  constructor(
    private readonly url: string,
    chain?: { chainId: number; keyRegister: string },
  ) {
    this.domain = chain ? lightNodeDomain(chain.chainId, chain.keyRegister) : vectorDomain;
  }

  private log(deviceId: string): DeviceLog {
    let d = this.devices.get(deviceId);
    if (!d)
      this.devices.set(
        deviceId,
        (d = { leaves: new Map(), received: new Map(), gaps: [], valid: new Set(), arrivals: [], lastArrivalMs: 0 }),
      );
    return d;
  }

  /** Handles one message (public for tests of the invariants). */
  onMessage(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    if (!t) return;
    try {
      if (t.leaf === 'batch') {
        const b = decodeBatchWire(payload);
        const { leafHashes } = verifyBatch(b, this.domain);
        const td = typedDataFor('Batch', b.header as never, this.domain);
        const signer = verifyTypedData(td.domain, td.types, td.message, toHex(b.signature)).toLowerCase();
        if (signer !== t.deviceId) throw new Error(`ethers recovers ${signer}, topic says ${t.deviceId}`);
        this.batches++;
        const d = this.log(t.deviceId);
        d.lastArrivalMs = Date.now();
        d.arrivals?.push({ firstSeq: b.header.firstSeq, windowStartMs: b.header.windowStartMs });
        b.samples.forEach((s, i) => {
          const leaf = toHex(leafHashes[i]!);
          const set = d.leaves.get(s.seq) ?? new Set<string>();
          set.add(leaf);
          d.leaves.set(s.seq, set);
          d.received.set(s.seq, (d.received.get(s.seq) ?? 0) + 1);
          if (s.quality !== 'invalid') d.valid?.add(s.seq);
          const w = s.quantities.activePowerW;
          if (w !== undefined) this.power.push({ atMs: d.lastArrivalMs, deviceId: t.deviceId, tsMs: s.tsMs, w });
          if (s.source === 'chain2' && s.quantities.tariffBand !== undefined) {
            const q = this.quarters.get(t.deviceId) ?? new Map<number, number | null>();
            q.set(s.tsMs, s.quantities.quarterEnergyImportWh ?? null);
            this.quarters.set(t.deviceId, q);
          }
        });
      } else if (t.leaf === 'ack') {
        try {
          const a = JSON.parse(payload.toString()) as SignedAck;
          const signer = ackSigner(a, this.domain);
          if (signer !== t.deviceId || a.message.deviceId.toLowerCase() !== t.deviceId)
            throw new Error(`ethers recovers ${signer}, topic says ${t.deviceId}, ack says ${a.message.deviceId}`);
          const m = a.message;
          this.acks.push({
            deviceId: t.deviceId,
            setpointId: m.setpointId.toLowerCase(),
            state: m.state,
            reason: m.reason,
            appliedPowerW: m.appliedPowerW,
            atMs: m.atMs,
            seq: m.seq,
            arrivedMs: Date.now(),
          });
        } catch (e) {
          this.badAcks.push(`${topic}: ${(e as Error).message}`);
        }
      } else if (t.leaf === 'setpoint') {
        const id = (JSON.parse(payload.toString()) as { message?: { id?: unknown } }).message?.id;
        if (typeof id === 'string' && !this.setpoints.has(id.toLowerCase()))
          this.setpoints.set(id.toLowerCase(), {
            deviceId: t.deviceId,
            id: id.toLowerCase(),
            payload: Buffer.from(payload),
            arrivedMs: Date.now(),
          });
      } else if (t.leaf === 'gap') {
        const g = JSON.parse(payload.toString()) as SignedGap;
        verifyGap(g, this.domain);
        const d = this.log(t.deviceId);
        d.lastArrivalMs = Date.now();
        d.gaps.push({ first: g.message.firstSeq, last: g.message.lastSeq, reason: g.message.reason });
      }
    } catch (e) {
      this.bad.push(`${topic}: ${(e as Error).message}`);
    }
  }

  async start(): Promise<void> {
    const c = mqtt.connect(this.url, {
      clientId: `hil-sub-${process.pid}-${Date.now()}`,
      clean: false,
      reconnectPeriod: 200,
      protocolVersion: 4,
    });
    this.client = c;
    c.on('message', (topic, payload) => this.onMessage(topic, payload));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => c.subscribe(TOPICS, { qos: 1 }, (e) => (e ? reject(e) : resolve())));
      c.once('error', reject);
    });
    // an embedded broker forgets sessions across a broker-down: subscribe again on every reconnect
    c.on('connect', (ack) => {
      if (!ack.sessionPresent) c.subscribe(TOPICS, { qos: 1 });
    });
  }

  /** Publishes `payload` QoS 1 on `topic` as it is (a replay, a tampered setpoint); resolves on the PUBACK. */
  async publish(topic: string, payload: Buffer): Promise<void> {
    if (!this.client) throw new Error('the run subscriber is not connected');
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await new Promise<void>((r) => c.end(true, {}, () => r()));
  }
}
