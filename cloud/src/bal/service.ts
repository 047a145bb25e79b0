/**
 * The Blockchain Access Layer, transport-free: `ingestBatch` / `ingestGap` take what arrived on a topic, `tick`
 * seals the anchor window, anchors sealed windows on chain and forwards anchored ones to the SCD. The MQTT wiring
 * is in mqtt.ts; the durable state in ledger.ts.
 *
 * Per batch: decode → topic device = header device → registered key (DEVICE_UNREGISTERED / DEVICE_REVOKED) →
 * every sample re-hashed into the root (MERKLE_ROOT_MISMATCH) → EIP-712 signature, low-s (SIGNATURE_INVALID /
 * SIGNATURE_HIGH_S) → signer = the registered key (SIGNER_MISMATCH) → seq continuity (BATCH_DUPLICATE dropped
 * idempotently, SEQ_CONFLICT for replayed seqs with other content, a gap reported) → committed to the ledger.
 * Acks and QoS reports (`ln/v1/{id}/ack`, `…/qos`) and gaps are checked by messages.ts (fields, topic device,
 * registered key, signature, low-s); acks and QoS reports wait in the ledger and are forwarded to the SCD
 * (`ingestMessages`) right away and on every window. Anything refused goes to the dead-letter log with its code and
 * message.
 */
import {
  LightNodeError,
  isLightNodeError,
  parseTopic,
  silentLogger,
  toHex,
  topicCodecs,
  verifyBatch,
  type BackoffPolicy,
  type Clock,
  type Eip712Domain,
  type Logger,
  type RecoverFn,
} from '@lightnode/protocols';
import type { AnchorReceipt } from '../chain/client.js';
import type { ScdSink } from '../delivery.js';
import { MessageForwarder } from './forward.js';
import type { BalLedger, SeqRange, WindowRow } from './ledger.js';
import { verifyDeviceMessage, type SignedLeaf, type VerifiedMessage } from './messages.js';
import { WaitingKeyLookup, expectedSigner, type KeyRegistry } from './registry.js';

export interface Anchorer {
  anchor(root: string, leafCount: number, slotStartMs: number): Promise<AnchorReceipt>;
}

export interface BalOptions {
  id: string;
  ledger: BalLedger;
  registry: KeyRegistry;
  anchorer: Anchorer;
  sink: ScdSink;
  domain: Eip712Domain;
  recover: RecoverFn;
  clock: Clock;
  log?: Logger;
  /** Anchor-window length (default 4000 ms). */
  windowMs?: number;
  /**
   * Report seq gaps from what this instance sees (default true). With several instances on a shared subscription
   * each sees only part of a device's stream: turn it off there, the SCD's gap view covers the union.
   */
  continuity?: boolean;
  /** Wait between key-register attempts while the chain does not answer (default 250 ms doubling to 5 s, full jitter). */
  keyRetry?: BackoffPolicy;
  /** Random source of the backoff jitter (tests inject one). */
  random?: () => number;
}

/** Default wait between key-register attempts while the chain does not answer. */
export const KEY_RETRY: BackoffPolicy = { baseMs: 250, maxMs: 5000, jitter: 'full' };

export type IngestOutcome =
  | { status: 'accepted'; deviceId: string; firstSeq: number; lastSeq: number; samples: number; gap?: SeqRange }
  | { status: 'duplicate'; deviceId: string; firstSeq: number }
  | { status: 'rejected'; code: string; message: string; deviceId?: string };

export interface BalCounters {
  batchesAccepted: number;
  samplesAccepted: number;
  duplicates: number;
  rejected: Record<string, number>;
  gapsObserved: number;
  gapsDeclared: number;
  windowsSealed: number;
  windowsAnchored: number;
  windowsForwarded: number;
  anchorFailures: number;
  forwardFailures: number;
  acksAccepted: number;
  qosAccepted: number;
  messageDuplicates: number;
  messagesForwarded: number;
}

export class Bal {
  readonly counters: BalCounters = {
    batchesAccepted: 0,
    samplesAccepted: 0,
    duplicates: 0,
    rejected: {},
    gapsObserved: 0,
    gapsDeclared: 0,
    windowsSealed: 0,
    windowsAnchored: 0,
    windowsForwarded: 0,
    anchorFailures: 0,
    forwardFailures: 0,
    acksAccepted: 0,
    qosAccepted: 0,
    messageDuplicates: 0,
    messagesForwarded: 0,
  };
  readonly windowMs: number;
  private readonly log: Logger;
  private ticking: Promise<void> | undefined;
  private cancelTimer: (() => void) | undefined;
  private running = false;
  private readonly closing = new AbortController();
  private readonly keys: WaitingKeyLookup;
  private readonly messages: MessageForwarder;

  constructor(private readonly o: BalOptions) {
    this.windowMs = o.windowMs ?? 4000;
    this.log = o.log ?? silentLogger;
    this.keys = new WaitingKeyLookup({
      registry: o.registry,
      clock: o.clock,
      log: this.log,
      retry: o.keyRetry ?? KEY_RETRY,
      random: o.random,
      signal: this.closing.signal,
    });
    this.messages = new MessageForwarder({
      id: o.id,
      ledger: o.ledger,
      sink: o.sink,
      log: this.log,
      counters: this.counters,
      deadLetter: (topic, payload, e, deviceId) => void this.reject(topic, payload, e, deviceId),
    });
  }

  private reject(topic: string, payload: Uint8Array, e: unknown, deviceId?: string): IngestOutcome {
    const err = isLightNodeError(e)
      ? e
      : new LightNodeError('INTERNAL', (e as Error)?.message ?? String(e), {}, { cause: e });
    this.o.ledger.deadLetter({
      topic,
      ...(deviceId ? { deviceId } : {}),
      code: err.code,
      message: err.message,
      payload,
      atMs: this.o.clock.now(),
    });
    this.counters.rejected[err.code] = (this.counters.rejected[err.code] ?? 0) + 1;
    this.log.warn('message rejected to the dead-letter log', { topic, code: err.code, reason: err.message });
    return { status: 'rejected', code: err.code, message: err.message, ...(deviceId ? { deviceId } : {}) };
  }

  /**
   * Routes a message by its topic (`parseTopic`) to its leaf's codec and check: `batch`, `gap`, `ack` and `qos` are
   * taken, anything else is refused to the dead-letter log. Throws only IO_ERROR (the ledger could not commit: do not
   * acknowledge).
   */
  async ingest(topic: string, payload: Uint8Array): Promise<IngestOutcome> {
    const t = parseTopic(topic);
    if (t?.leaf === 'batch') return this.acceptBatch(topic, t.deviceId, payload);
    if (t?.leaf === 'gap' || t?.leaf === 'ack' || t?.leaf === 'qos')
      return this.acceptSigned(topic, t.leaf, t.deviceId, payload);
    return this.reject(
      topic,
      payload,
      new LightNodeError('SCHEMA_INVALID', `topic ${topic} is not ln/v1/{deviceId}/batch, …/gap, …/ack, …/qos`, {}),
      t?.deviceId,
    );
  }

  /** A batch (`ln/v1/{id}/batch`, the compact wire form); refused unless the topic is a batch topic. */
  ingestBatch(topic: string, payload: Uint8Array): Promise<IngestOutcome> {
    const t = parseTopic(topic);
    return t?.leaf === 'batch' ? this.acceptBatch(topic, t.deviceId, payload) : this.notLeaf(topic, payload, 'batch');
  }

  /** A device's signed gap declaration (`ln/v1/{id}/gap`, JSON): verified against the registered key, recorded. */
  ingestGap(topic: string, payload: Uint8Array): Promise<IngestOutcome> {
    const t = parseTopic(topic);
    return t?.leaf === 'gap'
      ? this.acceptSigned(topic, 'gap', t.deviceId, payload)
      : this.notLeaf(topic, payload, 'gap');
  }

  private notLeaf(topic: string, payload: Uint8Array, leaf: 'batch' | 'gap'): Promise<IngestOutcome> {
    const e = new LightNodeError('SCHEMA_INVALID', `topic ${topic} is not ln/v1/{deviceId}/${leaf}`, { topic });
    return Promise.resolve(this.reject(topic, payload, e, parseTopic(topic)?.deviceId));
  }

  private async acceptBatch(topic: string, topicDevice: string, payload: Uint8Array): Promise<IngestOutcome> {
    let deviceId = topicDevice;
    try {
      const batch = topicCodecs.batch.decode(payload);
      const h = batch.header;
      deviceId = h.deviceId;
      if (h.deviceId !== topicDevice)
        throw new LightNodeError('SCHEMA_INVALID', `batch for ${h.deviceId} arrived on the topic of ${topicDevice}`, {
          topicDevice,
          batchDevice: h.deviceId,
        });
      const key = await this.keys.lookup(h.deviceId);
      const expected = expectedSigner(key);
      const { digest } = verifyBatch(batch, this.o.domain, { expectedSigner: expected, recover: this.o.recover });
      const r = this.o.ledger.recordBatch(
        {
          deviceId: h.deviceId,
          firstSeq: h.firstSeq,
          lastSeq: h.lastSeq,
          digest: toHex(digest),
          wire: payload,
          receivedMs: this.o.clock.now(),
        },
        this.o.continuity ?? true,
      );
      this.counters.batchesAccepted += 1;
      this.counters.samplesAccepted += h.count;
      if (r.gap) {
        this.counters.gapsObserved += 1;
        this.log.warn('seq gap: samples not received', { deviceId: h.deviceId, ...r.gap });
      }
      return {
        status: 'accepted',
        deviceId: h.deviceId,
        firstSeq: h.firstSeq,
        lastSeq: h.lastSeq,
        samples: h.count,
        ...(r.gap ? { gap: r.gap } : {}),
      };
    } catch (e) {
      if (isLightNodeError(e, 'BATCH_DUPLICATE')) {
        this.counters.duplicates += 1;
        this.log.debug('duplicate batch dropped', { deviceId, reason: e.message });
        return { status: 'duplicate', deviceId, firstSeq: Number(e.context.firstSeq) };
      }
      if (isLightNodeError(e, 'IO_ERROR')) throw e; // not the batch's fault: do not acknowledge it
      return this.reject(topic, payload, e, deviceId);
    }
  }

  /** A gap, ack or QoS report: checked by messages.ts, then recorded in the ledger (acks / QoS: and forwarded). */
  private async acceptSigned(
    topic: string,
    leaf: SignedLeaf,
    topicDevice: string,
    payload: Uint8Array,
  ): Promise<IngestOutcome> {
    try {
      const v = await verifyDeviceMessage(leaf, topicDevice, payload, {
        keyOf: (id) => this.keys.lookup(id),
        domain: this.o.domain,
        recover: this.o.recover,
      });
      if (leaf === 'gap') return this.recordGap(v as VerifiedMessage<'gap'>);
      return this.recordMessage(leaf, v as VerifiedMessage<'ack' | 'qos'>);
    } catch (e) {
      if (isLightNodeError(e, 'IO_ERROR')) throw e;
      return this.reject(topic, payload, e, topicDevice);
    }
  }

  private recordGap({ deviceId, signed, message: g }: VerifiedMessage<'gap'>): IngestOutcome {
    this.o.ledger.recordDeclaredGap({ ...g, deviceId }, JSON.stringify(signed), this.o.clock.now());
    this.counters.gapsDeclared += 1;
    this.log.info('declared gap recorded', { deviceId, firstSeq: g.firstSeq, lastSeq: g.lastSeq, reason: g.reason });
    return { status: 'accepted', deviceId, firstSeq: g.firstSeq, lastSeq: g.lastSeq, samples: 0 };
  }

  private recordMessage(kind: 'ack' | 'qos', v: VerifiedMessage<'ack' | 'qos'>): IngestOutcome {
    const seq = v.message.seq;
    if (this.o.ledger.messages.record(v, kind, this.o.clock.now()) === 'duplicate') {
      this.counters.messageDuplicates += 1;
      return { status: 'duplicate', deviceId: v.deviceId, firstSeq: seq };
    }
    this.counters[kind === 'ack' ? 'acksAccepted' : 'qosAccepted'] += 1;
    this.log.debug(`${kind} accepted`, { deviceId: v.deviceId, seq, setpointId: v.message.setpointId });
    void this.messages.forward();
    return { status: 'accepted', deviceId: v.deviceId, firstSeq: seq, lastSeq: seq, samples: 0 };
  }

  /** One anchor-window step: seal, anchor what is sealed, forward what is anchored. Never throws. */
  async tick(): Promise<void> {
    if (this.ticking) return this.ticking;
    this.ticking = this.doTick().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async doTick(): Promise<void> {
    const now = this.o.clock.now();
    const start = Math.floor(now / this.windowMs) * this.windowMs - this.windowMs;
    const w = this.o.ledger.sealWindow(start, start + this.windowMs);
    if (w) {
      this.counters.windowsSealed += 1;
      this.log.debug('anchor window sealed', { window: w.id, root: w.root, leaves: w.leafCount });
    }
    for (const s of this.o.ledger.windows('sealed')) if (!(await this.anchor(s))) break;
    for (const a of this.o.ledger.windows('anchored')) if (!(await this.forward(a))) break;
    await this.messages.forwardGaps();
    await this.messages.forward();
  }

  private async anchor(w: WindowRow): Promise<boolean> {
    try {
      const r = await this.o.anchorer.anchor(w.root, w.leafCount, w.startMs);
      this.o.ledger.markAnchored(w.id, r);
      this.counters.windowsAnchored += 1;
      this.log.info('anchor window anchored', {
        window: w.id,
        root: w.root,
        leaves: w.leafCount,
        txHash: r.txHash,
        block: r.blockNumber,
      });
      return true;
    } catch (e) {
      this.counters.anchorFailures += 1;
      const n = this.o.ledger.noteAttempt(w.id);
      if ((n & (n - 1)) === 0)
        this.log.warn('anchoring failed; the window waits in the ledger and is retried', {
          window: w.id,
          attempts: n,
          error: (e as Error).message,
        });
      return false;
    }
  }

  private async forward(w: WindowRow): Promise<boolean> {
    try {
      const batches = this.o.ledger.windowBatches(w.id);
      const r = await this.o.sink.ingestWindow({
        v: 1,
        bal: this.o.id,
        window: { root: w.root, leafCount: w.leafCount, startMs: w.startMs, endMs: w.endMs },
        anchor: {
          chainId: w.chainId!,
          contract: w.contract!,
          keyRegister: this.o.domain.verifyingContract,
          txHash: w.txHash!,
          blockNumber: w.blockNumber!,
          anchorer: w.anchorer!,
          anchoredAtS: w.anchoredAtS ?? 0,
        },
        batches: batches.map((b) => ({ wire: Buffer.from(b.wire).toString('base64'), index: b.index, path: b.path })),
      });
      this.o.ledger.markForwarded(w.id);
      this.counters.windowsForwarded += 1;
      this.log.debug('window forwarded to the SCD', { window: w.id, ...r });
      return true;
    } catch (e) {
      this.counters.forwardFailures += 1;
      const n = this.o.ledger.noteAttempt(w.id);
      if ((n & (n - 1)) === 0)
        this.log.warn('forwarding to the SCD failed; the window waits in the ledger and is retried', {
          window: w.id,
          attempts: n,
          error: (e as Error).message,
        });
      return false;
    }
  }

  /** Runs `tick` every window (aligned to the window grid), on the injected clock. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = (): void => {
      if (!this.running) return;
      const now = this.o.clock.now();
      const next = Math.floor(now / this.windowMs) * this.windowMs + this.windowMs;
      this.cancelTimer = this.o.clock.setTimer(next - now + 5, () => void this.tick().then(loop));
    };
    loop();
  }

  /** Stops the timer and runs a last tick, so that what was accepted is anchored and forwarded when possible. */
  async stop(opts: { flush?: boolean } = {}): Promise<void> {
    this.running = false;
    this.closing.abort();
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    await this.ticking;
    await this.messages.idle();
    if (opts.flush ?? true) await this.tick();
  }

  get ledger(): BalLedger {
    return this.o.ledger;
  }

  status(): { id: string; windowMs: number; counters: BalCounters; ledger: ReturnType<BalLedger['stats']> } {
    return { id: this.o.id, windowMs: this.windowMs, counters: this.counters, ledger: this.o.ledger.stats() };
  }
}
