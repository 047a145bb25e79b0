/**
 * `FakeEssAdapter`: an in-memory ESS behind the `EssAdapter` interface, on the injected clock, with the faults
 * the controller must survive as knobs:
 * - `refuse`: `command` rejects (MODBUS_EXCEPTION), power unchanged;
 * - `silentRevertMs`: the device drops the command after that long on its own, still reporting `remote`;
 * - `fakeMode`: commands are taken and `remote` reported, but the power never follows;
 * - `timeout`: every call rejects ADAPTER_TIMEOUT (`'error'`) or never answers (`'hang'`);
 * - `lagMs`: the power follows a command after that delay (0: at once).
 * The device's own revert timer (`revertS` of each command) returns it to autonomous (`autonomousPowerW`).
 * Power in ESS convention: discharge positive.
 */
import { LightNodeError, type Clock } from '@lightnode/protocols';
import type { EssAdapter, EssState } from '../ess/index.js';

export interface FakeEssCommand {
  atMs: number;
  w: number;
  revertS: number;
}

export interface FakeEssOptions {
  id?: string;
  socPermille?: number;
  /** Power when autonomous, W (discharge +). Default 0. */
  autonomousPowerW?: number;
  productionPowerW?: number;
  lagMs?: number;
}

export class FakeEssAdapter implements EssAdapter {
  readonly id: string;
  readonly kind = 'modbus' as const;
  socPermille: number;
  autonomousPowerW: number;
  productionPowerW: number | undefined;
  lagMs: number;
  refuse = false;
  fakeMode = false;
  silentRevertMs: number | undefined;
  timeout: false | 'error' | 'hang' = false;
  /** Every command taken, in order; `releases` counts release() calls. */
  readonly commands: FakeEssCommand[] = [];
  releases = 0;
  reads = 0;
  started = false;
  closed = false;
  private remote: { w: number; atMono: number; revertS: number } | null = null;
  private before = 0;

  constructor(
    private readonly clock: Clock,
    o: FakeEssOptions = {},
  ) {
    this.id = o.id ?? 'ess';
    this.socPermille = o.socPermille ?? 500;
    this.autonomousPowerW = o.autonomousPowerW ?? 0;
    this.productionPowerW = o.productionPowerW;
    this.lagMs = o.lagMs ?? 0;
  }

  private gate(what: string): Promise<void> {
    if (this.timeout === 'hang') return new Promise<void>(() => undefined);
    if (this.timeout === 'error')
      return Promise.reject(new LightNodeError('ADAPTER_TIMEOUT', `FakeEss ${what}: no answer`, { what }));
    return Promise.resolve();
  }

  /** The command in force now (after the device's revert timer and a silent revert), else null. */
  private active(): { w: number; atMono: number } | null {
    const r = this.remote;
    if (!r) return null;
    const age = this.clock.monotonic() - r.atMono;
    if (age >= r.revertS * 1000 || (this.silentRevertMs !== undefined && age >= this.silentRevertMs)) return null;
    return r;
  }

  /** What the battery delivers now, W. */
  get essPowerW(): number {
    const a = this.active();
    if (!a || this.fakeMode) return this.autonomousPowerW;
    return this.clock.monotonic() - a.atMono >= this.lagMs ? a.w : this.before;
  }

  async start(): Promise<void> {
    await this.gate('start');
    this.started = true;
  }

  async read(): Promise<EssState> {
    await this.gate('read');
    this.reads++;
    return {
      atMs: this.clock.now(),
      essPowerW: this.essPowerW,
      socPermille: this.socPermille,
      ...(this.productionPowerW !== undefined ? { productionPowerW: this.productionPowerW } : {}),
      // silently reverted or fake: the device still says remote
      mode: this.remote && (this.active() || this.silentRevertMs !== undefined) ? 'remote' : 'autonomous',
    };
  }

  async command(w: number, revertS: number): Promise<void> {
    await this.gate('command');
    if (this.refuse)
      throw new LightNodeError('MODBUS_EXCEPTION', `FakeEss: command ${w} W refused (exception 4)`, { w });
    this.before = this.essPowerW;
    this.commands.push({ atMs: this.clock.now(), w, revertS });
    this.remote = { w, atMono: this.clock.monotonic(), revertS };
  }

  async release(): Promise<void> {
    await this.gate('release');
    this.releases++;
    this.remote = null;
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
