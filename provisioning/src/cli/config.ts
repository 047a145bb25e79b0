/**
 * `lightnode config …` (issue 15 item 3): `push` signs a remote configuration revision and publishes it retained on
 * the device's `config` topic; `status` and `history` say what the device runs and what became of each revision —
 * from its state directory (`--config`, the agent's base file) or from the running agent (`--socket`).
 */
import { readFileSync } from 'node:fs';
import {
  LightNodeError,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  flagInt,
  flagSpec,
  flagString,
  lightNodeDomain,
  parseFlags,
  signConfig,
  systemClock,
  topicCodecs,
  topics,
  type Command,
  type CommandGroup,
  type CommandIo,
  type ParsedFlags,
} from '@lightnode/protocols';
import {
  ConfigFiles,
  MqttOnce,
  loadAgentConfig,
  protectedKey,
  queryStatusSocket,
  signerFromSigningKeyFile,
  type ConfigStatus,
  type HistoryEntry,
} from '@lightnode/edge';

const PUSH = `Usage: lightnode config push FILE --device ADDR --key-file F --broker URL [--revision N]
                             [--chain-id N --contract 0xADDR] [--ca-file PEM] [--timeout MS] [--json]

Signs FILE (a JSON object: the agent config's keys except the local-only ones — podId, stateDir, keyFile, chain,
remoteConfig, status.socket, outbox.path, uplink.clientId|username|password|caFile|certFile|keyFile) as revision N
of the device's remote configuration (EIP-712 Config, domain LightNode/1 with --chain-id and --contract = the agent
config's chain.chainId and chain.keyRegister; default ${VECTOR_CHAIN_ID} / ${VECTOR_VERIFYING_CONTRACT}) and publishes it retained
(QoS 1) on ln/v1/{ADDR}/config. The device applies it if the key is among its remoteConfig.issuers, and rolls it
back by itself if its meters or uplink are not healthy within its deadline.
  --device ADDR   the device's address (0x + 40 hex)
  --key-file F    the issuer's key: \`lightnode protocol keygen\` JSON or one line 0x + 64 hex
  --broker URL    mqtt://HOST:PORT (mqtts://, ws://, wss://; credentials as mqtt://user:pass@host)
  --revision N    default: the retained revision + 1 (1 when none)
  --timeout MS    bound on connecting, on the retained read and on the PUBACK, each (default 10000)
Prints {topic, revision, configHash} with --json. Exit 0 published; 1 a bad file (CONFIG_INVALID, or
CONFIG_KEY_PROTECTED naming the key), key (KEY_INVALID) or broker (UPLINK_*); 2 usage error naming the flag.`;

const STATUS = `Usage: lightnode config status (--config FILE | --socket PATH) [--json]

The configuration the device runs: {revision, configHash, state: "applied" | "pending" | "base", issuer, appliedMs,
pending} — from the state directory of the agent config FILE, or asked of the running agent on its socket.`;

const HISTORY = `Usage: lightnode config history (--config FILE | --socket PATH) [--json]

What became of each remote config revision, oldest first: {entries: [{revision, configHash, issuer, state, reason,
detail, atMs}]} (state applied, rejected or rolled_back; reason the refusal's or the health check's code).`;

const ADDR = /^0x[0-9a-fA-F]{40}$/;

function address(p: ParsedFlags, name: string, usage: string, required: boolean): string | undefined {
  const v = required ? flagString(p, name, usage, true) : flagString(p, name, usage);
  if (v !== undefined && !ADDR.test(v))
    throw new LightNodeError(
      'USAGE',
      `--${name}: expected a 0x address (40 hex), received ${JSON.stringify(v)}\n\n${usage}`,
      {
        flag: name,
        received: v,
      },
    );
  return v;
}

function readConfigFile(path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LightNodeError(
      'CONFIG_INVALID',
      `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        path,
      },
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new LightNodeError('CONFIG_INVALID', `${path}: expected a JSON object of agent config keys`, { path });
  const key = protectedKey(doc as Record<string, unknown>);
  if (key)
    throw new LightNodeError(
      'CONFIG_KEY_PROTECTED',
      `${path}: sets ${key}, a local-only key (each device keeps its own in /etc/lightnode/agent.json): remove it`,
      { path, key },
    );
  return doc as Record<string, unknown>;
}

const push: Command = {
  summary: 'sign a remote config revision and publish it retained to a device',
  usage: PUSH,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      flagSpec({
        string: ['device', 'key-file', 'broker', 'revision', 'chain-id', 'contract', 'ca-file', 'timeout'],
        boolean: ['json'],
      }),
      PUSH,
      true,
    );
    if (p.positionals.length !== 1)
      throw new LightNodeError('USAGE', `expected one FILE, received ${p.positionals.length}\n\n${PUSH}`);
    const device = address(p, 'device', PUSH, true)!;
    const keyFile = flagString(p, 'key-file', PUSH, true);
    const broker = flagString(p, 'broker', PUSH, true);
    if (!/^(mqtts?|wss?):\/\/[^/\s]+/.test(broker))
      throw new LightNodeError(
        'USAGE',
        `--broker: expected mqtt://HOST:PORT (or mqtts://, ws://, wss://), received ${JSON.stringify(broker)}\n\n${PUSH}`,
        {
          flag: 'broker',
        },
      );
    const revisionFlag = flagInt(p, 'revision', PUSH, 1, Number.MAX_SAFE_INTEGER);
    const chainId = flagInt(p, 'chain-id', PUSH, 1, 2 ** 48);
    const contract = address(p, 'contract', PUSH, false);
    if ((chainId === undefined) !== (contract === undefined))
      throw new LightNodeError('USAGE', `give --chain-id and --contract together (or neither)\n\n${PUSH}`);
    const timeoutMs = flagInt(p, 'timeout', PUSH, 1, 600_000) ?? 10_000;
    const config = readConfigFile(p.positionals[0]!);
    const signer = signerFromSigningKeyFile(keyFile);
    const domain = lightNodeDomain(chainId ?? VECTOR_CHAIN_ID, contract ?? VECTOR_VERIFYING_CONTRACT);
    const caFile = flagString(p, 'ca-file', PUSH);
    const mq = await MqttOnce.connect(broker, {
      timeoutMs,
      clientIdPrefix: 'ln-config',
      ...(caFile ? { caFile } : {}),
    });
    try {
      const topic = topics.config(device);
      let revision = revisionFlag;
      if (revision === undefined) {
        const raw = await mq.retained(topic);
        revision = raw ? retainedRevision(raw, topic) + 1 : 1;
      }
      const doc = signConfig(config, { deviceId: device, revision, atMs: systemClock.now() }, signer, domain);
      await mq.publish(topic, topicCodecs.config.encode(doc), { retain: true });
      const out = { topic, revision, configHash: doc.message.configHash };
      io.stdout(p.values.json ? JSON.stringify(out) : `published revision ${revision} (${out.configHash}) on ${topic}`);
      return 0;
    } finally {
      await mq.close();
    }
  },
};

function retainedRevision(raw: Buffer, topic: string): number {
  try {
    return topicCodecs.config.decode(raw).message.revision;
  } catch (e) {
    throw new LightNodeError(
      'DECODE_ERROR',
      `the message retained on ${topic} is not a config (${(e as Error).message}): give --revision N`,
      { topic },
    );
  }
}

/** The device's config view: from its state directory, or from the running agent's status socket. */
async function deviceView(
  argv: string[],
  usage: string,
): Promise<{ json: boolean; status: ConfigStatus; history: HistoryEntry[] }> {
  const p = parseFlags(
    argv,
    { config: { type: 'string' }, socket: { type: 'string' }, json: { type: 'boolean' } },
    usage,
    false,
  );
  const socket = flagString(p, 'socket', usage);
  const cfg = flagString(p, 'config', usage);
  if (!socket === !cfg)
    throw new LightNodeError('USAGE', `give --config FILE or --socket PATH (one of them)\n\n${usage}`);
  const json = p.values.json === true;
  if (cfg) {
    const c = loadAgentConfig(cfg);
    if (!c.remoteConfig)
      throw new LightNodeError('CONFIG_INVALID', `${cfg}: no remoteConfig key: this device takes no remote config`, {
        path: cfg,
      });
    const files = new ConfigFiles(c.stateDir, c.remoteConfig.historySize);
    return { json, status: files.status(), history: files.history() };
  }
  const r = await queryStatusSocket(socket!);
  const view = r.details.config as (ConfigStatus & { history: HistoryEntry[] }) | undefined;
  if (!view)
    throw new LightNodeError('CONFIG_INVALID', `the agent on ${socket} takes no remote config (no remoteConfig key)`, {
      socket,
    });
  const { history, ...status } = view;
  return { json, status, history };
}

const iso = (ms: number | null): string => (ms === null ? '—' : new Date(ms).toISOString());

const status: Command = {
  summary: 'the remote config revision the device runs (applied, pending or base)',
  usage: STATUS,
  async run(argv, io: CommandIo) {
    const v = await deviceView(argv, STATUS);
    const s = v.status;
    if (v.json) io.stdout(JSON.stringify(s));
    else {
      io.stdout(
        s.state === 'base'
          ? 'base: the device runs its own file (no remote revision applied)'
          : `${s.state}: revision ${s.revision} (${s.configHash}) by ${s.issuer}${s.appliedMs !== null ? `, applied ${iso(s.appliedMs)}` : ''}`,
      );
      if (s.pending)
        io.stdout(`pending: revision ${s.pending.revision} under its health check since ${iso(s.pending.sinceMs)}`);
    }
    return 0;
  },
};

const history: Command = {
  summary: 'what became of each remote config revision, oldest first',
  usage: HISTORY,
  async run(argv, io) {
    const v = await deviceView(argv, HISTORY);
    if (v.json) io.stdout(JSON.stringify({ entries: v.history }));
    else if (!v.history.length) io.stdout('no remote config received yet');
    else
      for (const e of v.history)
        io.stdout(`${iso(e.atMs)}  r${e.revision}  ${e.state}${e.reason ? ` ${e.reason}` : ''}  ${e.detail}`);
    return 0;
  },
};

const group: CommandGroup = {
  summary: 'remote configuration: push a signed revision, see what a device runs and its history',
  subcommands: { push, status, history },
};

export default group;
