/**
 * Wiring of the configured assets (`assets[]`): one ESS adapter each (from `createEssAdapter`, its start retried
 * until the device answers — `RetryingStartAdapter`), and each asset's telemetry as a `MeterSource` of role `ess`
 * (signed `ess` samples every `pollMs`: `essPowerW`, `socPermille`, `essSetpointW` while commanded,
 * `productionPowerW`; each good state also goes to `onState`: the controller regulates on it instead of reading the
 * asset again). A Modbus asset uses its `lines[]` entry's scheduler, shared with the meters on it.
 */
import { builtinProfiles, type AgentConfig, type Clock, type Logger } from '@lightnode/protocols';
import { createEssAdapter, RetryingStartAdapter, type EssAdapter, type EssState } from '../ess/index.js';
import type { ModbusLine } from '../modbus/index.js';
import { EssMeterSource } from '../sources/ess-source.js';

export interface AssetParts {
  /** In `assets[]` order. */
  adapters: EssAdapter[];
  sources: EssMeterSource[];
}

export function wireAssets(
  c: AgentConfig,
  deps: { clock: Clock; logger: Logger; random?: () => number; essAdapters?: EssAdapter[] },
  line: (name: string) => ModbusLine,
  setpointW: (assetId: string) => number | undefined,
  onState: (assetId: string, s: EssState) => void = () => undefined,
): AssetParts {
  const profiles = builtinProfiles();
  const adapters = c.assets.map(
    (a, i) =>
      deps.essAdapters?.[i] ??
      new RetryingStartAdapter(
        createEssAdapter(a, { clock: deps.clock, logger: deps.logger, line, profiles }),
        deps.clock,
        deps.random,
      ),
  );
  const sources = adapters.map(
    (adapter, i) =>
      new EssMeterSource({
        adapter,
        clock: deps.clock,
        pollMs: c.assets[i]!.pollMs,
        id: c.assets[i]!.id,
        setpointW: () => setpointW(c.assets[i]!.id),
        onState: (s) => onState(c.assets[i]!.id, s),
      }),
  );
  return { adapters, sources };
}
