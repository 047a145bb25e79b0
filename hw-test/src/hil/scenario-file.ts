/**
 * Reads a scenario file: YAML (the `yaml` package, its LineCounter for positions), then the strict schema of
 * `scenario.ts`. Every problem is one `HIL_SCENARIO_INVALID` naming `file:line:column` of the offending key (an
 * unknown key) or value (a bad one; a missing key: the object that lacks it), its JSON path, what was expected and
 * what was received. The `short` variant is checked too, always: the scenario with its overrides must be valid.
 */
import { readFileSync } from 'node:fs';
import { LightNodeError, describeValue } from '@lightnode/protocols';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ScenarioSchema, type Scenario } from './scenario.js';

/** One problem of a scenario file, as the error's context carries it. */
export interface ScenarioProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** JSON path, e.g. `$.timeline[3].do`. */
  path: string;
  expected: string;
  received: string;
  /** Set when the problem is one of the scenario with its `short` overrides applied. */
  variant?: 'short';
}

export interface LoadScenarioOptions {
  /** Apply the `short` overrides (CI runs). */
  short?: boolean;
}

/** Reads, parses and validates a scenario file; `short`: with its `short` overrides applied. */
export function loadScenario(file: string, o: LoadScenarioOptions = {}): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw invalid([{ file, line: 1, column: 1, path: '$', expected: 'a readable YAML file', received: why }]);
  }
  return parseScenario(text, file, o);
}

/** Parses and validates scenario text; `file` names it in errors. */
export function parseScenario(text: string, file: string, o: LoadScenarioOptions = {}): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const at = (offset: number) => {
    const p = lc.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const bad = doc.errors[0];
  if (bad)
    throw invalid([
      { file, ...at(bad.pos[0]), path: '$', expected: 'valid YAML', received: `${bad.code}: ${bad.message}` },
    ]);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw invalid([{ file, line: 1, column: 1, path: '$', expected: 'valid YAML', received: String(e) }]);
  }
  const full = ScenarioSchema.safeParse(raw);
  if (!full.success) throw invalid(problems(full.error.issues, raw, doc, at, file));
  const short = (raw as { short?: Record<string, unknown> }).short;
  if (!short) return full.data;
  const merged: Record<string, unknown> = { ...(raw as Record<string, unknown>), ...short };
  delete merged.short;
  const r = ScenarioSchema.safeParse(merged);
  // a problem of the short variant lies in `short` when it overrides the key, else in the base document
  if (!r.success) throw invalid(problems(r.error.issues, merged, doc, at, file, short));
  return o.short ? r.data : full.data;
}

type Path = readonly PropertyKey[];

function problems(
  issues: readonly z.core.$ZodIssue[],
  value: unknown,
  doc: Document,
  at: (offset: number) => { line: number; column: number },
  file: string,
  short?: Record<string, unknown>,
): ScenarioProblem[] {
  const found = issues.flatMap(flatten).map((i) => {
    const unknownKey = i.code === 'unrecognized_keys' ? i.keys[0] : undefined;
    const pre = short && typeof i.path[0] === 'string' && i.path[0] in short ? ['short'] : [];
    const valuePath = unknownKey === undefined ? i.path : [...i.path, unknownKey];
    const offset = locate(doc, [...pre, ...valuePath], unknownKey !== undefined);
    const received =
      unknownKey !== undefined ? `the key ${JSON.stringify(unknownKey)}` : describeReceived(valueAt(value, i.path));
    const problem: ScenarioProblem = {
      file,
      ...at(offset),
      path: jsonPath([...pre, ...valuePath]),
      expected: expectation(i),
      received,
      ...(short ? { variant: 'short' as const } : {}),
    };
    return { offset, problem };
  });
  // the first problem in the file comes first (zod reports in schema order)
  return found.sort((a, b) => a.offset - b.offset).map((f) => f.problem);
}

/**
 * A union whose options all failed: when exactly one option got past the root (its problems lie inside the value),
 * that option is what the author meant, and its problems are the ones to show.
 */
function flatten(i: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (i.code !== 'invalid_union' || i.errors.length === 0) return [i];
  const inside = i.errors.filter((opt) => opt.length > 0 && opt.every((x) => x.path.length > 0));
  if (inside.length !== 1) return [i];
  return inside[0]!.flatMap((x) => flatten({ ...x, path: [...i.path, ...x.path] }));
}

function invalid(ps: readonly ScenarioProblem[]): LightNodeError {
  const p = ps[0]!;
  const more = ps.length > 1 ? ` (and ${ps.length - 1} more problem${ps.length > 2 ? 's' : ''})` : '';
  return new LightNodeError(
    'HIL_SCENARIO_INVALID',
    `${p.file}:${p.line}:${p.column}: ${p.path}${p.variant ? ' (with the short overrides)' : ''}: expected ${p.expected}, received ${p.received}${more}`,
    { ...p, problems: ps },
  );
}

/** The source offset of the node at `path`: its key when `key`, else its value; where the path ends early, the
 * deepest node found (a missing key: the object that should hold it). */
function locate(doc: Document, path: Path, key: boolean): number {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  let offset = rangeStart(node) ?? 0;
  for (const k of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value === k : p.key === k));
      if (!pair) return offset;
      keyNode = pair.key;
      next = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof k === 'number' && node.items[k] !== undefined) {
      keyNode = undefined;
      next = node.items[k];
    } else return offset;
    node = next;
    offset = rangeStart(key && keyNode ? keyNode : node) ?? offset;
  }
  return offset;
}

function rangeStart(n: unknown): number | undefined {
  const r = (n as { range?: [number, number, number] } | null)?.range;
  return r?.[0];
}

function valueAt(v: unknown, path: Path): unknown {
  return path.reduce<unknown>(
    (o, k) => (o !== null && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[k] : undefined),
    v,
  );
}

function describeReceived(v: unknown): string {
  return v === undefined ? 'nothing (the key is missing)' : describeValue(v);
}

/** `$.timeline[3].do`. */
function jsonPath(path: Path): string {
  return (
    '$' +
    path
      .map((k) =>
        typeof k === 'number'
          ? `[${k}]`
          : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(k))
            ? `.${String(k)}`
            : `[${JSON.stringify(String(k))}]`,
      )
      .join('')
  );
}

/** What the schema wanted, in words (custom checks say it in their message: `expected …`). */
function expectation(i: z.core.$ZodIssue): string {
  if (i.message.startsWith('expected ')) return i.message.slice('expected '.length);
  const size = (n: number | bigint, inclusive: boolean | undefined, below: boolean, origin: string) => {
    if (origin === 'array') return below ? `at least ${n} item(s)` : `at most ${n} item(s)`;
    if (origin === 'string') return below ? `at least ${n} character(s)` : `at most ${n} character(s)`;
    return `a number ${below ? (inclusive ? '≥' : '>') : inclusive ? '≤' : '<'} ${n}`;
  };
  switch (i.code) {
    case 'invalid_type':
      return i.expected === 'int' ? 'an integer' : i.expected === 'object' ? 'an object' : `a ${i.expected}`;
    case 'invalid_value':
      return i.values.length === 1
        ? JSON.stringify(i.values[0])
        : `one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return size(i.minimum, i.inclusive, true, i.origin);
    case 'too_big':
      return size(i.maximum, i.inclusive, false, i.origin);
    case 'invalid_format':
      return i.format === 'regex' && 'pattern' in i ? `a string matching ${String(i.pattern)}` : `a ${i.format}`;
    default:
      return i.message;
  }
}
