import type Database from 'better-sqlite3';

/**
 * A real full disk inside SQLite (for tests): the database may not grow (max_page_count = its size) and a ballast table takes
 * every free byte left in its pages; writes then fail with SQLITE_FULL. `false` drops the ballast and the limit.
 */
export function sqliteFull(db: Database.Database, full: boolean): void {
  if (!full) {
    db.exec('DROP TABLE IF EXISTS ballast');
    db.pragma('max_page_count = 1073741823');
    return;
  }
  db.exec('CREATE TABLE IF NOT EXISTS ballast (b BLOB)');
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const ins = db.prepare('INSERT INTO ballast (b) VALUES (zeroblob(?))');
  for (const size of [65536, 4096, 512, 64, 8, 1])
    for (;;)
      try {
        ins.run(size);
      } catch (e) {
        if ((e as { code?: string }).code !== 'SQLITE_FULL') throw e;
        break;
      }
}
