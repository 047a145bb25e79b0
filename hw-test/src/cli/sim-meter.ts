/** `lightnode sim meter`: a simulated Modbus meter from any profile, over TCP or RTU, with faults. */
import {
  PARITIES,
  builtinProfiles,
  exactlyOneFlag,
  flagChoice,
  flagInt,
  flagSpec,
  flagString,
  parseFlags,
  parseHostPort,
  systemClock,
  untilAborted,
  type Command,
} from '@lightnode/protocols';
import { MeterSimulator, parseFault, serveRtu, serveTcp, type RunningServer } from '../sim/modbus/index.js';
import { createPtyPair, type PtyPair } from '../sim/serial/pty-pair.js';

const USAGE = `Usage: lightnode sim meter --profile ID (--tcp HOST:PORT | --serial PATH|pty) [--baud N] [--parity none|even|odd]
                          [--unit N] [--fault SPEC]… [--wire-timing] [--turnaround MS] [--pv-peak W] [--seed N]

Serves a simulated meter whose register image is generated from the profile and driven by a load model (energies
only increase). --serial pty makes a virtual serial line (socat pty pair) and prints the client's end.
--wire-timing delays replies as a real line at --baud would (a pty ignores baud).
Faults (repeatable, KIND[:ARG][@PROBABILITY]): timeout, bad-crc, wrong-unit, exception:CODE, corrupt-byte, slow:MS,
drop-connection, reboot:EVERY_MS/DOWN_MS (no answer, then registers read 0).
Prints {"listening": …} as JSON on stdout, runs until interrupted (Ctrl-C / SIGTERM).`;

const FLAGS = flagSpec({
  string: ['profile', 'tcp', 'serial', 'baud', 'parity', 'unit', 'turnaround', 'pv-peak', 'seed'],
  boolean: ['wire-timing'],
  multiple: ['fault'],
});

const simMeter: Command = {
  summary: 'simulate a Modbus meter from a profile (TCP or RTU), with faults',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, FLAGS, USAGE, false);
    const profiles = builtinProfiles();
    const profile = profiles.get(flagString(p, 'profile', USAGE, true));
    const over = exactlyOneFlag(p, ['tcp', 'serial'], USAGE);
    const address = flagString(p, over, USAGE, true);
    const unit = flagInt(p, 'unit', USAGE, 1, 247) ?? profile.transport.unitId ?? 1;
    const baud = flagInt(p, 'baud', USAGE, 300, 921_600) ?? profile.transport.baud ?? 9600;
    const parity = flagChoice(p, 'parity', USAGE, PARITIES) ?? profile.transport.parity ?? 'none';
    const faults = ((p.values.fault as string[] | undefined) ?? []).map(parseFault);
    const sim = new MeterSimulator({
      profile,
      unit,
      clock: systemClock,
      faults,
      sunspec: { profiles },
      load: {
        pvPeakW: flagInt(p, 'pv-peak', USAGE, 0, 10_000_000) ?? 0,
        seed: flagInt(p, 'seed', USAGE, 0, 2 ** 31) ?? Date.now() % 1e6,
      },
    });
    let server: RunningServer;
    let pty: PtyPair | undefined;
    let clientPath: string | undefined;
    if (over === 'tcp') {
      const { host, port } = parseHostPort(address, 'tcp');
      server = await serveTcp([sim], { host, port });
    } else {
      let path = address;
      if (path === 'pty') {
        pty = await createPtyPair();
        path = pty.a;
        clientPath = pty.b;
      }
      server = await serveRtu([sim], {
        path,
        baud,
        parity,
        wireTiming: p.values['wire-timing'] === true,
        turnaroundMs: flagInt(p, 'turnaround', USAGE, 0, 10_000) ?? 0,
      });
    }
    io.stdout(
      JSON.stringify({
        listening: server.address,
        ...(clientPath ? { clientPath } : {}),
        profile: profile.id,
        unit,
        ...(over === 'tcp' ? {} : { baud, parity }),
        faults: faults.map((f) => f.kind),
      }),
    );
    io.stderr(
      `simulating ${profile.id} (unit ${unit}) on ${clientPath ? `${clientPath} (client end)` : server.address}; Ctrl-C to stop`,
    );
    await untilAborted(io.signal);
    await server.close();
    await pty?.stop();
    io.stderr(
      `stopped after ${sim.stats.requests} requests (${sim.stats.faults} faults injected, ${server.stats.discardedBytes} garbage bytes discarded)`,
    );
    return 0;
  },
};
export default simMeter;
