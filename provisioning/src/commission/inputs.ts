/**
 * The inputs of `lightnode commission`: flags, or the same keys in `--answers FILE.json` (flags win over answers).
 * The PoD is looked at first, before anything else is read or opened: `podFirst` runs on the raw argv.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  LightNodeError,
  flagSpec,
  flagString,
  parseFlags,
  POD_RULES,
  validatePodId,
  type FlagSpec,
  type ParsedFlags,
} from '@lightnode/protocols';
import type { CommissionInputs } from './types.js';

export const DEFAULT_STATE_DIR = '/var/lib/lightnode';
export const DEFAULT_CONFIG_OUT = '/etc/lightnode/agent.json';

export const USAGE = `Usage: lightnode commission [--non-interactive] [--answers FILE.json] --pod ID [--serial S] [--installer NAME]
                          [--rs485 PATH,…] [--full-scan] [--tcp HOST[:PORT],…] [--chain2 URL] [--battery-test]
                          [--cloud URL] [--enroll URL --token T] [--state-dir DIR] [--key-file F]
                          [--config-out FILE] [--out DIR] [--json]

Commissions a Light Node on site. The PoD (--pod) is checked first: a malformed one exits 1 before anything else.
Then the checks, in order (each pass, fail or skip; skip names the flag that enables it):
  identity    the device's serial (--serial, else /proc/device-tree/serial-number, else /etc/machine-id) and
              address (the key file, made when absent), with a QR code of the address
  pod         the PoD id (validatePodId)
  rs485       per --rs485 port: the profiles' identification at each baud/parity, unit ids (--full-scan: 1–247)
  modbus-tcp  per --tcp host (502 and 1502 when no port): identification, then SunSpec discovery
  chain2      the POD the Chain 2 gateway at --chain2 (ws:// or http://) reports, against --pod
  battery     the found ESS: a harmless write (0 W) read back, then released; --battery-test: ±500 W for 10 s each
              way, the PoD meter moving the right way
  cloud       --cloud mqtt(s)://HOST[:PORT]: DNS, TCP, TLS (mqtts), MQTT connect, publish → PUBACK (ms each)
  enroll      --enroll URL --token T: the device enrolled (no shared secret)
  config      the agent config from what was found, written atomically to --config-out (the old one kept as .bak)
  report      OUT/commissioning-<serial>-<UTC time>.json (signed) and .html, queued in the outbox as a report
Defaults: --state-dir ${DEFAULT_STATE_DIR}, --key-file <state-dir>/device.key, --config-out ${DEFAULT_CONFIG_OUT},
--out <state-dir>/commissioning/, --installer "". --answers FILE.json: the same inputs as a JSON object (keys podId,
serial, installer, rs485 [..], fullScan, tcp [..], chain2, batteryTest, cloud, enroll {url, token}, stateDir, keyFile,
configOut, out). --json prints {result, deviceId, serial, podId, meters, chain2, checks, configPath, report}.
Exit 0 when no check failed, 1 otherwise.`;

export const FLAGS: FlagSpec = flagSpec({
  string: [
    'answers',
    'pod',
    'serial',
    'installer',
    'rs485',
    'tcp',
    'chain2',
    'cloud',
    'enroll',
    'token',
    'state-dir',
    'key-file',
    'config-out',
    'out',
  ],
  boolean: ['non-interactive', 'full-scan', 'battery-test', 'json'],
});

const POD_FORMAT = POD_RULES.map((r) => `${r.prefix === '*' ? 'other countries' : r.prefix}: ${r.expected}`).join('; ');

/** `POD_INVALID` quoting the value and the format. */
export function podError(value: unknown, where: string, reason: string): LightNodeError {
  return new LightNodeError(
    'POD_INVALID',
    `${where}: ${JSON.stringify(value)} is not a PoD id (${reason}). The format: ${POD_FORMAT}. Give the customer's PoD as printed on the bill.`,
    { field: where, received: value },
  );
}

/**
 * The first thing the command does: a `--pod` on the command line is checked by `validatePodId` before flags are
 * otherwise parsed or any file is read (`--pod=X` and `--pod X` alike).
 */
export function podFirst(argv: readonly string[]): void {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = a === '--pod' ? argv[i + 1] : a.startsWith('--pod=') ? a.slice(6) : undefined;
    if (v === undefined) continue;
    const r = validatePodId(v);
    if (!r.ok) throw podError(v, '--pod', r.reason);
  }
}

const list = z.union([z.array(z.string().min(1)), z.string().min(1)]).transform((v) => splitList(v));

/** `--answers FILE.json`: the same inputs as flags, camelCase; unknown keys refused. */
export const AnswersSchema = z
  .object({
    podId: z.string().optional(),
    serial: z.string().min(1).optional(),
    installer: z.string().optional(),
    rs485: list.optional(),
    fullScan: z.boolean().optional(),
    tcp: list.optional(),
    chain2: z
      .string()
      .regex(/^(wss?|https?):\/\//, 'a ws://, wss://, http:// or https:// URL')
      .optional(),
    batteryTest: z.boolean().optional(),
    cloud: z
      .string()
      .regex(/^mqtts?:\/\//, 'an mqtt:// or mqtts:// URL')
      .optional(),
    enroll: z
      .object({ url: z.string().regex(/^https?:\/\//, 'an http(s):// URL'), token: z.string().min(1) })
      .strict()
      .optional(),
    stateDir: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    configOut: z.string().min(1).optional(),
    out: z.string().min(1).optional(),
  })
  .strict();
export type Answers = z.infer<typeof AnswersSchema>;

const splitList = (v: string | string[]): string[] =>
  (Array.isArray(v) ? v : [v])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Reads and validates an answers file; errors name the file and the key. */
export function readAnswers(file: string): Answers {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LightNodeError(
      'INPUT_INVALID',
      `--answers ${file}: cannot read a JSON document (${(e as Error).message})`,
      {
        file,
      },
    );
  }
  // the PoD first, as on the command line
  const podId = doc !== null && typeof doc === 'object' ? (doc as { podId?: unknown }).podId : undefined;
  if (podId !== undefined) {
    const pod = validatePodId(podId);
    if (!pod.ok) throw podError(podId, `--answers ${file}: podId`, pod.reason);
  }
  const r = AnswersSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const key = i.path.length ? i.path.join('.') : i.code === 'unrecognized_keys' ? i.keys.join(', ') : '$';
    const what =
      i.code === 'unrecognized_keys'
        ? `unknown key (expected one of ${Object.keys(AnswersSchema.shape).join(', ')})`
        : i.message;
    throw new LightNodeError('INPUT_INVALID', `--answers ${file}: ${key}: ${what}`, { file, key });
  }
  return r.data;
}

const flagList = (p: ParsedFlags, name: string): string[] | undefined => {
  const v = flagString(p, name, USAGE);
  return v === undefined ? undefined : splitList(v);
};

/** Flags (over `--answers`) → inputs with defaults. USAGE when a needed flag is missing or inconsistent. */
export function resolveInputs(argv: string[]): CommissionInputs {
  return resolveInputsGiven(argv).inputs;
}

/** Whether the run asks questions: a TTY both ways, and neither `--non-interactive` nor `--json`. */
export function isInteractive(argv: readonly string[], tty: boolean): boolean {
  return tty && !argv.some((a) => a === '--non-interactive' || a === '--json');
}

/**
 * `resolveInputs`, also saying which inputs the flags or `--answers` gave (`given`: the rest are defaults, which the
 * interactive mode asks for). With `requirePod: false` (interactive: the PoD is the first question) a missing PoD is
 * `podId: ''`; a given one is still checked first.
 */
export function resolveInputsGiven(
  argv: string[],
  o: { requirePod?: boolean } = {},
): { inputs: CommissionInputs; given: ReadonlySet<keyof CommissionInputs> } {
  podFirst(argv);
  const p = parseFlags(argv, FLAGS, USAGE, false);
  const answersFile = flagString(p, 'answers', USAGE);
  const a: Partial<Answers> = answersFile !== undefined ? readAnswers(answersFile) : {};
  const podGiven = flagString(p, 'pod', USAGE) ?? a.podId;
  if (podGiven === undefined && o.requirePod !== false)
    throw new LightNodeError('USAGE', `missing --pod (the customer's PoD id, or podId in --answers)\n\n${USAGE}`, {
      flag: 'pod',
    });
  const podId = podGiven ?? '';
  const given = new Set<keyof CommissionInputs>();
  const mark = (key: keyof CommissionInputs, flag: string, ans: unknown): void => {
    if (p.values[flag] !== undefined || ans !== undefined) given.add(key);
  };
  mark('podId', 'pod', a.podId);
  mark('serial', 'serial', a.serial);
  mark('installer', 'installer', a.installer);
  mark('rs485', 'rs485', a.rs485);
  mark('tcp', 'tcp', a.tcp);
  mark('chain2', 'chain2', a.chain2);
  mark('batteryTest', 'battery-test', a.batteryTest);
  mark('cloud', 'cloud', a.cloud);
  mark('enroll', 'enroll', a.enroll);
  const enrollUrl = flagString(p, 'enroll', USAGE) ?? a.enroll?.url;
  const token = flagString(p, 'token', USAGE) ?? a.enroll?.token;
  if ((enrollUrl === undefined) !== (token === undefined))
    throw new LightNodeError('USAGE', `--enroll URL and --token T go together\n\n${USAGE}`, { flag: 'token' });
  if (enrollUrl !== undefined && !/^https?:\/\//.test(enrollUrl))
    throw new LightNodeError(
      'USAGE',
      `--enroll: expected an http(s):// URL, received ${JSON.stringify(enrollUrl)}`,
      {},
    );
  const cloud = flagString(p, 'cloud', USAGE) ?? a.cloud;
  if (cloud !== undefined && !/^mqtts?:\/\/[^/]/.test(cloud))
    throw new LightNodeError(
      'USAGE',
      `--cloud: expected mqtt://HOST[:PORT] or mqtts://…, received ${JSON.stringify(cloud)}`,
      {
        flag: 'cloud',
      },
    );
  const chain2 = flagString(p, 'chain2', USAGE) ?? a.chain2;
  if (chain2 !== undefined && !/^(wss?|https?):\/\/[^/]/.test(chain2))
    throw new LightNodeError(
      'USAGE',
      `--chain2: expected a ws:// or http:// URL of the gateway, received ${JSON.stringify(chain2)}`,
      {
        flag: 'chain2',
      },
    );
  const stateDir = flagString(p, 'state-dir', USAGE) ?? a.stateDir ?? DEFAULT_STATE_DIR;
  const serial = flagString(p, 'serial', USAGE) ?? a.serial;
  const bool = (flag: string, ans: boolean | undefined): boolean => p.values[flag] === true || ans === true;
  const inputs: CommissionInputs = {
    podId,
    ...(serial !== undefined ? { serial } : {}),
    installer: flagString(p, 'installer', USAGE) ?? a.installer ?? '',
    rs485: flagList(p, 'rs485') ?? a.rs485 ?? [],
    fullScan: bool('full-scan', a.fullScan),
    tcp: flagList(p, 'tcp') ?? a.tcp ?? [],
    ...(chain2 !== undefined ? { chain2 } : {}),
    batteryTest: bool('battery-test', a.batteryTest),
    ...(cloud !== undefined ? { cloud } : {}),
    ...(enrollUrl !== undefined && token !== undefined ? { enroll: { url: enrollUrl, token } } : {}),
    stateDir,
    keyFile: flagString(p, 'key-file', USAGE) ?? a.keyFile ?? join(stateDir, 'device.key'),
    configOut: flagString(p, 'config-out', USAGE) ?? a.configOut ?? DEFAULT_CONFIG_OUT,
    out: flagString(p, 'out', USAGE) ?? a.out ?? join(stateDir, 'commissioning'),
    json: p.values.json === true,
    nonInteractive: p.values['non-interactive'] === true,
  };
  return { inputs, given };
}
