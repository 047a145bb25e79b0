/**
 * The EMS side of the simulator (REST and MQTT share it): the command JSON `{essPowerW, validUntilMs}` (discharge
 * positive, W; epoch ms UTC after which the EMS drops the command and goes back to autonomous), `{}` to release
 * (MQTT), and the state JSON `{atMs, essPowerW, socPermille, productionPowerW?, mode, setpointW?}`.
 */
import { invalidField, type Clock } from '@lightnode/protocols';
import type { EssSimulator } from './site.js';

export type EmsCommand = { essPowerW: number; validUntilMs: number } | { release: true };

/** Checks a command body; INPUT_INVALID names the field, what was expected and what was received. */
export function parseEmsCommand(body: unknown, allowRelease: boolean): EmsCommand {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalidField('INPUT_INVALID', 'body', 'a JSON object {essPowerW, validUntilMs}', body);
  const b = body as Record<string, unknown>;
  const keys = Object.keys(b);
  if (keys.length === 0 && allowRelease) return { release: true };
  for (const k of keys)
    if (k !== 'essPowerW' && k !== 'validUntilMs')
      throw invalidField('INPUT_INVALID', k, 'only essPowerW and validUntilMs', b[k]);
  const int = (k: string, max: number): number => {
    const v = b[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || Math.abs(v) > max)
      throw invalidField('INPUT_INVALID', k, `an integer of magnitude ≤ ${max}`, v);
    return v;
  };
  return { essPowerW: int('essPowerW', 1e9), validUntilMs: int('validUntilMs', Number.MAX_SAFE_INTEGER) };
}

/**
 * Applies a command: the battery's revert timer runs to `validUntilMs`. One already expired is INPUT_INVALID
 * naming validUntilMs. Refused writes throw DEVICE_UNAVAILABLE (the `refuse` fault).
 */
export function applyEmsCommand(sim: EssSimulator, clock: Clock, c: EmsCommand): void {
  if ('release' in c) return sim.battery.release();
  const revertMs = c.validUntilMs - clock.now();
  if (revertMs <= 0)
    throw invalidField('INPUT_INVALID', 'validUntilMs', `a time after now (${clock.now()})`, c.validUntilMs);
  sim.battery.setCommand(c.essPowerW, revertMs);
}
