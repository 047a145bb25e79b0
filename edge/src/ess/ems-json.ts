/**
 * The JSON an EMS speaks, shared by the REST and MQTT adapters.
 * Command: `{essPowerW, validUntilMs}` (W, discharge positive; the EMS drops the command at validUntilMs =
 * now + revertS·1000, its revert timer). Release: REST `DELETE`, MQTT `{}`.
 * State: `{essPowerW, socPermille, productionPowerW?, mode: "remote" | "autonomous"}`.
 */
import { LightNodeError, invalidField } from '@lightnode/protocols';
import { checkRevertS, checkWatts } from './registers.js';
import type { EssState } from './types.js';

export interface EmsCommand {
  essPowerW: number;
  validUntilMs: number;
}

/** The command body for `w` W held for `revertS` s from `nowMs`. */
export function emsCommand(w: number, revertS: number, nowMs: number): EmsCommand {
  checkWatts(w);
  checkRevertS(revertS, 86_400);
  return { essPowerW: w, validUntilMs: nowMs + revertS * 1000 };
}

/** Checks an EMS state document; SCHEMA_INVALID names the field, what was expected and what came. */
export function parseEmsState(text: string, origin: string, atMs: number): EssState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new LightNodeError(
      'DECODE_ERROR',
      `${origin}: the state is not JSON (${JSON.stringify(text.slice(0, 80))})`,
      {
        origin,
      },
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw invalidField('SCHEMA_INVALID', `${origin} state`, 'an object', doc);
  const d = doc as Record<string, unknown>;
  const num = (k: string, ok: (v: number) => boolean, expected: string): number => {
    const v = d[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v))
      throw invalidField('SCHEMA_INVALID', `${origin} state.${k}`, expected, v);
    return v;
  };
  const essPowerW = num('essPowerW', () => true, 'a number of W (discharge positive)');
  const socPermille = num('socPermille', (v) => v >= 0 && v <= 1000, 'a number in 0..1000 (‰)');
  if (d.mode !== 'remote' && d.mode !== 'autonomous')
    throw invalidField('SCHEMA_INVALID', `${origin} state.mode`, '"remote" or "autonomous"', d.mode);
  const state: EssState = {
    atMs,
    essPowerW: Math.round(essPowerW),
    socPermille: Math.round(socPermille),
    mode: d.mode,
  };
  if (d.productionPowerW !== undefined)
    state.productionPowerW = Math.round(num('productionPowerW', (v) => v >= 0, 'a number of W ≥ 0'));
  return state;
}
