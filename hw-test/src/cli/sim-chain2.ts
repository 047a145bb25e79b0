/** `lightnode sim chain2`: a simulated certified Chain 2 gateway (WebSocket, HTTP or serial line). */
import {
  LightNodeError,
  exactlyOneFlag,
  flagInt,
  flagNumber,
  flagProbability,
  flagSpec,
  flagPodId,
  flagString,
  parseFlags,
  parseHostPort,
  untilAborted,
  type Command,
} from '@lightnode/protocols';
import { serveChain2Http, serveChain2Serial, serveChain2Ws } from '../sim/chain2/index.js';
import { createPtyPair, type PtyPair } from '../sim/serial/pty-pair.js';

const USAGE = `Usage: lightnode sim chain2 (--ws HOST:PORT | --http HOST:PORT | --serial PATH|pty) [--pod ID] [--speed N]
                           [--start ISO-8601] [--pv-peak W] [--lose P] [--duplicate P] [--late P] [--malformed P]
                           [--reboot-every S] [--seed N]

A meter behind a certified Chain 2 gateway: CF20 at start, CF1 every quarter (+ jitter), CF21/CF51 on power steps,
CF22 over the available power, CF5 daily, CF9 weekly, CF10 monthly, F1/F2/F3 in Europe/Rome time. --speed runs time
faster (600 = a quarter every 1.5 s). WebSocket clients send "!" first (Chain2Gate protocol).
Faults, each a probability per frame: --lose, --duplicate (a second copy), --late (published 1 to 5 simulated minutes
late), --malformed (cut in half). --reboot-every S: every S wall-clock seconds the gateway restarts (connections
dropped, counters read 0 for a quarter). Prints {"listening": …} on stdout and runs until interrupted.`;

const FAULTS = ['lose', 'duplicate', 'late', 'malformed'] as const;
const FLAGS = flagSpec({
  string: ['ws', 'http', 'serial', 'pod', 'speed', 'start', 'pv-peak', 'seed', 'reboot-every', ...FAULTS],
});

const simChain2: Command = {
  summary: 'simulate a Chain 2 gateway (WebSocket, HTTP or serial line)',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, FLAGS, USAGE, false);
    const target = exactlyOneFlag(p, ['ws', 'http', 'serial'], USAGE);
    const startText = flagString(p, 'start', USAGE);
    const startMs = startText ? Date.parse(startText) : Math.floor(Date.now() / 900_000) * 900_000;
    if (!Number.isFinite(startMs))
      throw new LightNodeError('USAGE', `--start: expected an ISO-8601 time, received ${JSON.stringify(startText)}`);
    const faults: Record<string, number> = {};
    for (const k of FAULTS) {
      const v = flagProbability(p, k, USAGE);
      if (v !== undefined) faults[k] = v;
    }
    const rebootEveryS = flagNumber(p, 'reboot-every', USAGE, 0.1, 86_400 * 365, 'wall-clock seconds 0.1..31536000');
    const common = {
      pod: flagPodId(p, 'pod', USAGE) ?? 'IT001E01524052',
      startMs,
      speed: flagInt(p, 'speed', USAGE, 1, 100_000) ?? 1,
      pvPeakW: flagInt(p, 'pv-peak', USAGE, 0, 1_000_000) ?? 0,
      seed: flagInt(p, 'seed', USAGE, 0, 2 ** 31) ?? 1,
      faults,
      ...(rebootEveryS !== undefined ? { rebootEveryS } : {}),
    };
    let close: () => Promise<void>;
    let listening: string;
    let pty: PtyPair | undefined;
    let clientPath: string | undefined;
    if (target === 'ws') {
      const { host, port } = parseHostPort(flagString(p, 'ws', USAGE)!, 'ws', 81);
      const gw = await serveChain2Ws({ ...common, host, port });
      listening = gw.url;
      close = gw.close;
    } else if (target === 'http') {
      const { host, port } = parseHostPort(flagString(p, 'http', USAGE)!, 'http', 80);
      const s = await serveChain2Http({ ...common, host, port });
      listening = s.address;
      close = s.close;
    } else {
      let path = flagString(p, 'serial', USAGE)!;
      if (path === 'pty') {
        pty = await createPtyPair();
        path = pty.a;
        clientPath = pty.b;
      }
      const s = await serveChain2Serial({ ...common, path });
      listening = s.address;
      close = s.close;
    }
    io.stdout(
      JSON.stringify({
        listening,
        ...(clientPath ? { clientPath } : {}),
        pod: common.pod,
        speed: common.speed,
        startMs,
        faults,
        ...(rebootEveryS !== undefined ? { rebootEveryS } : {}),
      }),
    );
    io.stderr(
      `simulating a Chain 2 gateway for PoD ${common.pod} on ${clientPath ?? listening} at ${common.speed}× real time; Ctrl-C to stop`,
    );
    await untilAborted(io.signal);
    await close();
    await pty?.stop();
    return 0;
  },
};
export default simChain2;
