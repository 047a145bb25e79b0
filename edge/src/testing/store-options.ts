/** The SQLite store options the edge tests share: test key and domain, a test PoD, 1-s windows, a large quota. */
import { join } from 'node:path';
import type { Clock } from '@lightnode/protocols';
import { testDomain, testSigner } from '@lightnode/protocols/testing';
import type { SqliteStoreOptions } from '../store/sqlite-store.js';

export function testStoreOptions(
  dir: string,
  clock: Clock,
  overrides: Partial<SqliteStoreOptions> = {},
): SqliteStoreOptions {
  return {
    path: join(dir, 'outbox.db'),
    seqFile: join(dir, 'seq.hwm'),
    signer: testSigner(),
    domain: testDomain(),
    podId: 'IT002E61899978',
    clock,
    quotaBytes: 10_000_000,
    windowMs: 1000,
    ...overrides,
  };
}
