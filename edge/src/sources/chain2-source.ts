/**
 * A Chain 2 gateway as a `MeterSource`: its transport (WebSocket, HTTP polling, serial modem) → codec → mapper
 * (`Chain2Source`, which counts every undecodable frame and keeps every diagnostic) → one `Reading` per mapped record,
 * tagged with the slot's role (`M1` → `pod`, `M2…` → `pv` unless configured). Quality: the worst of the last
 * reading's quantities, `invalid` while the transport is not connected (a silent gateway sends nothing to judge).
 */
import type { Chain2Reading, Clock, Logger } from '@lightnode/protocols';
import { Chain2Source, type Chain2SourceStats } from '../chain2/source.js';
import type { Chain2Transport } from '../chain2/transport.js';
import { readingQuality, type MeterRole, type MeterSource, type Reading, type SourceHealth } from './reading.js';

export interface Chain2MeterSourceOptions {
  name: string;
  transport: Chain2Transport;
  podId: string;
  /** Accepted meter slots and their roles. */
  roles: Readonly<Record<string, MeterRole>>;
  clock: Clock;
  logger?: Logger;
}

/** Default roles of Chain 2 meter slots: `M1` is the exchange (PoD) meter, `M2…` production meters. */
export function defaultChain2Role(slot: string): MeterRole {
  return slot === 'M1' ? 'pod' : 'pv';
}

export class Chain2MeterSource implements MeterSource {
  readonly id: string;
  readonly role?: MeterRole;
  private readonly inner: Chain2Source;
  private emit: ((r: Reading) => void) | null = null;
  private last: Reading | null = null;

  constructor(private readonly o: Chain2MeterSourceOptions) {
    this.id = `chain2:${o.name}`;
    const roles = new Set(Object.values(o.roles));
    if (roles.size === 1) this.role = [...roles][0]!;
    this.inner = new Chain2Source({
      name: o.name,
      transport: o.transport,
      podId: o.podId,
      meters: Object.keys(o.roles),
      onReading: (r) => this.accept(r),
      now: () => o.clock.now(),
      ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  private accept(c: Chain2Reading): void {
    const role = this.o.roles[c.meter];
    const r: Reading = {
      sourceId: `${this.id}/${c.meter}`,
      ...(role ? { role } : {}),
      tsMs: c.tsMs,
      source: 'chain2',
      values: c.values,
    };
    this.last = r;
    this.emit?.(r);
  }

  start(emit: (r: Reading) => void): void {
    this.emit = emit;
    this.inner.start();
  }

  async stop(): Promise<void> {
    this.emit = null;
    await this.inner.stop();
  }

  stats(): Chain2SourceStats {
    return this.inner.stats();
  }

  health(): SourceHealth {
    const st = this.inner.stats();
    const connected = st.transport.state === 'connected';
    return {
      id: this.id,
      ...(this.role ? { role: this.role } : {}),
      quality: connected && this.last ? readingQuality(this.last) : 'invalid',
      readings: st.readings,
      errors: st.undecodable + (st.diagnostics.CHAIN2_GAP ?? 0),
      ...(this.last ? { lastReadingMs: this.last.tsMs } : {}),
      details: st,
    };
  }
}
