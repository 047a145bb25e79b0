/**
 * `lightnode sim ess` as a child process (system tests, benchmarks): spawned with the given flags, ready when its
 * `{"listening": …}` line arrives; each later stdout line is one battery event. Stopped by PID (SIGTERM, then
 * SIGKILL after 3 s).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LightNodeError } from '@lightnode/protocols';
import type { EssEvent } from './battery.js';

const LIGHTNODE = fileURLToPath(new URL('../../../../bin/lightnode.mjs', import.meta.url));

/** The first stdout line of `lightnode sim ess`. */
export interface EssListening {
  listening: string;
  interface: 'sunspec' | 'profile' | 'rest' | 'mqtt';
  unit?: number;
  meter?: { address: string; port: number; unit: number };
  topic?: string;
  token?: string;
  ratedVA: number;
  maxDischargeW: number;
  maxChargeW: number;
  capacityWh: number;
  socPermille: number;
  faults: string[];
}

export interface EssChild {
  pid: number;
  ready: EssListening;
  /** Every battery event so far (stdout lines after the listening line). */
  events: EssEvent[];
  /** Resolves with the first event (from now on or already seen) that matches. */
  waitEvent(match: (e: EssEvent) => boolean, timeoutMs?: number): Promise<EssEvent>;
  stop(): Promise<number | null>;
}

export async function spawnEssSim(args: readonly string[], o: { timeoutMs?: number } = {}): Promise<EssChild> {
  const child = spawn(process.execPath, [LIGHTNODE, 'sim', 'ess', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const events: EssEvent[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<EssListening>((resolve, reject) => {
    const timer = setTimeout(() => reject(fail('no listening line')), o.timeoutMs ?? 20_000);
    const fail = (why: string): LightNodeError =>
      new LightNodeError('IO_ERROR', `lightnode sim ess ${args.join(' ')}: ${why}; stderr: ${stderr.trim()}`, {});
    let first = true;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (first) {
        first = false;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as EssListening);
        } catch {
          reject(fail(`not a listening line: ${line}`));
        }
        return;
      }
      events.push(JSON.parse(line) as EssEvent);
      for (const w of [...waiters]) w();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(fail(`exited with ${code}`));
    });
  });
  return {
    pid: child.pid!,
    ready,
    events,
    waitEvent: (match, timeoutMs = 10_000) =>
      new Promise<EssEvent>((resolve, reject) => {
        const check = (): void => {
          const hit = events.find(match);
          if (!hit) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new LightNodeError('IO_ERROR', `no matching battery event in ${timeoutMs} ms`, { events }));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}
