/**
 * The flexibility market as a process part: its store (SQLite `<dir>/market.sqlite` or a given one), its HTTP server
 * on the SCD's credentials, and the SCD over REST with the market's token.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LightNodeError, silentLogger, systemClock, type Clock, type Logger } from '@lightnode/protocols';
import { Auth, type Credentials } from '../http/auth.js';
import { listen } from '../http/server.js';
import { openSqlite } from '../scd/sql.js';
import { createMarketServer } from './api.js';
import { HttpMarketScd, type MarketScd } from './scd-client.js';
import { MarketService } from './service.js';
import { MarketStore } from './store.js';

export interface MarketOptions {
  /** Default 0: any free port (loopback). */
  port?: number;
  scdUrl: string;
  /** The market platform's bearer token at the SCD. */
  token: string;
  /** The platforms allowed to call the market: the SCD's credentials (or an Auth built on them). */
  credentials?: Credentials;
  auth?: Auth;
  /** Directory of `market.sqlite`, or a store. */
  dir?: string;
  store?: MarketStore;
  /** The SCD seen from the market (default: REST at scdUrl with token). */
  scd?: MarketScd;
  clock?: Clock;
  log?: Logger;
}

export interface MarketHandle {
  url: string;
  service: MarketService;
  stop(): Promise<void>;
}

export async function startMarket(o: MarketOptions): Promise<MarketHandle> {
  const clock = o.clock ?? systemClock;
  const log = o.log ?? silentLogger;
  const auth = o.auth ?? (o.credentials ? new Auth(o.credentials, clock) : undefined);
  if (!auth) throw new LightNodeError('CONFIG_INVALID', 'startMarket: credentials or auth required', {});
  let store = o.store;
  const own = !store;
  if (!store) {
    if (!o.dir) throw new LightNodeError('CONFIG_INVALID', 'startMarket: dir or store required', {});
    mkdirSync(o.dir, { recursive: true });
    store = new MarketStore(openSqlite(join(o.dir, 'market.sqlite')));
  }
  await store.init();
  const service = new MarketService(store, { scd: o.scd ?? new HttpMarketScd(o.scdUrl, o.token), clock, log });
  const server = createMarketServer(service, auth, log);
  const url = await listen(server, o.port ?? 0);
  log.info('market listening', { url, scd: o.scdUrl });
  return {
    url,
    service,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      if (own) await store.close();
    },
  };
}
