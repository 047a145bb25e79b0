import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../scd/sql.js';
import { enrollStoreContract } from '../testing/enroll-store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-enroll-store-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

enrollStoreContract(test, 'SQLite', () => Promise.resolve(openSqlite(join(dir, 'enroll.sqlite'))));
