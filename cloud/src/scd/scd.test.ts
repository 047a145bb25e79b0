import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scdContract } from '../testing/scd-contract.js';
import { openSqlite } from './sql.js';

const dir = mkdtempSync(join(tmpdir(), 'ln-scd-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

scdContract(test, 'SQLite', () => Promise.resolve(openSqlite(join(dir, 'scd.sqlite'))));
