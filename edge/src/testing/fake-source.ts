/** A `MeterSource` for agent tests: emits one reading every `pollMs` on the injected clock, values from a function. */
import type { Clock, Quality, QuantityName } from '@lightnode/protocols';
import { readingQuality, type MeterRole, type MeterSource, type Reading, type SourceHealth } from '../sources/index.js';

export class FakeSource implements MeterSource {
  readonly role?: MeterRole;
  readonly emitted: Reading[] = [];
  private cancel: (() => void) | null = null;
  /** Quality of the next readings' quantities. */
  quality: Quality = 'good';

  constructor(
    readonly id: string,
    private readonly clock: Clock,
    private readonly o: {
      pollMs?: number;
      role?: MeterRole;
      values?: (n: number) => Partial<Record<QuantityName, number>>;
    } = {},
  ) {
    if (o.role) this.role = o.role;
  }

  start(emit: (r: Reading) => void): void {
    const tick = (): void => {
      const n = this.emitted.length;
      const vals = this.o.values?.(n) ?? { activePowerW: 1000 + n, energyImportWh: 1_000_000 + n };
      const r: Reading = {
        sourceId: this.id,
        ...(this.role ? { role: this.role } : {}),
        tsMs: this.clock.now(),
        source: 'sim',
        values: Object.fromEntries(
          Object.entries(vals).map(([q, v]) => [
            q,
            this.quality === 'invalid' ? { quality: 'invalid' } : { value: v, quality: this.quality },
          ]),
        ),
      };
      this.emitted.push(r);
      emit(r);
      this.cancel = this.clock.setTimer(this.o.pollMs ?? 1000, tick);
    };
    tick();
  }

  stop(): Promise<void> {
    this.cancel?.();
    return Promise.resolve();
  }

  health(): SourceHealth {
    const last = this.emitted.at(-1);
    return {
      id: this.id,
      ...(this.role ? { role: this.role } : {}),
      quality: last ? readingQuality(last) : 'invalid',
      readings: this.emitted.length,
      errors: 0,
    };
  }
}
