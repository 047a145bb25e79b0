import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scdContract } from '../testing/scd-contract.js';
import { openSqlite } from './sql.js';
import { ScdStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-scd-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

scdContract(test, 'SQLite', () => Promise.resolve(openSqlite(join(dir, 'scd.sqlite'))));

test('a database from before the outcome rows gains their session and request columns on init', async (t) => {
  const db = openSqlite(join(dir, 'old.sqlite'));
  await db.exec(`CREATE TABLE market_outcomes (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, slot INTEGER NOT NULL, pod_id TEXT NOT NULL, aggregator TEXT NOT NULL,
    kind TEXT NOT NULL, body_json TEXT NOT NULL, created_by TEXT NOT NULL, created_ms BIGINT NOT NULL)`);
  await db.run(
    `INSERT INTO market_outcomes VALUES ('old', '2021-06-23', 50, 'P', 'ACEAE', 'validated', '{"id":"old"}', 'market', 1)`,
  );
  const store = new ScdStore(db);
  await store.init();
  await store.init(); // twice: nothing to add the second time
  const row = { id: 'new', session: 'DA-2021-06-23', day: '2021-06-23', slot: 50, podId: 'P', aggregator: 'ACEAE' };
  const full = {
    ...row,
    kind: 'market' as const,
    acceptedPValue: 1,
    playerServiceId: 's',
    playerRequestId: 'DSO',
    playerOfferId: 'ACEAE',
  };
  t.is(await store.addOutcomes([full], 'market', 2), undefined);
  t.deepEqual(
    (await store.outcomes({ session: 'DA-2021-06-23' })).map((r) => r.id),
    ['new'],
  );
  t.deepEqual(
    (await store.outcomes({ aggregator: 'ACEAE' })).map((r) => r.id),
    ['new', 'old'],
  );
  await store.close();
});
