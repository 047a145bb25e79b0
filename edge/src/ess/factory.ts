/**
 * The adapter of a configured asset. SunSpec and generic Modbus assets become a device on their configured line
 * (`ctx.line(name)`, shared with the meters on it: one bus scheduler), named by the asset id; the per-request
 * timeout is the profile's, else pysunspec2's (2 s on TCP, 0.5 s on RTU), with one retry.
 */
import { LightNodeError, type AssetConfig } from '@lightnode/protocols';
import type { ModbusLine } from '../modbus/index.js';
import { ModbusMapEssAdapter } from './modbus-map.js';
import { MqttEssAdapter } from './mqtt.js';
import { RestEssAdapter } from './rest.js';
import { SunSpecEssAdapter } from './sunspec.js';
import type { EssAdapter, EssAdapterContext } from './types.js';

const defaultTimeoutMs = (line: ModbusLine): number => (line.transport.kind === 'rtu' ? 500 : 2000);

export function createEssAdapter(asset: AssetConfig, ctx: EssAdapterContext): EssAdapter {
  const a = asset.adapter;
  const id = asset.id;
  if ('sunspec' in a) {
    const line = ctx.line(a.sunspec.line);
    const device = line.addDevice({ name: id, unit: a.sunspec.unit, timeoutMs: defaultTimeoutMs(line), retries: 1 });
    return new SunSpecEssAdapter({ id, device, clock: ctx.clock, profiles: ctx.profiles, logger: ctx.logger });
  }
  if ('modbus' in a) {
    const profile = ctx.profiles.get(a.modbus.profile);
    if (profile.kind !== 'ess')
      throw new LightNodeError(
        'CONFIG_INVALID',
        `assets.${id}.adapter.modbus.profile: expected a kind "ess" profile, received ${profile.id} (kind ${profile.kind})`,
        { asset: id, field: `assets.${id}.adapter.modbus.profile` },
      );
    const line = ctx.line(a.modbus.line);
    const device = line.addDevice({
      name: id,
      unit: a.modbus.unit,
      timeoutMs: profile.transport.timeoutMs ?? defaultTimeoutMs(line),
      retries: 1,
      turnaroundMs: profile.transport.turnaroundMs ?? 0,
    });
    return new ModbusMapEssAdapter({ id, profile, device, clock: ctx.clock });
  }
  if ('rest' in a) return new RestEssAdapter({ id, url: a.rest.url, tokenFile: a.rest.tokenFile, clock: ctx.clock });
  return new MqttEssAdapter({ id, url: a.mqtt.url, topic: a.mqtt.topic, clock: ctx.clock, logger: ctx.logger });
}
