/**
 * The shape of a `lightnode` subcommand, shared by every package's `cli.ts`, and the flag parser they use.
 * Conventions (ARCHITECTURE.md): JSON results on stdout, logs on stderr; exit 0 ok, 1 failure or invalid input,
 * 2 usage error (a `LightNodeError` with code `USAGE`). Pure: the dispatcher passes the I/O in.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LightNodeError } from './errors.js';
import { validatePodId } from './lightnode/pod.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Aborted on SIGINT / SIGTERM: long-running commands stop cleanly. */
  signal: AbortSignal;
}

export interface Command {
  /** One line shown in the group's help. */
  summary: string;
  /** Full usage text shown by `--help` (first line `Usage: lightnode …`). */
  usage: string;
  /** Runs the command; resolves to the exit code. Throw `LightNodeError('USAGE', …)` for a usage error. */
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** A top-level command with subcommands (`lightnode meter read …`), or a leaf command (`lightnode agent`). */
export type CommandTree = Command | CommandGroup;
export interface CommandGroup {
  summary: string;
  subcommands: Record<string, CommandTree | (() => Promise<CommandTree>)>;
}

export function isGroup(c: CommandTree): c is CommandGroup {
  return 'subcommands' in c;
}

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedFlags {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/**
 * `util.parseArgs` in strict mode; an unknown or malformed flag becomes a `USAGE` error naming it. A negative number
 * after a flag that takes a value (`--target-w -2500`) is that flag's value (parseArgs alone calls it ambiguous).
 */
export function parseFlags(argv: string[], options: FlagSpec, usage: string, allowPositionals = true): ParsedFlags {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const takesValue = a.startsWith('--') && options[a.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const r = parseArgs({ args, options, strict: true, allowPositionals });
    return { values: r.values, positionals: r.positionals };
  } catch (e) {
    throw new LightNodeError('USAGE', `${(e as Error).message}\n\n${usage}`, { argv });
  }
}

/** Reads a string flag; throws `USAGE` when required and missing. */
export function flagString(p: ParsedFlags, name: string, usage: string, required: true): string;
export function flagString(p: ParsedFlags, name: string, usage: string, required?: false): string | undefined;
export function flagString(p: ParsedFlags, name: string, usage: string, required = false): string | undefined {
  const v = p.values[name];
  if (v === undefined) {
    if (required) throw new LightNodeError('USAGE', `missing --${name}\n\n${usage}`, { flag: name });
    return undefined;
  }
  if (typeof v !== 'string') throw new LightNodeError('USAGE', `--${name} needs a value\n\n${usage}`, { flag: name });
  return v;
}

/** Reads a PoD id flag (`--pod`), checked by `validatePodId`; a bad one is a `USAGE` error naming the flag. */
export function flagPodId(p: ParsedFlags, name: string, usage: string): string | undefined {
  const s = flagString(p, name, usage);
  if (s === undefined) return undefined;
  const r = validatePodId(s);
  if (!r.ok) throw new LightNodeError('USAGE', `--${name}: ${r.reason}\n\n${usage}`, { flag: name });
  return s;
}

/** Reads an integer flag within [min, max]; a bad value is a `USAGE` error naming the flag and the value. */
export function flagInt(p: ParsedFlags, name: string, usage: string, min: number, max: number): number | undefined {
  const s = flagString(p, name, usage);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new LightNodeError(
      'USAGE',
      `--${name}: expected an integer ${min}..${max}, received ${JSON.stringify(s)}\n\n${usage}`,
      {
        flag: name,
        received: s,
      },
    );
  return n;
}

/** Parses `HOST:PORT` (IPv6 as `[::1]:502`). */
export function parseHostPort(s: string, flag: string, defaultPort?: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(s);
  const host = m?.[1] ?? m?.[2];
  const port = m?.[3] !== undefined ? Number(m[3]) : defaultPort;
  if (!host || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new LightNodeError('USAGE', `--${flag}: expected HOST:PORT, received ${JSON.stringify(s)}`, {
      flag,
      received: s,
    });
  return { host, port };
}

/**
 * A flag spec from flag names, so a command declares its flags in one line: `string` flags take a value, `boolean`
 * ones do not, `multiple` take a value and may repeat (`--fault A --fault B`).
 */
export function flagSpec(names: {
  string?: readonly string[];
  boolean?: readonly string[];
  multiple?: readonly string[];
}): FlagSpec {
  const spec: FlagSpec = {};
  for (const n of names.string ?? []) spec[n] = { type: 'string' };
  for (const n of names.boolean ?? []) spec[n] = { type: 'boolean' };
  for (const n of names.multiple ?? []) spec[n] = { type: 'string', multiple: true };
  return spec;
}

/** Reads a decimal flag within [min, max]; a bad value is a `USAGE` error naming the flag, the range and the value. */
export function flagNumber(
  p: ParsedFlags,
  name: string,
  usage: string,
  min: number,
  max: number,
  what = `a number ${min}..${max}`,
): number | undefined {
  const s = flagString(p, name, usage);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new LightNodeError('USAGE', `--${name}: expected ${what}, received ${JSON.stringify(s)}\n\n${usage}`, {
      flag: name,
      received: s,
    });
  return n;
}

/** Reads a probability flag (0..1). */
export function flagProbability(p: ParsedFlags, name: string, usage: string): number | undefined {
  return flagNumber(p, name, usage, 0, 1, 'a probability 0..1');
}

/** Exactly one of `names` must be given: returns it; none or several is a `USAGE` error listing them. */
export function exactlyOneFlag<const N extends string>(p: ParsedFlags, names: readonly N[], usage: string): N {
  const given = names.filter((n) => p.values[n] !== undefined);
  if (given.length !== 1)
    throw new LightNodeError(
      'USAGE',
      `give exactly one of ${names.map((n) => `--${n}`).join(', ')}${given.length ? ` (received ${given.map((n) => `--${n}`).join(', ')})` : ''}\n\n${usage}`,
      { flags: names, received: given },
    );
  return given[0]!;
}

/** Resolves when a long-running command is asked to stop (SIGINT / SIGTERM): at once if it already was. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Reads a flag that takes one of `choices`; anything else is a `USAGE` error listing them. */
export function flagChoice<const C extends string>(
  p: ParsedFlags,
  name: string,
  usage: string,
  choices: readonly C[],
): C | undefined {
  const s = flagString(p, name, usage);
  if (s === undefined) return undefined;
  if (!(choices as readonly string[]).includes(s))
    throw new LightNodeError(
      'USAGE',
      `--${name}: expected ${choices.join('|')}, received ${JSON.stringify(s)}\n\n${usage}`,
      { flag: name, received: s },
    );
  return s as C;
}
