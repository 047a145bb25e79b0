/**
 * Structured logging: one injected `Logger`, JSON lines (`{ts, level, msg, ...fields}`) to a sink chosen by the
 * program (stderr for the CLI; JSON on stdout is reserved for command results). Hex dumps only at `trace`.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 99 };

export interface Logger {
  trace(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines all carry `fields` (e.g. `{component: 'outbox'}`). */
  child(fields: Record<string, unknown>): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where each JSON line goes (without the trailing newline). */
  sink: (line: string) => void;
  /** Epoch ms; injected for deterministic tests. */
  now?: () => number;
  fields?: Record<string, unknown>;
}

function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return `0x${Buffer.from(v).toString('hex')}`;
  if (v instanceof Error) return { name: v.name, message: v.message, ...(v as unknown as Record<string, unknown>) };
  return v;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? 'info';
  const now = opts.now ?? Date.now;
  const base = opts.fields ?? {};
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < ORDER[level]) return;
    opts.sink(JSON.stringify({ ts: new Date(now()).toISOString(), level: lvl, msg, ...base, ...fields }, replacer));
  };
  return {
    level,
    trace: (m, f) => emit('trace', m, f),
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, level, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, library defaults). */
export const silentLogger: Logger = createLogger({ level: 'silent', sink: () => undefined });

/** A logger that keeps its parsed lines in memory, for tests that assert on what was logged. */
export function memoryLogger(level: LogLevel = 'trace'): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level,
    sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
    now: () => 0,
  });
  return Object.assign(logger, { lines });
}
