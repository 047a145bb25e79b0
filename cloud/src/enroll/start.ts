/** The enrollment service's composition root: its token store in the SCD's database, the API server on loopback. */
import { lightNodeDomain, type Clock, type Logger } from '@lightnode/protocols';
import type { ChainClient } from '../chain/client.js';
import type { Auth } from '../http/auth.js';
import { listen } from '../http/server.js';
import type { SqlDb } from '../scd/sql.js';
import { createEnrollServer } from './api.js';
import { EnrollService, type DeviceBinder } from './service.js';
import { EnrollStore } from './store.js';

export interface EnrollOptions {
  /** The database of the tokens (the SCD's). */
  db: SqlDb;
  /** The chain client with an enroller key on the key register. */
  chain: ChainClient;
  scd: DeviceBinder;
  auth: Auth;
  clock: Clock;
  log: Logger;
  port?: number;
}

export interface EnrollHandle {
  service: EnrollService;
  url: string;
  stop(): Promise<void>;
}

export async function startEnroll(o: EnrollOptions): Promise<EnrollHandle> {
  const store = new EnrollStore(o.db);
  await store.init();
  const service = new EnrollService({
    store,
    chain: o.chain,
    scd: o.scd,
    domain: lightNodeDomain(o.chain.book.chainId, o.chain.book.keyRegister),
    clock: o.clock,
    log: o.log,
  });
  const server = createEnrollServer(service, o.auth, o.log);
  const url = await listen(server, o.port ?? 0);
  o.log.info('enrollment service listening', { url });
  return {
    service,
    url,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
