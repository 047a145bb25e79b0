/**
 * The one harness of the HIL runner and the system / deploy tests: `lightnode agent` as a real process, an independent
 * (ethers-verifying) subscriber, CLI calls, the agent's status and buffer, and the polling helpers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { verifyTypedData } from 'ethers';
import {
  decodeBatchWire,
  lightNodeDomain,
  parseTopic,
  typedDataFor,
  toHex,
  verifyBatch,
  verifyGap,
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  type SignedGap,
} from '@lightnode/protocols';

/** The repository's root (from `hw-test/dist/hil/`). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The `lightnode` command of this checkout. */
export const BIN = join(ROOT, 'bin', 'lightnode.mjs');
const domain = lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT);

/** A fresh temporary directory with `config.json` = `config(dir)` in it. */
export function agentDir(config: (dir: string) => Record<string, unknown>): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ln-agent-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify(config(dir)));
  return { dir, configPath };
}

/** Runs `lightnode ARGS…` to its exit: code, stdout and stderr; `wrap` as for `startAgent`. */
export function cli(args: string[], wrap: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const argv = [...wrap, process.execPath, BIN, ...args];
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', (e) => resolve({ code: null, out, err: `${err}${argv[0]}: ${e.message}` }));
    c.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** A running `lightnode agent` process. */
export interface AgentProcess {
  child: ChildProcess;
  /** Everything the agent wrote on stderr so far. */
  log: () => string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Runs `lightnode agent --config configPath`; `env` is added to this process's (e.g. LIGHTNODE_CLOCK, test knobs).
 * `wrap` is a command that execs the agent in another context (e.g. `nsenter …`, see `disk.ts`); it must exec, not
 * fork, so that `child` is the agent itself and its signals reach it.
 */
export function startAgent(configPath: string, env: Record<string, string> = {}, wrap: string[] = []): AgentProcess {
  const argv = [...wrap, process.execPath, BIN, 'agent', '--config', configPath];
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let log = '';
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, log: () => log, exited };
}

/**
 * Polls `cond` every `everyMs` until it returns a value (not undefined / false), for at most `timeoutMs`; the error
 * names what was awaited. The one polling helper of the system and deploy tests.
 */
export async function waitUntil<T>(
  cond: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string | (() => string | Promise<string>),
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : await what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `waitUntil` for a plain condition, polled every 50 ms. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  await waitUntil(async () => (await cond()) || undefined, timeoutMs, what, 50);
}

/**
 * An independent subscriber: receives every batch and gap, checks each batch's leaves and root and — with ethers'
 * EIP-712 implementation, not ours — its signature, and records which seqs arrived (and in which order).
 */
export class Subscriber {
  readonly seqs = new Map<number, number>(); // seq → times received
  readonly order: number[] = []; // firstSeq of each batch in arrival order
  readonly declared: { first: number; last: number; reason: string }[] = [];
  readonly bad: string[] = [];
  batches = 0;
  private client!: mqtt.MqttClient;
  constructor(private readonly url: string) {}
  async start(): Promise<void> {
    this.client = mqtt.connect(this.url, {
      clientId: `sub-${process.pid}-${Date.now()}`,
      clean: false,
      reconnectPeriod: 200,
      protocolVersion: 4,
    });
    this.client.on('message', (topic, payload) => {
      const t = parseTopic(topic);
      if (!t) return;
      try {
        if (t.leaf === 'batch') {
          const b = decodeBatchWire(payload);
          verifyBatch(b, domain);
          const td = typedDataFor('Batch', b.header as never, domain);
          const signer = verifyTypedData(td.domain, td.types, td.message, toHex(b.signature)).toLowerCase();
          if (signer !== t.deviceId) throw new Error(`ethers recovers ${signer}, topic says ${t.deviceId}`);
          this.batches++;
          this.order.push(b.header.firstSeq);
          for (let s = b.header.firstSeq; s <= b.header.lastSeq; s++) this.seqs.set(s, (this.seqs.get(s) ?? 0) + 1);
        } else if (t.leaf === 'gap') {
          const g = JSON.parse(payload.toString()) as SignedGap;
          verifyGap(g, domain);
          this.declared.push({ first: g.message.firstSeq, last: g.message.lastSeq, reason: g.message.reason });
        }
      } catch (e) {
        this.bad.push(`${topic}: ${(e as Error).message}`);
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.client.once('connect', () =>
        this.client.subscribe(['ln/v1/+/batch', 'ln/v1/+/gap'], { qos: 1 }, (e) => (e ? reject(e) : resolve())),
      );
      this.client.once('error', reject);
    });
  }
  /** Seqs in [0, n) that never arrived (and are not declared gaps). */
  missing(n: number): number[] {
    const out: number[] = [];
    for (let s = 0; s < n; s++)
      if (!this.seqs.has(s) && !this.declared.some((g) => s >= g.first && s <= g.last)) out.push(s);
    return out;
  }
  async stop(): Promise<void> {
    await new Promise<void>((r) => this.client.end(true, {}, () => r()));
  }
}

/** The next seq the outbox at `db` would give (`lightnode buffer stats --json`); `wrap` as for `cli`. */
export async function bufferNextSeq(db: string, wrap: string[] = []): Promise<number> {
  const r = await cli(['buffer', 'stats', '--db', db, '--json'], wrap);
  if (r.code !== 0) throw new Error(`buffer stats failed: ${r.err}`);
  return (JSON.parse(r.out) as { nextSeq: number }).nextSeq;
}

/** `lightnode status --json` of the agent run from `configPath`, or null while its status socket does not answer. */
export async function agentStatus(
  configPath: string,
): Promise<{ status: Record<string, any>; details: Record<string, any> } | null> {
  const r = await cli(['status', '--config', configPath, '--json']);
  return r.code === 0 ? (JSON.parse(r.out) as { status: Record<string, any>; details: Record<string, any> }) : null;
}
