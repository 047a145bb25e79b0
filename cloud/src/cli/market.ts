/**
 * `lightnode market …`: the flexibility market's tools. `clear` clears a day-ahead session offline (SESSION.json →
 * the market outcome). A group: more subcommands (the market's REST service) slot in beside it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  LightNodeError,
  flagSpec,
  flagString,
  parseFlags,
  type Command,
  type CommandGroup,
  type CommandIo,
} from '@lightnode/protocols';
import { parseJson } from '../http/body.js';
import { clearMarket, type MarketOutcome } from '../market/clear.js';
import { parseSession } from '../market/documents.js';

/** The I/O of a market command: `stdin` may be given (tests); else the process's standard input is read. */
export type MarketIo = CommandIo & { stdin?: () => Promise<string> };

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a JSON document from a file, or from standard input for `-` (IO_ERROR, DECODE_ERROR naming the source). */
export async function readJsonInput(path: string, io: MarketIo): Promise<unknown> {
  const source = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = path === '-' ? await (io.stdin ?? readProcessStdin)() : readFileSync(resolve(io.cwd, path), 'utf8');
  } catch (e) {
    throw new LightNodeError('IO_ERROR', `${source}: cannot read (${(e as Error).message})`, { file: source });
  }
  return parseJson(text, source);
}

const CLEAR_USAGE = `Usage: lightnode market clear --in SESSION.json|- [--json]

Clears a day-ahead flexibility session: SESSION.json = {marketType: "dayAhead", startTime, duration, interval,
podRegistry: [{pod, pom, aggregator, baselinekW: {"50": kW}}], requests: [...], offers: [...]} (Platone
flexibilityService documents; \`-\` reads it from standard input). Requests are levels of a PoD set (TSO: a PoM),
offers deltas from baseline; DSO requests first, price priority, pay-as-clear per request.

  --json   print the market outcome document {marketType, startTime, duration, interval,
           flexibility: [{pod, power: [{index, acceptedPValue, acceptedPPrice, playerRequestId, playerOfferId,
           playerServiceId}]}], requests: [{playerServiceId, playerId, index, needkW, acceptedkW, status}]}
           (without it: a table per request and per accepted service)

Exit 0 cleared; 1 unreadable or invalid session (SCHEMA_INVALID naming the field, MARKET_POD_UNKNOWN,
MARKET_BASELINE_MISSING); 2 usage error.`;

const kw = (v: number) => v.toFixed(3);

/** The outcome as a table for people: per request, then per accepted service. */
export function outcomeTable(o: MarketOutcome): string[] {
  const services = o.flexibility.flatMap((f) => f.power.map((p) => ({ pod: f.pod, ...p })));
  // a request's clearing price: the price of its services (one request per player and slot in the Platone flow)
  const priceOf = (playerId: string, index: number) =>
    services.find((p) => p.playerRequestId === playerId && p.index === index)?.acceptedPPrice;
  const rows = (head: string[], body: string[][]) => {
    const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    return [head, ...body].map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    );
  };
  return [
    `session ${o.startTime} (${o.marketType}, ${o.duration} h × ${o.interval} min): ${o.requests.length} request slot(s), ${services.length} service(s) accepted`,
    '',
    ...rows(
      ['request', 'player', 'slot', 'need kW', 'accepted kW', 'status', 'price €/kW'],
      o.requests.map((r) => [
        r.playerServiceId,
        r.playerId,
        String(r.index),
        kw(r.needkW),
        kw(r.acceptedkW),
        r.status,
        r.status === 'none' ? '–' : String(priceOf(r.playerId, r.index) ?? '–'),
      ]),
    ),
    '',
    ...rows(
      ['pod', 'slot', 'level kW', 'price €/kW', 'for', 'offer by', 'offer'],
      services.map((p) => [
        p.pod,
        String(p.index),
        kw(p.acceptedPValue),
        String(p.acceptedPPrice),
        p.playerRequestId,
        p.playerOfferId,
        p.playerServiceId,
      ]),
    ),
  ];
}

const clear: Command = {
  summary: 'clear a day-ahead session (SESSION.json or stdin) on price priority',
  usage: CLEAR_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['in'], boolean: ['json'] }), CLEAR_USAGE, false);
    const input = flagString(p, 'in', CLEAR_USAGE, true);
    const session = parseSession(await readJsonInput(input, io));
    const outcome = clearMarket(session);
    if (p.values.json) io.stdout(JSON.stringify(outcome));
    else for (const line of outcomeTable(outcome)) io.stdout(line);
    return 0;
  },
};

const group: CommandGroup = {
  summary: 'flexibility market: clear a day-ahead session',
  subcommands: { clear },
};
export default group;
