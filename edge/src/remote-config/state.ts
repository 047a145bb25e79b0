/**
 * What the device keeps of its remote configuration, under `<stateDir>/config/`:
 * - `pending.json`: the accepted revision under its health check (its `SignedConfig` and when it started);
 * - `current.json`: the revision in force, made current by renaming `pending.json` once healthy;
 * - `revision`: the highest revision applied or rolled back (refused documents never move it);
 * - `history.jsonl`: the outcomes, oldest first, the last `historySize` kept.
 * Every write is durable (temp file, fsync, rename), so a power cut leaves the old file or the new one.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigAckState, SignedConfig } from '@lightnode/protocols';
import { writeFileDurably } from '../store/seq-file.js';

export interface HistoryEntry {
  revision: number;
  configHash: string;
  issuer: string;
  state: ConfigAckState;
  reason: string;
  detail: string;
  atMs: number;
}

export interface StoredConfig {
  doc: SignedConfig;
  /** pending: when its health check started; current: when it was applied. */
  atMs: number;
}

/** `lightnode config status`: the configuration in force and the one under its health check. */
export interface ConfigStatus {
  revision: number;
  configHash: string;
  state: 'applied' | 'pending' | 'base';
  issuer: string;
  appliedMs: number | null;
  pending: { revision: number; configHash: string; issuer: string; sinceMs: number } | null;
}

const ZERO_HASH = '0x' + '0'.repeat(64);

export class ConfigFiles {
  readonly dir: string;
  /** status() as last read: the agent's status asks every cycle; only this object's writes change it. */
  private cached: ConfigStatus | null = null;
  constructor(
    stateDir: string,
    private readonly historySize = 50,
  ) {
    this.dir = join(stateDir, 'config');
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  private readJson<T>(name: string): T | null {
    const p = this.path(name);
    if (!existsSync(p)) return null;
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as T;
    } catch {
      return null; // a torn file cannot exist (durable writes); an unreadable one counts as absent
    }
  }

  private write(name: string, value: unknown): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileDurably(this.path(name), JSON.stringify(value) + '\n');
  }

  current(): StoredConfig | null {
    return this.readJson<StoredConfig>('current.json');
  }

  pending(): StoredConfig | null {
    return this.readJson<StoredConfig>('pending.json');
  }

  setPending(doc: SignedConfig, atMs: number): void {
    this.cached = null;
    this.write('pending.json', { doc, atMs } satisfies StoredConfig);
  }

  /** pending → current by rename (atomic), stamped with the time it was applied. */
  promotePending(atMs: number): void {
    this.cached = null;
    const p = this.pending();
    if (!p) return;
    this.write('pending.json', { doc: p.doc, atMs });
    renameSync(this.path('pending.json'), this.path('current.json'));
  }

  dropPending(): void {
    this.cached = null;
    rmSync(this.path('pending.json'), { force: true });
  }

  lastRevision(): number {
    const p = this.path('revision');
    if (!existsSync(p)) return 0;
    const n = Number(readFileSync(p, 'utf8').trim());
    return Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }

  setLastRevision(revision: number): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileDurably(this.path('revision'), `${revision}\n`);
  }

  history(): HistoryEntry[] {
    const p = this.path('history.jsonl');
    if (!existsSync(p)) return [];
    return readFileSync(p, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as HistoryEntry];
        } catch {
          return []; // a line torn by a power cut mid-append
        }
      });
  }

  /** Appends one outcome; past `historySize` entries the file is rewritten with the newest ones. */
  record(e: HistoryEntry): void {
    mkdirSync(this.dir, { recursive: true });
    appendFileSync(this.path('history.jsonl'), JSON.stringify(e) + '\n');
    const all = this.history();
    if (all.length > this.historySize)
      writeFileDurably(
        this.path('history.jsonl'),
        all
          .slice(-this.historySize)
          .map((x) => JSON.stringify(x) + '\n')
          .join(''),
      );
  }

  /** The configuration the pipeline runs on: the pending revision while under its health check. */
  status(): ConfigStatus {
    if (this.cached) return structuredClone(this.cached);
    const c = this.current();
    const p = this.pending();
    const running = p ?? c;
    this.cached = {
      revision: running?.doc.message.revision ?? 0,
      configHash: running?.doc.message.configHash ?? ZERO_HASH,
      state: p ? 'pending' : c ? 'applied' : 'base',
      issuer: running?.doc.message.issuer.toLowerCase() ?? '',
      appliedMs: p ? null : (c?.atMs ?? null),
      pending: p
        ? {
            revision: p.doc.message.revision,
            configHash: p.doc.message.configHash,
            issuer: p.doc.message.issuer.toLowerCase(),
            sinceMs: p.atMs,
          }
        : null,
    };
    return structuredClone(this.cached);
  }
}
