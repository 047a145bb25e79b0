/**
 * The cloud tier on one machine (the embedded default of `lightnode cloud up` and `npm start`), each part
 * replaceable by its production counterpart: broker (aedes in process | Mosquitto/EMQX URL), chain (anvil child
 * process + deployed contracts | any JSON-RPC with an address book and a key), SCD store (SQLite | PostgreSQL).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import {
  LightNodeError,
  lightNodeDomain,
  silentLogger,
  systemClock,
  type Clock,
  type Logger,
} from '@lightnode/protocols';
import { BalLedger } from './bal/ledger.js';
import { BalMqtt } from './bal/mqtt.js';
import { selectRecover, type RecoverImpl } from './bal/recover.js';
import { ChainKeyRegistry } from './bal/registry.js';
import { Bal } from './bal/service.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { devAccountKey, startAnvil, type AnvilHandle } from './chain/anvil.js';
import { ChainClient, type AddressBook } from './chain/client.js';
import type { ScdSink } from './delivery.js';
import { loadDsoModel, parseDsoModel } from './dsotp/model.js';
import { startDsotp, type DsoPlatform } from './dsotp/service.js';
import { HttpScdSink } from './bal/scd-sink.js';
import { listen } from './http/server.js';
import { createScdServer } from './scd/api.js';
import { Auth, parseCredentials, type Credentials, type Role } from './http/auth.js';
import { ScdService, type Outbound } from './scd/service.js';
import { openStore } from './scd/sql.js';
import { ScdStore } from './scd/store.js';
import { startMarket, type MarketHandle } from './market/start.js';
import { startEnroll } from './enroll/start.js';
import type { EnrollService } from './enroll/service.js';

export interface CloudStackOptions {
  dir: string;
  /** Broker URL; default an embedded aedes broker. */
  brokerUrl?: string;
  /** Join the MQTT 5 shared subscription `$share/bal/…` (Mosquitto, EMQX). */
  shared?: boolean;
  /** Chain: default an anvil child process with freshly deployed contracts. */
  chain?: { rpcUrl: string; privateKey: string; book?: AddressBook };
  /** SCD store: `sqlite:PATH` / a path / `postgres://…`; default `<dir>/scd.sqlite`. */
  store?: string;
  scdPort?: number;
  /** Forward to a remote SCD instead of running one: its URL and the BAL's token. */
  remoteScd?: { url: string; token: string };
  runScd?: boolean;
  runBal?: boolean;
  windowMs?: number;
  recover?: RecoverImpl | 'auto';
  registryTtlMs?: number;
  credentials?: Credentials;
  balId?: string;
  /**
   * Run the enrollment service (`POST /enroll/tokens`, `GET /enroll/domain`, `POST /enroll`) on the stack's chain and
   * SCD (its tokens in the SCD's store); `port` default any free one.
   */
  runEnroll?: boolean | { port?: number };
  /** Run the flexibility market (`<dir>/market/market.sqlite`) against the SCD, with the market's token. */
  runMarket?: boolean | { port?: number };
  clock?: Clock;
  log?: Logger;
  /**
   * Run the DSO Technical Platform on the stack's SCD, broker and chain domain: its network model (path or document),
   * its signing key (default `<dir>/dsotp.key`, generated on first start), the market's URL, the `dso` token
   * (default the generated one, else the `dso` platform's static token in `credentials`).
   */
  runDsotp?: { network: string | object; keyFile?: string; marketUrl?: string; token?: string };
}

export interface CloudStack {
  brokerUrl: string;
  book: AddressBook;
  /** A chain client with the deployer / BAL key (enroller and anchorer on the embedded chain). */
  chain: ChainClient;
  scdUrl?: string;
  /** Bearer tokens by platform id (the generated credentials; empty when given). */
  tokens: Record<string, string>;
  bal?: Bal;
  balMqtt?: BalMqtt;
  scd?: ScdService;
  recoverImpl: RecoverImpl;
  anvil?: AnvilHandle;
  /** The flexibility market (runMarket). */
  marketUrl?: string;
  market?: MarketHandle;
  dsotp?: DsoPlatform;
  /** The enrollment service (runEnroll). */
  enrollUrl?: string;
  enroll?: EnrollService;
  stop(): Promise<void>;
}

/**
 * Credentials for the reference field test's platforms, with fresh random tokens: the aggregators, dso, tso, market,
 * bal, the installer `INSTALLER-1` of the first aggregator (ACEAE) and the enrollment service `enroll`.
 */
export function generateCredentials(aggregators: readonly string[] = ['ACEAE', 'ACEAE_2']): {
  credentials: Credentials;
  tokens: Record<string, string>;
} {
  const tokens: Record<string, string> = {};
  const platforms: { id: string; role: Role; aggregator?: string }[] = [
    ...aggregators.map((id) => ({ id, role: 'aggregator' as const })),
    { id: 'dso', role: 'dso' as const },
    { id: 'tso', role: 'tso' as const },
    { id: 'market', role: 'market' as const },
    { id: 'bal', role: 'bal' as const },
    ...(aggregators[0] ? [{ id: 'INSTALLER-1', role: 'installer' as const, aggregator: aggregators[0] }] : []),
    { id: 'enroll', role: 'enroller' as const },
  ];
  const withSecrets = platforms.map((p) => {
    const token = randomBytes(24).toString('base64url');
    const clientSecret = randomBytes(24).toString('base64url');
    tokens[p.id] = token;
    return { ...p, token, clientSecret };
  });
  return { credentials: parseCredentials({ platforms: withSecrets }), tokens };
}

class MqttOutbound implements Outbound {
  constructor(private readonly client: MqttClient) {}
  publish(topic: string, payload: string): void {
    this.client.publish(topic, payload, { qos: 1 });
  }
}

export async function startCloud(o: CloudStackOptions): Promise<CloudStack> {
  const log = o.log ?? silentLogger;
  const clock = o.clock ?? systemClock;
  // a bad grid model is refused before anything starts (NETWORK_INVALID naming the key)
  if (o.runDsotp)
    void (typeof o.runDsotp.network === 'string'
      ? loadDsoModel(o.runDsotp.network)
      : parseDsoModel(o.runDsotp.network));
  mkdirSync(o.dir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse())
      await s().catch((e: unknown) => log.warn('stop step failed', { error: (e as Error).message }));
  };
  try {
    let broker: EmbeddedBroker | undefined;
    let brokerUrl = o.brokerUrl;
    if (!brokerUrl) {
      broker = await startEmbeddedBroker();
      brokerUrl = broker.url;
      stops.push(() => broker!.stop());
      log.info('embedded broker (aedes) listening', { url: brokerUrl });
    }
    let anvil: AnvilHandle | undefined;
    let chain: ChainClient;
    if (!o.chain) {
      anvil = await startAnvil({ log });
      stops.push(() => anvil!.stop());
      chain = await ChainClient.deploy(anvil.url, devAccountKey(0), log);
    } else if (o.chain.book) chain = ChainClient.connect(o.chain.book, o.chain.privateKey, log);
    else chain = await ChainClient.deploy(o.chain.rpcUrl, o.chain.privateKey, log);
    stops.push(() => Promise.resolve(chain.close()));
    writeFileSync(join(o.dir, 'address-book.json'), JSON.stringify(chain.book, null, 2) + '\n');

    const gen = o.credentials ? { credentials: o.credentials, tokens: {} } : generateCredentials();
    if (!o.credentials)
      writeFileSync(join(o.dir, 'credentials.json'), JSON.stringify(gen.credentials, null, 2) + '\n', { mode: 0o600 });
    const auth = new Auth(gen.credentials, clock);

    let scd: ScdService | undefined;
    let scdUrl: string | undefined;
    if (o.runScd ?? !o.remoteScd) {
      const db = await openStore(o.store ?? `sqlite:${join(o.dir, 'scd.sqlite')}`);
      const store = new ScdStore(db);
      stops.push(() => store.close());
      await store.init();
      const pub = mqtt.connect(brokerUrl, { clientId: `scd-${randomBytes(4).toString('hex')}`, protocolVersion: 4 });
      pub.on('error', (e) => log.warn('SCD outbound MQTT error', { error: e.message }));
      stops.push(() => pub.endAsync());
      scd = new ScdService(store, { clock, platforms: auth.platforms, outbound: new MqttOutbound(pub), log });
      const server = createScdServer(scd, auth, log);
      scdUrl = await listen(server, o.scdPort ?? 0);
      stops.push(
        () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      );
      log.info('SCD listening', { url: scdUrl, store: db.kind, at: db.location });
    }

    let enroll: { service: EnrollService; url: string } | undefined;
    if (o.runEnroll) {
      if (!scd)
        throw new LightNodeError('CONFIG_INVALID', "runEnroll needs the stack's own SCD (runScd)", {
          field: 'runEnroll',
        });
      const e = await startEnroll({
        db: scd.store.db,
        chain,
        scd,
        auth,
        clock,
        log,
        ...(typeof o.runEnroll === 'object' && o.runEnroll.port !== undefined ? { port: o.runEnroll.port } : {}),
      });
      enroll = e;
      stops.push(() => e.stop());
    }

    const { impl, recover } = selectRecover(o.recover ?? 'auto');
    let bal: Bal | undefined;
    let balMqtt: BalMqtt | undefined;
    if (o.runBal ?? true) {
      const balId = o.balId ?? `bal-${randomBytes(3).toString('hex')}`;
      const ledger = new BalLedger(join(o.dir, `${balId}.ledger.sqlite`));
      stops.push(() => Promise.resolve(ledger.close()));
      // in process, the BAL delivers through the SCD service's own ingest path: the same checks as POST /ingest
      const sink: ScdSink = o.remoteScd ? new HttpScdSink(o.remoteScd.url, o.remoteScd.token) : scd!;
      bal = new Bal({
        id: balId,
        ledger,
        registry: new ChainKeyRegistry(chain, clock, o.registryTtlMs ?? 2000),
        anchorer: chain,
        sink,
        domain: lightNodeDomain(chain.book.chainId, chain.book.keyRegister),
        recover,
        clock,
        log,
        ...(o.windowMs ? { windowMs: o.windowMs } : {}),
        continuity: !o.shared,
      });
      balMqtt = new BalMqtt(bal, {
        url: brokerUrl,
        clientId: balId,
        ...(o.shared ? { shared: { group: 'bal' } } : {}),
        log,
      });
      await balMqtt.start();
      bal.start();
      const b = bal;
      const m = balMqtt;
      stops.push(async () => {
        await m.stop();
        await b.stop({ flush: true });
      });
      log.info('BAL running', { id: balId, windowMs: bal.windowMs, verify: impl, shared: !!o.shared });
    }
    let market: MarketHandle | undefined;
    if (o.runMarket) {
      const url = scdUrl ?? o.remoteScd?.url;
      const token = gen.credentials.platforms.find((p) => p.role === 'market' && p.token)?.token;
      if (!url || !token)
        throw new LightNodeError('CONFIG_INVALID', 'runMarket needs an SCD and a market platform with a token', {});
      market = await startMarket({
        scdUrl: url,
        token,
        auth,
        dir: join(o.dir, 'market'),
        clock,
        log,
        ...(typeof o.runMarket === 'object' && o.runMarket.port !== undefined ? { port: o.runMarket.port } : {}),
      });
      stops.push(() => market!.stop());
    }
    let dsotp: DsoPlatform | undefined;
    if (o.runDsotp) {
      const d = o.runDsotp;
      const token = d.token ?? gen.tokens.dso ?? gen.credentials.platforms.find((p) => p.role === 'dso')?.token;
      if (!scdUrl || !token)
        throw new LightNodeError('CONFIG_INVALID', "runDsotp needs the stack's SCD and a dso token", {
          field: 'runDsotp',
        });
      const keyFile = d.keyFile ?? join(o.dir, 'dsotp.key');
      if (!d.keyFile && !existsSync(keyFile))
        writeFileSync(keyFile, `0x${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      const p = startDsotp({
        network: d.network,
        keyFile,
        scdUrl,
        ...((d.marketUrl ?? market?.url) ? { marketUrl: d.marketUrl ?? market!.url } : {}),
        token,
        brokerUrl,
        dir: o.dir,
        clock,
        log,
        domain: lightNodeDomain(chain.book.chainId, chain.book.keyRegister),
      });
      dsotp = p;
      stops.push(() => p.stop());
      log.info('DSOTP running', { address: p.address, pom: p.model.pom.id, pods: p.model.pods.length });
    }
    return {
      ...(enroll ? { enroll: enroll.service, enrollUrl: enroll.url } : {}),
      ...(market ? { market, marketUrl: market.url } : {}),
      ...(dsotp ? { dsotp } : {}),
      brokerUrl,
      book: chain.book,
      chain,
      ...(scdUrl ? { scdUrl } : {}),
      tokens: gen.tokens,
      ...(bal ? { bal } : {}),
      ...(balMqtt ? { balMqtt } : {}),
      ...(scd ? { scd } : {}),
      recoverImpl: impl,
      ...(anvil ? { anvil } : {}),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
