/** `lightnode cloud …`: the cloud tier — the whole embedded stack, or the BAL / SCD alone, and chain admin. */
import { join } from 'node:path';
import {
  LightNodeError,
  flagInt,
  flagString,
  parseFlags,
  systemClock,
  type Clock,
  type Command,
  type CommandGroup,
  type CommandIo,
} from '@lightnode/protocols';
import { BalLedger } from '../bal/ledger.js';
import { ChainClient } from '../chain/client.js';
import { listen } from '../http/server.js';
import { createScdServer } from '../scd/api.js';
import { Auth, loadCredentials } from '../http/auth.js';
import { ScdService } from '../scd/service.js';
import { openStore } from '../scd/sql.js';
import { ScdStore } from '../scd/store.js';
import { startCloud, type CloudStack } from '../stack.js';
import { cliLogger, readAddressBook, readChainKey } from './common.js';

function untilAborted(io: CommandIo): Promise<void> {
  return new Promise((resolve) => {
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Logs the stack's counters every `ms` on the clock; returns the stop function. */
function reportEvery(io: CommandIo, stack: CloudStack, ms: number, clock: Clock = systemClock): () => void {
  let cancel = (): void => undefined;
  const report = (): void => {
    cancel = clock.setTimer(ms, report);
    void (async () => {
      const b = stack.bal?.status();
      const counts = stack.scd ? await stack.scd.store.counts() : undefined;
      io.stderr(
        JSON.stringify({
          ts: new Date().toISOString(),
          level: 'info',
          msg: 'cloud status',
          ...(b ? { bal: { ...b.counters, pending: b.ledger.pendingBatches, deadLetters: b.ledger.deadLetters } } : {}),
          ...(counts ? { scd: counts } : {}),
          ...(stack.dsotp ? { dsotp: stack.dsotp.status() } : {}),
        }),
      );
    })();
  };
  cancel = clock.setTimer(ms, report);
  return () => cancel();
}

const UP_USAGE = `Usage: lightnode cloud up [--dir DIR] [--broker URL] [--shared] [--rpc URL --key-file FILE [--address-book FILE]]
                         [--store sqlite:PATH|postgres://…] [--scd-port N] [--market-port N] [--enroll-port N]
                         [--window-ms N] [--log-level L] [--json]
                         [--network FILE [--dsotp-key-file F]]

Runs the cloud tier on this machine: BAL + SCD + the flexibility market (DIR/market/, its REST API on
--market-port) + the enrollment service (POST /enroll/tokens for installers, POST /enroll for devices, on
--enroll-port), with an embedded aedes broker and an anvil chain (contracts
deployed, address book in DIR/address-book.json) unless --broker / --rpc name real ones. Generated platform
credentials go to DIR/credentials.json (mode 0600). Prints the endpoints (JSON with --json), then a status line every
10 s on stderr; stops cleanly on SIGINT / SIGTERM after anchoring and forwarding what it accepted.
  --network FILE       also run the DSO Technical Platform on this network model (cloud/README.md)
  --dsotp-key-file F   its setpoint signing key (0x + 64 hex or keygen JSON), default DIR/dsotp.key (generated)`;

const up: Command = {
  summary:
    'run BAL + SCD + market + enrollment (+ DSOTP with --network, embedded broker and anvil chain) on this machine',
  usage: UP_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      {
        dir: { type: 'string' },
        broker: { type: 'string' },
        shared: { type: 'boolean' },
        rpc: { type: 'string' },
        'key-file': { type: 'string' },
        'address-book': { type: 'string' },
        store: { type: 'string' },
        'scd-port': { type: 'string' },
        'market-port': { type: 'string' },
        'enroll-port': { type: 'string' },
        'window-ms': { type: 'string' },
        'log-level': { type: 'string' },
        json: { type: 'boolean' },
        network: { type: 'string' },
        'dsotp-key-file': { type: 'string' },
      },
      UP_USAGE,
      false,
    );
    const log = cliLogger(flagString(p, 'log-level', UP_USAGE), io, UP_USAGE);
    const rpc = flagString(p, 'rpc', UP_USAGE);
    const keyFile = flagString(p, 'key-file', UP_USAGE);
    if (rpc && !keyFile)
      throw new LightNodeError('USAGE', `--rpc needs --key-file (the BAL's anchoring key)\n\n${UP_USAGE}`);
    const book = flagString(p, 'address-book', UP_USAGE);
    const broker = flagString(p, 'broker', UP_USAGE);
    const store = flagString(p, 'store', UP_USAGE);
    const scdPort = flagInt(p, 'scd-port', UP_USAGE, 0, 65535);
    const windowMs = flagInt(p, 'window-ms', UP_USAGE, 100, 3_600_000);
    const network = flagString(p, 'network', UP_USAGE);
    const dsotpKey = flagString(p, 'dsotp-key-file', UP_USAGE);
    if (dsotpKey && !network) throw new LightNodeError('USAGE', `--dsotp-key-file needs --network\n\n${UP_USAGE}`);
    const marketPort = flagInt(p, 'market-port', UP_USAGE, 0, 65535);
    const enrollPort = flagInt(p, 'enroll-port', UP_USAGE, 0, 65535);
    const stack = await startCloud({
      runMarket: marketPort !== undefined ? { port: marketPort } : true,
      runEnroll: enrollPort !== undefined ? { port: enrollPort } : true,
      dir: flagString(p, 'dir', UP_USAGE) ?? join(io.cwd, '.lightnode', 'cloud'),
      ...(broker ? { brokerUrl: broker } : {}),
      ...(p.values.shared ? { shared: true } : {}),
      ...(rpc
        ? {
            chain: {
              rpcUrl: rpc,
              privateKey: readChainKey(keyFile!),
              ...(book ? { book: readAddressBook(book) } : {}),
            },
          }
        : {}),
      ...(store ? { store } : {}),
      ...(scdPort !== undefined ? { scdPort } : {}),
      ...(windowMs ? { windowMs } : {}),
      ...(network ? { runDsotp: { network, ...(dsotpKey ? { keyFile: dsotpKey } : {}) } } : {}),
      log,
    });
    const info = {
      broker: stack.brokerUrl,
      chain: stack.book,
      scd: stack.scdUrl,
      market: stack.marketUrl,
      enroll: stack.enrollUrl,
      verify: stack.recoverImpl,
      windowMs: stack.bal?.windowMs,
      ...(stack.dsotp ? { dsotp: { address: stack.dsotp.address, pom: stack.dsotp.model.pom.id } } : {}),
    };
    io.stdout(p.values.json ? JSON.stringify(info) : `cloud up: ${JSON.stringify(info, null, 2)}`);
    const stopReports = reportEvery(io, stack, 10_000);
    await untilAborted(io);
    stopReports();
    await stack.stop();
    return 0;
  },
};

const SCD_USAGE = `Usage: lightnode cloud scd --credentials FILE [--store sqlite:PATH|postgres://…] [--port N] [--host H]
                          [--log-level L]

Runs the Shared Customer Database alone: REST API (see cloud/README.md) with per-platform credentials from FILE
({"platforms":[{"id","role":"aggregator|dso|tso|market|bal","token"?,"clientSecret"?}]}); default store
sqlite:./scd.sqlite.`;

const scd: Command = {
  summary: 'run the Shared Customer Database (REST API) alone',
  usage: SCD_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      {
        credentials: { type: 'string' },
        store: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'log-level': { type: 'string' },
      },
      SCD_USAGE,
      false,
    );
    const log = cliLogger(flagString(p, 'log-level', SCD_USAGE), io, SCD_USAGE);
    const auth = new Auth(loadCredentials(flagString(p, 'credentials', SCD_USAGE, true)), systemClock);
    const db = await openStore(flagString(p, 'store', SCD_USAGE) ?? 'sqlite:scd.sqlite');
    const store = new ScdStore(db);
    await store.init();
    const service = new ScdService(store, { clock: systemClock, platforms: auth.platforms, log });
    const server = createScdServer(service, auth, log);
    const url = await listen(
      server,
      flagInt(p, 'port', SCD_USAGE, 0, 65535) ?? 8080,
      flagString(p, 'host', SCD_USAGE) ?? '127.0.0.1',
    );
    log.info('SCD listening', { url, store: db.kind, at: db.location });
    io.stdout(JSON.stringify({ scd: url, store: db.kind }));
    await untilAborted(io);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    return 0;
  },
};

const BAL_USAGE = `Usage: lightnode cloud bal --broker URL --rpc URL --key-file FILE --address-book FILE --scd URL --scd-token TOKEN
                          [--shared] [--id NAME] [--dir DIR] [--window-ms N] [--log-level L]

Runs one BAL instance: subscribes to ln/v1/+/batch and ln/v1/+/gap (with --shared: the MQTT 5 shared subscription
$share/bal/… so that several instances split the load), verifies, anchors every window on the chain named by the
address book, and forwards to the SCD at URL. Its durable ledger is DIR/<id>.ledger.sqlite.`;

const bal: Command = {
  summary: 'run one BAL instance against a broker, a chain and an SCD',
  usage: BAL_USAGE,
  async run(argv, io) {
    const p = parseFlags(
      argv,
      {
        broker: { type: 'string' },
        rpc: { type: 'string' },
        'key-file': { type: 'string' },
        'address-book': { type: 'string' },
        scd: { type: 'string' },
        'scd-token': { type: 'string' },
        shared: { type: 'boolean' },
        id: { type: 'string' },
        dir: { type: 'string' },
        'window-ms': { type: 'string' },
        'log-level': { type: 'string' },
      },
      BAL_USAGE,
      false,
    );
    const log = cliLogger(flagString(p, 'log-level', BAL_USAGE), io, BAL_USAGE);
    const book = {
      ...readAddressBook(flagString(p, 'address-book', BAL_USAGE, true)),
      rpcUrl: flagString(p, 'rpc', BAL_USAGE, true),
    };
    const windowMs = flagInt(p, 'window-ms', BAL_USAGE, 100, 3_600_000);
    const id = flagString(p, 'id', BAL_USAGE);
    const stack = await startCloud({
      dir: flagString(p, 'dir', BAL_USAGE) ?? io.cwd,
      brokerUrl: flagString(p, 'broker', BAL_USAGE, true),
      ...(p.values.shared ? { shared: true } : {}),
      chain: { rpcUrl: book.rpcUrl, privateKey: readChainKey(flagString(p, 'key-file', BAL_USAGE, true)), book },
      remoteScd: { url: flagString(p, 'scd', BAL_USAGE, true), token: flagString(p, 'scd-token', BAL_USAGE, true) },
      runScd: false,
      ...(windowMs ? { windowMs } : {}),
      ...(id ? { balId: id } : {}),
      credentials: { platforms: [{ id: 'unused', role: 'bal' }] },
      log,
    });
    io.stdout(JSON.stringify({ bal: stack.bal?.status().id, verify: stack.recoverImpl }));
    const stopReports = reportEvery(io, stack, 10_000);
    await untilAborted(io);
    stopReports();
    await stack.stop();
    return 0;
  },
};

const REG_USAGE = `Usage: lightnode cloud register --address-book FILE --key-file FILE --device ID --public-key HEX [--rpc URL]
       lightnode cloud revoke   --address-book FILE --key-file FILE --device ID [--reason TEXT] [--rpc URL]

Registers a device's public key (0x + 128 hex, x‖y; or 130 with the 04 prefix) in LightNodeKeyRegister, or revokes
it. The key file holds an authorised enroller's chain key.`;

function chainAdmin(kind: 'register' | 'revoke'): Command {
  return {
    summary: kind === 'register' ? "register a device's public key on chain" : 'revoke a device on chain',
    usage: REG_USAGE,
    async run(argv, io) {
      const p = parseFlags(
        argv,
        {
          'address-book': { type: 'string' },
          'key-file': { type: 'string' },
          device: { type: 'string' },
          'public-key': { type: 'string' },
          reason: { type: 'string' },
          rpc: { type: 'string' },
        },
        REG_USAGE,
        false,
      );
      const book = readAddressBook(flagString(p, 'address-book', REG_USAGE, true));
      const rpc = flagString(p, 'rpc', REG_USAGE);
      const chain = ChainClient.connect(
        { ...book, ...(rpc ? { rpcUrl: rpc } : {}) },
        readChainKey(flagString(p, 'key-file', REG_USAGE, true)),
      );
      try {
        const device = flagString(p, 'device', REG_USAGE, true);
        const r =
          kind === 'register'
            ? await chain.registerDevice(device, flagString(p, 'public-key', REG_USAGE, true))
            : await chain.revokeDevice(device, flagString(p, 'reason', REG_USAGE) ?? 'revoked by operator');
        io.stdout(JSON.stringify({ [kind === 'register' ? 'registered' : 'revoked']: device.toLowerCase(), ...r }));
        return 0;
      } finally {
        chain.close();
      }
    },
  };
}

const DL_USAGE = `Usage: lightnode cloud deadletter --ledger FILE [--limit N] [--json]

Lists what a BAL refused (newest first): time, topic, device, error code and reason; plus the ledger's counters.`;

const deadletter: Command = {
  summary: "list a BAL's dead letters (refused batches, with the reason)",
  usage: DL_USAGE,
  run(argv, io) {
    const p = parseFlags(
      argv,
      { ledger: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } },
      DL_USAGE,
      false,
    );
    const ledger = new BalLedger(flagString(p, 'ledger', DL_USAGE, true));
    try {
      const rows = ledger.deadLetters(flagInt(p, 'limit', DL_USAGE, 1, 100_000) ?? 50);
      const stats = ledger.stats();
      if (p.values.json) io.stdout(JSON.stringify({ stats, deadLetters: rows }));
      else {
        io.stdout(
          `ledger: ${stats.batches} batches (${stats.pendingBatches} not yet forwarded), windows ${JSON.stringify(stats.windows)}, ${stats.openGaps} open gaps, ${stats.deadLetters} dead letters`,
        );
        for (const r of rows)
          io.stdout(`${new Date(r.atMs).toISOString()}  ${r.code.padEnd(20)} ${r.deviceId ?? '-'}  ${r.message}`);
      }
      return Promise.resolve(0);
    } finally {
      ledger.close();
    }
  },
};

const group: CommandGroup = {
  summary: 'the cloud tier: BAL (verify, anchor, proofs), SCD, flexibility market, DSO technical platform',
  subcommands: {
    up,
    bal,
    scd,
    register: chainAdmin('register'),
    revoke: chainAdmin('revoke'),
    deadletter,
  },
};
export default group;
