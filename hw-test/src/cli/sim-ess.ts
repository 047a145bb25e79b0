/** `lightnode sim ess`: a simulated battery (ESS) with its site and PoD meter, over SunSpec, a profile, REST or MQTT. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  LightNodeError,
  exactlyOneFlag,
  flagChoice,
  flagInt,
  flagNumber,
  flagSpec,
  flagString,
  parseFlags,
  parseHostPort,
  untilAborted,
} from '@lightnode/protocols';
import type { Command } from '@lightnode/protocols';
import { newEmsToken, startEssSim, type EssInterface } from '../sim/ess/index.js';

const USAGE = `Usage: lightnode sim ess (--sunspec | --profile ID | --rest HOST:PORT | --mqtt URL --topic T) [--tcp HOST:PORT]
                        [--unit 1] [--meter-unit 2] [--meter-profile eastron/sdm630] [--rated-va 3000]
                        [--max-discharge-w W] [--max-charge-w W] [--capacity-wh 4800] [--soc 500] [--efficiency 0.92]
                        [--autonomous self-consumption|idle] [--load-w W] [--pv-peak W] [--models 1,124,701,702,704,713]
                        [--token-file F] [--fault SPEC]… [--seed N]

A battery (default the pilot's 3 kVA / 4.8 kWh at SoC 500 ‰; max active power = --rated-va both ways, PF 1) with
round-trip efficiency (√η per direction), stops at SoC 0 and 1000 ‰, its own revert timer, a house load (constant
with --load-w, else a daily load model) and PV, and a PoD meter (--meter-unit, --meter-profile) reading house load −
PV − battery power (import positive), its energy counters integrating it. Autonomous mode: self-consumption (the
battery covers load − PV) or idle.
Interfaces: --sunspec: Modbus TCP (--tcp, default 127.0.0.1:0), "SunS" at 40000, model 1 then --models; writes to
704 WSetEna/WSetMod/WSet/WSetRvrtTms or 124 StorCtl_Mod/OutWRte/InWRte/InOutWRte_RvrtTms command it. The PoD meter
is unit --meter-unit on the same server. --rest: PUT /setpoint {essPowerW, validUntilMs}, DELETE /setpoint,
GET /state, bearer token (read from --token-file, or generated: written to --token-file when it does not exist,
and printed in the listening line). --mqtt: {T}/set (same JSON, {} releases), retained {T}/state. With --rest or
--mqtt, --tcp serves the PoD meter.
Faults (repeatable): refuse[@P] (writes → Modbus exception 4 / HTTP 503), silent-revert:S (S s after a command
power goes back to autonomous, registers and state still say remote), fake-mode (reports remote and the setpoint,
power never follows), drop-connection[@P]; and the Modbus transport faults of lightnode sim meter.
Prints {"listening": …} as JSON on stdout, then one JSON line per battery change {atMs, event:
"command"|"revert"|"release"|"fault", essPowerW, socPermille, …}; runs until interrupted.`;

const FLAGS = flagSpec({
  string: [
    'profile',
    'rest',
    'mqtt',
    'topic',
    'tcp',
    'unit',
    'meter-unit',
    'meter-profile',
    'rated-va',
    'max-discharge-w',
    'max-charge-w',
    'capacity-wh',
    'soc',
    'efficiency',
    'autonomous',
    'load-w',
    'pv-peak',
    'models',
    'token-file',
    'seed',
  ],
  boolean: ['sunspec'],
  multiple: ['fault'],
});

/** The bearer token: read from the file, or generated (and written to the file when one is named). */
function token(file: string | undefined): { token: string; generated: boolean } {
  if (file && existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (t.length < 16)
      throw new LightNodeError(
        'USAGE',
        `--token-file ${file}: expected a token of ≥ 16 characters, received ${t.length}`,
        {
          flag: 'token-file',
        },
      );
    return { token: t, generated: false };
  }
  const t = newEmsToken();
  if (file) writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return { token: t, generated: true };
}

function parseModels(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  const ids = s.split(',').map((x) => Number(x.trim()));
  if (ids.some((n) => !Number.isInteger(n) || n < 1 || n > 65534))
    throw new LightNodeError('USAGE', `--models: expected model ids like 1,124,701, received ${JSON.stringify(s)}`, {
      flag: 'models',
    });
  return ids;
}

const simEss: Command = {
  summary: 'simulate a battery (ESS) with its PoD meter: SunSpec / profile over Modbus TCP, REST or MQTT EMS',
  usage: USAGE,
  async run(argv, io) {
    const p = parseFlags(argv, FLAGS, USAGE, false);
    const over = exactlyOneFlag(p, ['sunspec', 'profile', 'rest', 'mqtt'], USAGE);
    let tok: { token: string; generated: boolean } | undefined;
    let iface: EssInterface;
    if (over === 'rest') {
      tok = token(flagString(p, 'token-file', USAGE));
      iface = { kind: 'rest', ...parseHostPort(flagString(p, 'rest', USAGE, true), 'rest'), token: tok.token };
    } else if (over === 'mqtt')
      iface = { kind: 'mqtt', url: flagString(p, 'mqtt', USAGE, true), topic: flagString(p, 'topic', USAGE, true) };
    else if (over === 'profile') iface = { kind: 'profile', profile: flagString(p, 'profile', USAGE, true) };
    else {
      const models = parseModels(flagString(p, 'models', USAGE));
      iface = { kind: 'sunspec', ...(models ? { models } : {}) };
    }
    const tcpText = flagString(p, 'tcp', USAGE);
    const opt = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
    const sim = await startEssSim({
      interface: iface,
      ...(tcpText ? { tcp: parseHostPort(tcpText, 'tcp') } : {}),
      ...opt('unit', flagInt(p, 'unit', USAGE, 1, 247)),
      ...opt('meterUnit', flagInt(p, 'meter-unit', USAGE, 1, 247)),
      ...opt('meterProfile', flagString(p, 'meter-profile', USAGE)),
      battery: {
        ...opt('ratedVA', flagInt(p, 'rated-va', USAGE, 1, 100_000_000)),
        ...opt('maxDischargeW', flagInt(p, 'max-discharge-w', USAGE, 0, 100_000_000)),
        ...opt('maxChargeW', flagInt(p, 'max-charge-w', USAGE, 0, 100_000_000)),
        ...opt('capacityWh', flagInt(p, 'capacity-wh', USAGE, 1, 1_000_000_000)),
        ...opt('socPermille', flagInt(p, 'soc', USAGE, 0, 1000)),
        ...opt('roundTripEfficiency', flagNumber(p, 'efficiency', USAGE, 0.01, 1)),
        ...opt('autonomous', flagChoice(p, 'autonomous', USAGE, ['self-consumption', 'idle'] as const)),
      },
      ...opt('loadW', flagInt(p, 'load-w', USAGE, 0, 100_000_000)),
      ...opt('pvPeakW', flagInt(p, 'pv-peak', USAGE, 0, 100_000_000)),
      ...opt('seed', flagInt(p, 'seed', USAGE, 0, 2 ** 31)),
      faults: (p.values.fault as string[] | undefined) ?? [],
      onEvent: (e) => io.stdout(JSON.stringify(e)),
    });
    const b = sim.sim.battery;
    io.stdout(
      JSON.stringify({
        listening: sim.listening,
        interface: iface.kind,
        ...(iface.kind === 'sunspec' || iface.kind === 'profile'
          ? { unit: flagInt(p, 'unit', USAGE, 1, 247) ?? 1 }
          : {}),
        ...(sim.meter ? { meter: sim.meter } : {}),
        ...(sim.topic ? { topic: sim.topic } : {}),
        ...(tok?.generated ? { token: tok.token } : {}),
        ratedVA: b.ratedVA,
        maxDischargeW: b.maxDischargeW,
        maxChargeW: b.maxChargeW,
        capacityWh: b.capacityWh,
        socPermille: b.socPermille(),
        faults: (p.values.fault as string[] | undefined) ?? [],
      }),
    );
    io.stderr(`simulating a ${b.ratedVA} VA / ${b.capacityWh} Wh battery on ${sim.listening}; Ctrl-C to stop`);
    await untilAborted(io.signal);
    await sim.stop();
    return 0;
  },
};
export default simEss;
