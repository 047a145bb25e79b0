/** `lightnode chain2 decode [FILE|-] [--samples]`: Chain 2 frames (one JSON per line) → normalised records or samples. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  Chain2Mapper,
  LightNodeError,
  decodeChain2Frame,
  exactlyOneFlag,
  flagSpec,
  flagPodId,
  flagString,
  makeSample,
  createLogger,
  parseFlags,
  parseHostPort,
  sampleToJson,
  systemClock,
  untilAborted,
  type Command,
  type CommandGroup,
} from '@lightnode/protocols';
import { HttpChain2Transport, WsChain2Transport } from '../chain2/index.js';

const DECODE_USAGE = `Usage: lightnode chain2 decode [FILE|-] [--samples] [--pod ID] [--meters M1,M2] [--device 0xADDRESS]

Reads Chain 2 frames as published by a certified Chain 2 device (one JSON object per line: Chain2Info, Chain2State or
Chain2Data with CF1, CF5, CF9, CF10, CF20, CF21, CF22, CF23, CF51) and prints one normalised record per line (JSON).
With --samples it prints the resulting protocol samples instead (CF1 quarters, CF21/CF51 power, CF5/CF10 per-band
totals; unsigned, seq from 0, deviceId from --device). --pod (default: the PoD of the first CF20) and --meters
(default M1) enable the checks: a frame for another PoD, an unconfigured meter slot, a decreasing total, a missed
quarter, a date with wildcards — each reported as a JSON diagnostic on stderr. Exit 1 when a line does not decode.`;

const decode: Command = {
  summary: 'decode Chain 2 frames (JSON lines) into records or protocol samples',
  usage: DECODE_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['pod', 'meters', 'device'], boolean: ['samples'] }), DECODE_USAGE);
    if (p.positionals.length > 1) throw new LightNodeError('USAGE', `expected at most one FILE\n\n${DECODE_USAGE}`);
    const file = p.positionals[0] ?? '-';
    const device = (
      flagString(p, 'device', DECODE_USAGE) ?? '0x0000000000000000000000000000000000000000'
    ).toLowerCase();
    if (!/^0x[0-9a-f]{40}$/.test(device))
      throw new LightNodeError('USAGE', `--device: expected a 0x address, received ${JSON.stringify(device)}`);
    const meters = (flagString(p, 'meters', DECODE_USAGE) ?? 'M1').split(',').map((s) => s.trim());
    let pod = flagPodId(p, 'pod', DECODE_USAGE);
    let mapper = pod ? new Chain2Mapper({ podId: pod, meters }) : null;
    const input = file === '-' ? process.stdin : createReadStream(file);
    const opened = new Promise<void>((resolve, reject) => {
      if (file === '-') return resolve();
      input.once('open', () => resolve());
      input.once('error', (e: NodeJS.ErrnoException) =>
        reject(new LightNodeError('IO_ERROR', `${file}: cannot read (${e.code ?? e.message})`, { file })),
      );
    });
    await opened;
    let line = 0;
    let failed = 0;
    let seq = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (!text.trim()) continue;
      const r = decodeChain2Frame(text);
      if (!r.ok) {
        failed++;
        io.stderr(JSON.stringify({ line, code: r.code, error: r.error }));
        continue;
      }
      const f = r.frame;
      if (!mapper && f.kind === 'Chain2Data' && f.type === 'CF20' && f.pod) {
        pod = f.pod;
        mapper = new Chain2Mapper({ podId: pod, meters });
      }
      const m = mapper?.accept(f);
      for (const d of m?.diagnostics ?? []) io.stderr(JSON.stringify({ line, ...d }));
      if (!p.values.samples) {
        const { raw: _raw, ...rest } = f;
        io.stdout(JSON.stringify({ line, ...rest, ...(m?.events.length ? { events: m.events } : {}) }));
        continue;
      }
      for (const rd of m?.readings ?? [])
        io.stdout(
          sampleToJson(
            makeSample({
              deviceId: device,
              podId: pod!,
              seq: seq++,
              tsMs: rd.tsMs,
              source: 'chain2',
              values: rd.values,
            }),
          ),
        );
    }
    if (p.values.samples && !mapper)
      io.stderr(
        JSON.stringify({
          code: 'CHAIN2_POD_MISMATCH',
          message: 'no --pod given and no CF20 seen: cannot build samples (they carry the PoD)',
        }),
      );
    return failed ? 1 : 0;
  },
};

const LISTEN_USAGE = `Usage: lightnode chain2 listen (--ws HOST:PORT | --http HOST:PORT) [--raw]

Connects to a certified Chain 2 gateway's local API (WebSocket: sends "!" and receives pushed frames, reconnecting
with backoff; HTTP: polls /lastcf.json) and prints every frame live as a normalised JSON record (--raw: the frame as
received). Undecodable frames are reported on stderr. Runs until interrupted.`;

const listen: Command = {
  summary: 'show live frames from a Chain 2 gateway',
  usage: LISTEN_USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, flagSpec({ string: ['ws', 'http'], boolean: ['raw'] }), LISTEN_USAGE, false);
    const over = exactlyOneFlag(p, ['ws', 'http'], LISTEN_USAGE);
    const ws = over === 'ws';
    const hp = parseHostPort(flagString(p, over, LISTEN_USAGE, true), over, ws ? 81 : 80);
    const logger = createLogger({ level: 'info', sink: (l) => io.stderr(l) });
    const transport = ws
      ? new WsChain2Transport({ url: `ws://${hp.host}:${hp.port}`, clock: systemClock, logger })
      : new HttpChain2Transport({ baseUrl: `http://${hp.host}:${hp.port}`, clock: systemClock, pollMs: 2000, logger });
    transport.start((text) => {
      if (p.values.raw) return io.stdout(text);
      const r = decodeChain2Frame(text);
      if (!r.ok) return io.stderr(JSON.stringify({ code: r.code, error: r.error }));
      const { raw: _raw, ...rest } = r.frame;
      io.stdout(JSON.stringify(rest));
    });
    await untilAborted(io.signal);
    await transport.stop();
    io.stderr(JSON.stringify({ stopped: true, ...transport.stats() }));
    return 0;
  },
};

const group: CommandGroup = {
  summary: 'Chain 2: decode frames from certified Chain 2 devices, listen to a gateway',
  subcommands: { decode, listen },
};
export default group;
