// The SCD contract suite against the production store: a real PostgreSQL 15 server (Debian), started for this file.
import test from 'ava';
import { openPostgres } from '@lightnode/cloud';
import { scdContract } from '@lightnode/cloud/testing';
import { startPostgres, type Postgres } from '../peers/index.js';

let pg: Postgres | undefined;
test.after.always(async () => pg?.stop());

scdContract(test, 'PostgreSQL', async () => {
  pg = await startPostgres();
  return openPostgres(pg.url);
});
