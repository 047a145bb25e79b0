/**
 * The agent's Chain 2 source: a transport's frame texts → codec → mapper → readings for the outbox, with every
 * undecodable frame counted and every diagnostic (gap with its energy, decreasing total, other PoD, unconfigured
 * slot, wildcard date) kept for status and logs. Never throws on input.
 */
import {
  Chain2Mapper,
  decodeChain2Frame,
  silentLogger,
  type Chain2Diagnostic,
  type Chain2Event,
  type Chain2Reading,
  type Logger,
} from '@lightnode/protocols';
import type { Chain2Transport, Chain2TransportStats } from './transport.js';

export interface Chain2SourceStats {
  transport: Chain2TransportStats;
  frames: number;
  undecodable: number;
  readings: number;
  events: number;
  diagnostics: Record<string, number>;
  lastDiagnostics: (Chain2Diagnostic & { atMs: number })[];
  gaps: { missedQuarters: number; energyWh: number }[];
}

export class Chain2Source {
  private readonly mapper: Chain2Mapper;
  private readonly s = {
    frames: 0,
    undecodable: 0,
    readings: 0,
    events: 0,
    diagnostics: {} as Record<string, number>,
    lastDiagnostics: [] as (Chain2Diagnostic & { atMs: number })[],
    gaps: [] as { missedQuarters: number; energyWh: number }[],
  };
  private readonly log: Logger;

  constructor(
    private readonly o: {
      name: string;
      transport: Chain2Transport;
      podId: string;
      meters: readonly string[];
      onReading: (r: Chain2Reading) => void;
      onEvent?: (e: Chain2Event) => void;
      logger?: Logger;
      now?: () => number;
    },
  ) {
    this.mapper = new Chain2Mapper({ podId: o.podId, meters: o.meters });
    this.log = (o.logger ?? silentLogger).child({ component: 'chain2', source: o.name });
  }

  start(): void {
    this.o.transport.start((text) => this.accept(text));
  }

  /** One frame text from the transport. */
  accept(text: string): void {
    this.s.frames++;
    const r = decodeChain2Frame(text);
    if (!r.ok) {
      this.s.undecodable++;
      this.diag({ code: 'CHAIN2_UNKNOWN_TYPE', message: `undecodable frame: ${r.error}` }, 'CHAIN2_DECODE');
      return;
    }
    const m = this.mapper.accept(r.frame);
    for (const d of m.diagnostics) this.diag(d, d.code);
    for (const e of m.events) {
      this.s.events++;
      this.o.onEvent?.(e);
    }
    for (const rd of m.readings) {
      this.s.readings++;
      this.o.onReading(rd);
    }
  }

  private diag(d: Chain2Diagnostic, code: string): void {
    this.s.diagnostics[code] = (this.s.diagnostics[code] ?? 0) + 1;
    this.s.lastDiagnostics.push({ ...d, code: code as Chain2Diagnostic['code'], atMs: (this.o.now ?? Date.now)() });
    if (this.s.lastDiagnostics.length > 20) this.s.lastDiagnostics.shift();
    if (d.code === 'CHAIN2_GAP' && d.data)
      this.s.gaps.push({ missedQuarters: Number(d.data.missedQuarters), energyWh: Number(d.data.energyWh) });
    if (code !== 'CHAIN2_DATE_UNSPECIFIED') this.log.warn(d.message, { code, ...(d.data ?? {}) });
  }

  stats(): Chain2SourceStats {
    return {
      transport: this.o.transport.stats(),
      ...this.s,
      diagnostics: { ...this.s.diagnostics },
      lastDiagnostics: [...this.s.lastDiagnostics],
      gaps: [...this.s.gaps],
    };
  }

  stop(): Promise<void> {
    return this.o.transport.stop();
  }
}
