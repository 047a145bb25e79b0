/**
 * The operator side of a setpoint: build the message (defaults documented on each), sign it (EIP-712, protocols),
 * publish it QoS 1 on `ln/v1/{deviceId}/setpoint` through the one topic map and codec. Used by
 * `lightnode setpoint send`; a platform can call the same functions.
 */
import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import {
  LightNodeError,
  PROTOCOL_VERSION,
  fromHex,
  keccak256,
  marketDayStart,
  romeTime,
  signSetpoint,
  slotIndex,
  systemClock,
  toHex,
  topicCodecs,
  topics,
  validatePodId,
  type Clock,
  type Eip712Domain,
  type Setpoint,
  type Signer,
  type SignedSetpoint,
} from '@lightnode/protocols';

/** What the operator chooses; everything optional has the default documented on `buildSetpoint`. */
export interface SetpointOrder {
  podId: string;
  /** Target active power at the PoD, W, load convention (import positive). */
  activePowerW: number;
  /** The PoD's baseline for the slot, W, load convention. */
  baselineW: number;
  /** UTC epoch ms, `validFromMs < validUntilMs`. */
  validFromMs: number;
  validUntilMs: number;
  marketSession?: string;
  slotIndex?: number;
  playerServiceId?: string;
  nonce?: number;
}

/** The default market session: `MI-YYYY-MM-DD`, the Italian market day (Europe/Rome) that contains `fromMs`. */
export function defaultMarketSession(fromMs: number): string {
  const t = romeTime(marketDayStart(fromMs));
  return `MI-${t.year}-${String(t.month).padStart(2, '0')}-${String(t.day).padStart(2, '0')}`;
}

/**
 * The setpoint id: keccak256(issuer (20 bytes) ‖ nonce (uint64 big-endian) ‖ UTF-8 podId). Deterministic, so the
 * same order re-sent (same issuer, nonce and PoD) carries the same id — and one issuer's nonces never repeat.
 */
export function setpointId(issuer: string, nonce: number, podId: string): string {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(nonce));
  return toHex(keccak256(fromHex(issuer.toLowerCase(), 'issuer'), n, Buffer.from(podId, 'utf8')));
}

/**
 * Builds the message. Defaults: `nonce` = `nowMs` (ms: grows across runs of one issuer), `slotIndex` = the 15-min
 * slot of `validFromMs` in its market day (0..99, `slotIndex` of protocols' calendar), `marketSession` =
 * `defaultMarketSession(validFromMs)`, `playerServiceId` = "" (none). Throws `SETPOINT_INVALID` for an empty or
 * inverted window, `INPUT_INVALID` naming a bad PoD id (validatePodId's reason).
 */
export function buildSetpoint(order: SetpointOrder, issuer: string, nowMs: number): Setpoint {
  const pod = validatePodId(order.podId);
  if (!pod.ok)
    throw new LightNodeError('INPUT_INVALID', `podId: ${pod.reason}`, { field: 'podId', received: order.podId });
  if (order.validUntilMs <= order.validFromMs)
    throw new LightNodeError(
      'SETPOINT_INVALID',
      `validUntilMs: expected after validFromMs (${new Date(order.validFromMs).toISOString()}), received ${new Date(order.validUntilMs).toISOString()}`,
      { field: 'validUntilMs', validFromMs: order.validFromMs, validUntilMs: order.validUntilMs },
    );
  const nonce = order.nonce ?? nowMs;
  const address = issuer.toLowerCase();
  return {
    version: PROTOCOL_VERSION,
    id: setpointId(address, nonce, order.podId),
    issuer: address,
    podId: order.podId,
    marketSession: order.marketSession ?? defaultMarketSession(order.validFromMs),
    slotIndex: order.slotIndex ?? slotIndex(order.validFromMs),
    playerServiceId: order.playerServiceId ?? '',
    activePowerW: order.activePowerW,
    baselineW: order.baselineW,
    validFromMs: order.validFromMs,
    validUntilMs: order.validUntilMs,
    nonce,
  };
}

export interface PublishOptions {
  brokerUrl: string;
  deviceId: string;
  /** Bound on connect and on the PUBACK, each (default 10 000 ms). */
  timeoutMs?: number;
  clock?: Clock;
}

/**
 * Publishes a signed setpoint QoS 1 on `topics.setpoint(deviceId)` and resolves once the broker acknowledged it
 * (PUBACK). `UPLINK_CONNECT` when the broker refuses or cannot be reached within `timeoutMs` (`UPLINK_AUTH` for a
 * refused login), `UPLINK_TIMEOUT` without a PUBACK in `timeoutMs`. No reconnect: one attempt, then a clear error.
 */
export async function publishSetpoint(signed: SignedSetpoint, o: PublishOptions): Promise<{ topic: string }> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const clock = o.clock ?? systemClock;
  const topic = topics.setpoint(o.deviceId);
  const client = mqtt.connect(o.brokerUrl, {
    clientId: `ln-setpoint-${randomBytes(4).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  });
  const bounded = <T>(p: Promise<T>, onTimeout: () => LightNodeError): Promise<T> => {
    let cancel: (() => void) | undefined;
    const timer = new Promise<never>((_, reject) => (cancel = clock.setTimer(timeoutMs, () => reject(onTimeout()))));
    return Promise.race([p, timer]).finally(() => cancel?.());
  };
  try {
    await bounded(
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', (e: Error & { code?: unknown }) =>
          reject(
            new LightNodeError(
              e.code === 4 || e.code === 5 ? 'UPLINK_AUTH' : 'UPLINK_CONNECT',
              `broker ${o.brokerUrl}: ${e.message}`,
              { broker: o.brokerUrl },
            ),
          ),
        );
        client.once('close', () =>
          reject(new LightNodeError('UPLINK_CONNECT', `broker ${o.brokerUrl}: connection closed before CONNACK`, {})),
        );
      }),
      () =>
        new LightNodeError('UPLINK_CONNECT', `broker ${o.brokerUrl}: no connection in ${timeoutMs} ms`, {
          broker: o.brokerUrl,
          timeoutMs,
        }),
    );
    await bounded(
      client.publishAsync(topic, Buffer.from(topicCodecs.setpoint.encode(signed)), { qos: 1 }).then(() => undefined),
      () =>
        new LightNodeError('UPLINK_TIMEOUT', `broker ${o.brokerUrl}: no PUBACK for ${topic} in ${timeoutMs} ms`, {}),
    );
    return { topic };
  } finally {
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    await client.endAsync(true).catch(() => undefined);
  }
}

/** Signs and publishes in one step; returns what `setpoint send --json` prints. */
export async function sendSetpoint(
  order: SetpointOrder,
  signer: Signer,
  domain: Eip712Domain,
  o: PublishOptions,
): Promise<{ id: string; topic: string; nonce: number; signed: SignedSetpoint }> {
  const message = buildSetpoint(order, signer.address, (o.clock ?? systemClock).now());
  const signed = signSetpoint(message, signer, domain);
  const { topic } = await publishSetpoint(signed, o);
  return { id: message.id, topic, nonce: message.nonce, signed };
}
