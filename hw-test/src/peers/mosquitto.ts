/**
 * Debian's Mosquitto as an independent MQTT broker for system tests: a generated config on a loopback port
 * (optionally with a password file), started and stopped by PID; restartable on the same port (outage tests).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightNodeError } from '@lightnode/protocols';
import { freePort } from '@lightnode/cloud';

export interface Mosquitto {
  port: number;
  url: string;
  pid(): number | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** TLS material for a listener: PEM files of the CA, the server certificate and key; `requireClientCert` for mTLS. */
export interface MosquittoTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  requireClientCert?: boolean;
  /** Mosquitto's `tls_version` for the listener (default `tlsv1.2`; the cellular bench uses `tlsv1.3`). */
  tlsVersion?: 'tlsv1.2' | 'tlsv1.3';
}

export async function startMosquitto(
  opts: {
    users?: Record<string, string>;
    port?: number;
    tls?: MosquittoTls;
    /** Keep sessions and retained messages across restarts (default true); false: a restart forgets everything. */
    persistence?: boolean;
  } = {},
): Promise<Mosquitto> {
  const dir = mkdtempSync(join(tmpdir(), 'ln-mosquitto-'));
  const port = opts.port ?? (await freePort());
  const lines = [
    // as root, mosquitto drops to the `mosquitto` user, which could not read our 0700 temp dir
    ...(process.getuid?.() === 0 ? ['user root'] : []),
    `listener ${port} 127.0.0.1`,
    ...(opts.persistence === false
      ? ['persistence false']
      : ['persistence true', `persistence_location ${dir}/`, 'autosave_interval 1']),
    'max_inflight_messages 0',
    'max_queued_messages 0',
    'log_dest stderr',
    'log_type error',
  ];
  if (opts.tls) {
    lines.push(
      `cafile ${opts.tls.caFile}`,
      `certfile ${opts.tls.certFile}`,
      `keyfile ${opts.tls.keyFile}`,
      `tls_version ${opts.tls.tlsVersion ?? 'tlsv1.2'}`,
    );
    if (opts.tls.requireClientCert) lines.push('require_certificate true', 'use_identity_as_username true');
  }
  if (opts.users) {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of Object.entries(opts.users)) {
      const r = spawnSync('mosquitto_passwd', ['-b', pw, u, p]);
      if (r.status !== 0) throw new LightNodeError('IO_ERROR', `mosquitto_passwd failed: ${r.stderr.toString()}`, {});
    }
    lines.push(`password_file ${pw}`, 'allow_anonymous false');
  } else lines.push('allow_anonymous true');
  writeFileSync(join(dir, 'mosquitto.conf'), lines.join('\n') + '\n');
  let child: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    if (!existsSync('/usr/sbin/mosquitto'))
      throw new LightNodeError(
        'IO_ERROR',
        'mosquitto is not installed (/usr/sbin/mosquitto): apt-get install mosquitto',
        {},
      );
    child = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    child.on('error', (e) => (log += e.message));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new LightNodeError('IO_ERROR', `mosquitto did not start on port ${port}: ${log}`, { port });
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  try {
    await start();
  } catch (e) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    pid: () => child?.pid,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
