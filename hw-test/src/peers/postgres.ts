/**
 * Debian's PostgreSQL 15 as the production SCD store for system tests and benches: a throw-away cluster (initdb) in
 * a temp dir, on a loopback port, started and stopped with pg_ctl. The server refuses to run as root, so as root
 * (CI) every step runs as the `postgres` user through runuser.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { freePort } from '@lightnode/cloud';

export const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres {
  url: string;
  port: number;
  pid(): number | undefined;
  stop(): Promise<void>;
}

function asPostgres(cmd: string, args: string[], what: string): string {
  const root = process.getuid?.() === 0;
  const r = root
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new LightNodeError(
      'IO_ERROR',
      `PostgreSQL ${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().slice(-600)}`,
      {},
    );
  return r.stdout;
}

export async function startPostgres(opts: { database?: string } = {}): Promise<Postgres> {
  if (!existsSync(`${PG_BIN}/postgres`))
    throw new LightNodeError(
      'IO_ERROR',
      `PostgreSQL 15 is not installed (${PG_BIN}/postgres): apt-get install postgresql`,
      {},
    );
  const dir = mkdtempSync(join(tmpdir(), 'ln-pg-'));
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const db = opts.database ?? 'lightnode';
  asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], 'initdb');
  asPostgres(
    `${PG_BIN}/pg_ctl`,
    [
      'start',
      '-w',
      '-t',
      '30',
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    ],
    'start',
  );
  asPostgres(`${PG_BIN}/createdb`, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', db], 'createdb');
  let stopped = false;
  // a crash of the test process must not leave the server running
  const onExit = (): void => {
    if (!stopped)
      try {
        asPostgres(`${PG_BIN}/pg_ctl`, ['stop', '-m', 'immediate', '-D', data], 'stop');
      } catch {
        /* best effort */
      }
  };
  process.once('exit', onExit);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/${db}`,
    port,
    pid() {
      try {
        return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      } catch {
        return undefined;
      }
    },
    stop() {
      if (!stopped) {
        stopped = true;
        process.removeListener('exit', onExit);
        try {
          asPostgres(`${PG_BIN}/pg_ctl`, ['stop', '-w', '-m', 'fast', '-D', data], 'stop');
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      return Promise.resolve();
    },
  };
}
