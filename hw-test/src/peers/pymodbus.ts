/**
 * Debian's pymodbus (3.0, run with /usr/bin/python3) as an independent Modbus server for interop tests: serves
 * register images (e.g. generated from our profiles) over TCP or RTU on a serial path. Stopped by PID.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LightNodeError, type RegisterImage } from '@lightnode/protocols';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'peers', 'pymodbus_server.py');

export interface PeerProcess {
  pid: number;
  stop(): Promise<void>;
  /** What the peer printed on stderr (for failure messages). */
  log(): string;
}

/** A free loopback TCP port: the one helper, from @lightnode/cloud (re-exported for the peers' users). */
export { freePort } from '@lightnode/cloud';

/** Dense blocks per function code from a sparse image (holes read 0, as the image itself answers). */
function blocks(img: RegisterImage): {
  hr?: { start: number; values: number[] };
  ir?: { start: number; values: number[] };
} {
  const out: Record<string, { start: number; values: number[] }> = {};
  for (const [fc, key] of [
    [3, 'hr'],
    [4, 'ir'],
  ] as const) {
    const addrs = [...img.words.keys()].filter((k) => k.startsWith(`${fc}:`)).map((k) => Number(k.split(':')[1]));
    if (!addrs.length) continue;
    const lo = Math.min(...addrs);
    const hi = Math.max(...addrs);
    out[key] = { start: lo, values: img.read(fc, lo, hi - lo + 1)! };
  }
  return out;
}

export async function startPymodbus(
  opts:
    | { mode: 'tcp'; port: number; units: Record<number, RegisterImage> }
    | { mode: 'rtu'; device: string; baud: number; parity?: 'N' | 'E' | 'O'; units: Record<number, RegisterImage> },
): Promise<PeerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'ln-pymodbus-'));
  const cfg = {
    ...opts,
    host: '127.0.0.1',
    units: Object.fromEntries(Object.entries(opts.units).map(([u, img]) => [u, blocks(img)])),
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  const child = spawn('/usr/bin/python3', [SCRIPT, join(dir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new LightNodeError('IO_ERROR', `pymodbus did not start in 10 s: ${err}`, {})),
      10_000,
    );
    child.on('error', (e) =>
      reject(
        new LightNodeError('IO_ERROR', `cannot run /usr/bin/python3 (install python3-pymodbus): ${e.message}`, {}),
      ),
    );
    child.on('exit', (code) =>
      reject(new LightNodeError('IO_ERROR', `pymodbus exited (${code}) before it was ready: ${err}`, {})),
    );
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('READY')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.removeAllListeners('exit');
  return {
    pid: child.pid!,
    log: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        rmSync(dir, { recursive: true, force: true });
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs mbpoll once and returns its stdout (throws with its output on a non-zero exit). */
export async function runMbpoll(args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('mbpoll', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) =>
      reject(new LightNodeError('IO_ERROR', `cannot run mbpoll (install the Debian package mbpoll): ${e.message}`, {})),
    );
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new LightNodeError('IO_ERROR', `mbpoll ${args.join(' ')} exited ${code}: ${out}`, {}));
    });
  });
}

/** Parses mbpoll's `[ref]: value` lines. */
export function parseMbpoll(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const x of out.matchAll(/^\[(\d+)\]:\s+(-?[\d.e+-]+)/gm)) m.set(Number(x[1]), Number(x[2]));
  return m;
}
