/** `lightnode setpoint send`: the operator's order to one device, signed and published (QoS 1). */
import {
  LightNodeError,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  flagInt,
  flagPodId,
  flagSpec,
  flagString,
  lightNodeDomain,
  parseFlags,
  privateKeySigner,
  systemClock,
  type Command,
  type CommandGroup,
  type ParsedFlags,
} from '@lightnode/protocols';
import { sendSetpoint } from '../operator/setpoint.js';
import { readSigningKey } from './common.js';

const SEND_USAGE = `Usage: lightnode setpoint send --broker URL --key-file F --device ID --pod POD --target-w W --baseline-w W
                              --from ISO --until ISO [--session S] [--slot N] [--service ID] [--nonce N]
                              [--chain-id N --contract 0xADDR] [--timeout MS] [--json]

Signs a setpoint (EIP-712, domain LightNode/1 with --chain-id and --contract = the agent config's chain.chainId and
chain.keyRegister; default ${VECTOR_CHAIN_ID} / ${VECTOR_VERIFYING_CONTRACT}) and publishes it QoS 1 on
ln/v1/{ID}/setpoint; prints the setpoint id ({id, topic, nonce} with --json) once the broker acknowledged it.
  --broker URL       mqtt://HOST:PORT (mqtts://, ws://, wss://; credentials as mqtt://user:pass@host)
  --key-file F       the issuer's key: \`lightnode protocol keygen\` JSON or one line 0x + 64 hex
  --device ID        the device's address (0x + 40 hex)
  --pod POD          the PoD the order is for (must be the device's)
  --target-w W       target active power at the PoD, W, import positive (integer)
  --baseline-w W     the PoD's baseline for the slot, W, import positive (integer)
  --from / --until   the window, ISO 8601 with a zone (2026-12-01T10:00:00Z, …+01:00); from < until
  --session S        market session, default MI-YYYY-MM-DD of the market day (Europe/Rome) containing --from
  --slot N           0..99, default the 15-min slot of --from in its market day
  --service ID       player service id, default "" (none)
  --nonce N          default now in ms (must grow per issuer: the device refuses a nonce not above its last)
  --timeout MS       bound on connecting and on the broker's PUBACK, each (default 10000)
The id is keccak256(issuer ‖ uint64 nonce ‖ pod). Exit 0 published; 1 invalid order (SETPOINT_INVALID), key
(KEY_INVALID) or broker (UPLINK_CONNECT, UPLINK_AUTH, UPLINK_TIMEOUT); 2 usage error naming the flag.`;

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant with a zone; anything else is a USAGE error naming the flag. */
function flagInstant(p: ParsedFlags, name: string): number {
  const s = flagString(p, name, SEND_USAGE, true);
  const ms = Date.parse(s);
  if (!ISO_RE.test(s) || !Number.isFinite(ms))
    throw new LightNodeError(
      'USAGE',
      `--${name}: expected an ISO 8601 time with a zone (2026-12-01T10:00:00Z), received ${JSON.stringify(s)}\n\n${SEND_USAGE}`,
      { flag: name, received: s },
    );
  return ms;
}

const MAX_W = 2 ** 53 - 1;

const send: Command = {
  summary: 'sign a setpoint and publish it to a device (QoS 1)',
  usage: SEND_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      flagSpec({
        string: [
          'broker',
          'key-file',
          'device',
          'pod',
          'target-w',
          'baseline-w',
          'from',
          'until',
          'session',
          'slot',
          'service',
          'nonce',
          'chain-id',
          'contract',
          'timeout',
        ],
        boolean: ['json'],
      }),
      SEND_USAGE,
      false,
    );
    const broker = flagString(p, 'broker', SEND_USAGE, true);
    if (!/^(mqtts?|wss?):\/\/[^/\s]+/.test(broker))
      throw new LightNodeError(
        'USAGE',
        `--broker: expected mqtt://HOST:PORT (or mqtts://, ws://, wss://), received ${JSON.stringify(broker)}\n\n${SEND_USAGE}`,
        { flag: 'broker', received: broker },
      );
    const keyFile = flagString(p, 'key-file', SEND_USAGE, true);
    const device = flagString(p, 'device', SEND_USAGE, true);
    if (!/^0x[0-9a-fA-F]{40}$/.test(device))
      throw new LightNodeError(
        'USAGE',
        `--device: expected a device address 0x + 40 hex, received ${JSON.stringify(device)}\n\n${SEND_USAGE}`,
        { flag: 'device', received: device },
      );
    flagString(p, 'pod', SEND_USAGE, true);
    const podId = flagPodId(p, 'pod', SEND_USAGE)!;
    flagString(p, 'target-w', SEND_USAGE, true);
    flagString(p, 'baseline-w', SEND_USAGE, true);
    const activePowerW = flagInt(p, 'target-w', SEND_USAGE, -MAX_W, MAX_W)!;
    const baselineW = flagInt(p, 'baseline-w', SEND_USAGE, -MAX_W, MAX_W)!;
    const validFromMs = flagInstant(p, 'from');
    const validUntilMs = flagInstant(p, 'until');
    const slot = flagInt(p, 'slot', SEND_USAGE, 0, 99);
    const nonce = flagInt(p, 'nonce', SEND_USAGE, 1, Number.MAX_SAFE_INTEGER);
    const session = flagString(p, 'session', SEND_USAGE);
    const service = flagString(p, 'service', SEND_USAGE);
    const chainId = flagInt(p, 'chain-id', SEND_USAGE, 1, 2 ** 48);
    const contract = flagString(p, 'contract', SEND_USAGE);
    if ((chainId === undefined) !== (contract === undefined))
      throw new LightNodeError('USAGE', `give --chain-id and --contract together (or neither)\n\n${SEND_USAGE}`, {
        flags: ['chain-id', 'contract'],
      });
    if (contract !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(contract))
      throw new LightNodeError(
        'USAGE',
        `--contract: expected a 0x address (40 hex), received ${JSON.stringify(contract)}\n\n${SEND_USAGE}`,
        { flag: 'contract', received: contract },
      );
    const timeoutMs = flagInt(p, 'timeout', SEND_USAGE, 1, 600_000) ?? 10_000;
    if (validUntilMs <= validFromMs)
      throw new LightNodeError(
        'SETPOINT_INVALID',
        `--until: expected after --from (${new Date(validFromMs).toISOString()}), received ${new Date(validUntilMs).toISOString()}`,
        { flag: 'until', validFromMs, validUntilMs },
      );
    const signer = privateKeySigner(readSigningKey(keyFile));
    const domain = lightNodeDomain(chainId ?? VECTOR_CHAIN_ID, contract ?? VECTOR_VERIFYING_CONTRACT);
    const r = await sendSetpoint(
      {
        podId,
        activePowerW,
        baselineW,
        validFromMs,
        validUntilMs,
        ...(session !== undefined ? { marketSession: session } : {}),
        ...(slot !== undefined ? { slotIndex: slot } : {}),
        ...(service !== undefined ? { playerServiceId: service } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
      },
      signer,
      domain,
      { brokerUrl: broker, deviceId: device, timeoutMs, clock: systemClock },
    );
    io.stdout(p.values.json ? JSON.stringify({ id: r.id, topic: r.topic, nonce: r.nonce }) : r.id);
    return 0;
  },
};

const group: CommandGroup = {
  summary: 'operator tools: sign and publish a setpoint to a device',
  subcommands: { send },
};
export default group;
