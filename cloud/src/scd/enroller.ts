/**
 * The SCD's `enroller` right: the enrollment service (role `enroller`) binds a device to a PoD for the aggregator of
 * the installer who issued the enrollment token, and for that aggregator only. A PoD not yet registered is
 * registered for that aggregator; a PoD of another aggregator is refused (403); a device already bound to another
 * PoD is refused (409). A PoD bound to another device is re-bound (a replaced device).
 */
import { LightNodeError } from '@lightnode/protocols';
import type { Platform } from '../http/auth.js';
import type { RegistryStore } from './registry-store.js';

/** `PUT /pods/{podId}/device` (role enroller). */
export interface DeviceBinding {
  /** 0x address of the device key; absent only in a dry run that checks the PoD alone (before a token is issued). */
  deviceId?: string;
  /** The installer's aggregator: the PoD is (or becomes) its PoD. */
  aggregator: string;
}

export interface BindResult {
  status: 'created' | 'updated' | 'unchanged';
  podId: string;
  deviceId?: string;
  aggregator: string;
}

/**
 * Checks the binding and, unless `dryRun`, writes it. `dryRun` lets the enrollment service ask before it registers
 * the key on chain, so that a refused request registers nothing.
 */
export async function bindDevice(
  store: RegistryStore,
  platforms: readonly Platform[],
  caller: Platform,
  podId: string,
  b: DeviceBinding,
  nowMs: number,
  dryRun = false,
): Promise<BindResult> {
  const who = `${caller.id} (${caller.role})`;
  if (caller.role !== 'enroller')
    throw new LightNodeError('FORBIDDEN', `${who} may not bind devices to PoDs (only the enrollment service does)`, {
      platform: caller.id,
      role: caller.role,
    });
  if (!platforms.some((p) => p.id === b.aggregator && p.role === 'aggregator'))
    throw new LightNodeError(
      'FORBIDDEN',
      `${who} may not bind PoD ${podId} for ${b.aggregator}: not an aggregator platform of this SCD`,
      { field: 'aggregator', aggregator: b.aggregator },
    );
  if (b.deviceId === undefined && !dryRun)
    throw new LightNodeError('INPUT_INVALID', `binding PoD ${podId}: deviceId is required`, { field: 'deviceId' });
  const deviceId = b.deviceId?.toLowerCase();
  const pod = await store.pod(podId);
  if (pod && pod.aggregator !== b.aggregator)
    throw new LightNodeError(
      'FORBIDDEN',
      `${who} may not bind PoD ${podId} for ${b.aggregator}: it belongs to another aggregator`,
      { podId, aggregator: b.aggregator },
    );
  const other = deviceId === undefined ? undefined : await store.podOfDevice(deviceId);
  if (other && other.podId !== podId)
    throw new LightNodeError(
      'CONFLICT',
      `device ${deviceId} is already bound to PoD ${other.podId}: unbind it there before binding it to ${podId}`,
      { deviceId, podId: other.podId },
    );
  const result = { podId, aggregator: b.aggregator, ...(deviceId ? { deviceId } : {}) };
  if (deviceId && pod?.deviceId === deviceId) return { status: 'unchanged', ...result };
  if (dryRun || !deviceId) return { status: pod ? 'updated' : 'created', ...result };
  const status = await store.putPod({ podId, aggregator: b.aggregator, deviceId }, nowMs);
  return { status, ...result };
}
