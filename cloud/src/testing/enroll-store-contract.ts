/**
 * The enrollment token store's contract: the same tests on every SQL store (SQLite in `npm test`, PostgreSQL in the
 * system suite). Tokens by hash, refused attempts counted until the limit revokes, the chain registration recorded,
 * single use.
 */
import type { TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import { tokenHash } from '@lightnode/protocols';
import type { SqlDb } from '../scd/sql.js';
import { EnrollStore } from '../enroll/store.js';

export function enrollStoreContract(test: TestFn, label: string, open: () => Promise<SqlDb>): void {
  let store: EnrollStore;
  test.before(async () => {
    store = new EnrollStore(await open());
    await store.init();
    await store.init(); // twice: idempotent
  });
  test.after.always(async () => store?.db.close());

  const fresh = async (expiresAtMs = 2_000_000): Promise<string> => {
    const hash = tokenHash(randomBytes(24).toString('base64url'));
    await store.insert({
      tokenHash: hash,
      serial: 'LN-1',
      podId: 'IT002E61899978',
      installer: 'INSTALLER-1',
      aggregator: 'ACEAE',
      createdMs: 1_000_000,
      expiresAtMs,
    });
    return hash;
  };

  test.serial(`${label}: enroll tokens — stored by hash, read back`, async (t) => {
    const hash = await fresh();
    t.deepEqual(await store.get(hash.toUpperCase().replace('0X', '0x')), {
      tokenHash: hash,
      serial: 'LN-1',
      podId: 'IT002E61899978',
      installer: 'INSTALLER-1',
      aggregator: 'ACEAE',
      createdMs: 1_000_000,
      expiresAtMs: 2_000_000,
      failures: 0,
    });
    t.is(await store.get(tokenHash('nope')), undefined);
  });

  test.serial(
    `${label}: enroll tokens — the limit-th refused attempt revokes, later ones change nothing`,
    async (t) => {
      const hash = await fresh();
      for (let i = 1; i < 5; i++)
        t.deepEqual(await store.fail(hash, 1_000_000 + i, 5), { failures: i, revoked: false });
      t.deepEqual(await store.fail(hash, 1_000_005, 5), { failures: 5, revoked: true });
      t.deepEqual(await store.fail(hash, 1_000_006, 5), { failures: 5, revoked: true });
      t.like(await store.get(hash), { failures: 5, revokedMs: 1_000_005 });
    },
  );

  test.serial(`${label}: enroll tokens — registration recorded, consumed once`, async (t) => {
    const hash = await fresh();
    await store.registered(hash, '0xABCDEF0123456789ABCDEF0123456789ABCDEF01', `0x${'12'.repeat(32)}`);
    t.like(await store.get(hash), {
      deviceId: '0xabcdef0123456789abcdef0123456789abcdef01',
      txHash: `0x${'12'.repeat(32)}`,
    });
    t.is((await store.get(hash))?.usedMs, undefined);
    t.true(await store.consume(hash, 1_500_000));
    t.false(await store.consume(hash, 1_600_000));
    t.is((await store.get(hash))?.usedMs, 1_500_000);
    t.deepEqual(await store.fail(hash, 1_700_000, 5), { failures: 0, revoked: false }, 'a used token counts nothing');
  });
}
