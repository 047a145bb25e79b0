// The enrollment token store's contract against the production store: a real PostgreSQL 15 server (Debian).
import test from 'ava';
import { openPostgres } from '@lightnode/cloud';
import { enrollStoreContract } from '@lightnode/cloud/testing';
import { startPostgres, type Postgres } from '../peers/index.js';

let pg: Postgres | undefined;
test.after.always(async () => pg?.stop());

enrollStoreContract(test, 'PostgreSQL', async () => {
  pg = await startPostgres();
  return openPostgres(pg.url);
});
