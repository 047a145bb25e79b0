/**
 * `cloud: {kind: embedded}`: the cloud tier of `npm start` and the field test (`startCloud`): an aedes broker, anvil
 * (the system's, started by the stack, contracts freshly deployed), the BAL verifying against the key register and
 * the SCD on SQLite. The aedes broker is the peer's own, handed to the stack as its broker URL, so that a
 * `broker-down` stops and restarts it on the same port (the BAL and the SCD's outbound client reconnect; the BAL
 * subscribes again on every CONNACK). Before an agent starts, its device key is registered on chain and its PoD
 * bound to it in the SCD (ACEAE's, as in the field test), so the BAL accepts its batches; at the end, `report()`
 * says what the cloud saw (the BAL's counters and ledger, the SCD's acks of the run's setpoints).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LightNodeError, type Clock } from '@lightnode/protocols';
import { signerFromKeyFile } from '@lightnode/edge';
import { freePort, startCloud, startEmbeddedBroker, type CloudStack, type EmbeddedBroker } from '@lightnode/cloud';
import type { CloudPeer } from './peers.js';

/** The BAL's anchor window in the embedded cloud, ms (short: the run's last batches are anchored before its end). */
export const EMBEDDED_WINDOW_MS = 2000;
/** The aggregator whose PoDs the agents' are (one of the stack's generated platforms). */
const AGGREGATOR = 'ACEAE';

/** What the cloud saw at the end of a run, for the `cloud` events. */
export interface CloudReport {
  batchesVerified: number;
  samplesVerified: number;
  rejected: Record<string, number>;
  windowsAnchored: number;
  acksAccepted: number;
  /** The SCD's acks per setpoint id: their states in order. */
  scdAcks: Record<string, string[]>;
}

export interface EmbeddedCloud extends CloudPeer {
  stack: CloudStack;
}

/** Starts the stack; `clock` is the run's (the BAL's windows and the SCD's times in the run's simulated time). */
export async function startEmbeddedCloud(port: number | undefined, clock: Clock): Promise<EmbeddedCloud> {
  const p = port ?? (await freePort());
  let broker: EmbeddedBroker | null = await startEmbeddedBroker({ port: p });
  const dir = mkdtempSync(join(tmpdir(), 'ln-hil-cloud-'));
  let stack: CloudStack;
  try {
    stack = await startCloud({ dir, brokerUrl: broker.url, windowMs: EMBEDDED_WINDOW_MS, clock });
  } catch (e) {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const s = stack;
  // the aggregator binds its PoDs; the DSO reads every PoD's acks
  const scd = async (path: string, init: RequestInit = {}, as = AGGREGATOR) => {
    const r = await fetch(`${s.scdUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${s.tokens[as]}`, 'content-type': 'application/json' },
    });
    const body: unknown = await r.json().catch(() => null);
    return { status: r.status, body };
  };
  return {
    url: broker.url,
    what: `startCloud on 127.0.0.1:${p} (aedes, anvil chain ${s.book.chainId}, BAL, SCD ${s.scdUrl})`,
    stack: s,
    chain: { chainId: s.book.chainId, keyRegister: s.book.keyRegister },
    async enroll(configPath: string) {
      const c = JSON.parse(readFileSync(configPath, 'utf8')) as { keyFile: string; podId: string };
      const signer = signerFromKeyFile(c.keyFile);
      await s.chain.registerDevice(signer.address, signer.publicKey!);
      const r = await scd('/pods', {
        method: 'POST',
        body: JSON.stringify({ podId: c.podId, deviceId: signer.address }),
      });
      if (r.status >= 300)
        throw new LightNodeError('IO_ERROR', `SCD POST /pods ${c.podId}: ${r.status} ${JSON.stringify(r.body)}`, {
          podId: c.podId,
        });
      return `device ${signer.address} registered on chain (${s.book.keyRegister}), PoD ${c.podId} bound in the SCD`;
    },
    async report(setpointIds: readonly string[]): Promise<CloudReport> {
      // the run's last batches and acks: wait (bounded) until the BAL has forwarded every one
      const until = Date.now() + EMBEDDED_WINDOW_MS + 5000;
      const idle = () => {
        const l = s.bal!.status().ledger;
        return l.pendingBatches === 0 && l.pendingMessages === 0;
      };
      while (!idle() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      const scdAcks: Record<string, string[]> = {};
      for (const id of setpointIds) {
        const r = await scd(`/acks?setpointId=${id}`, {}, 'dso');
        scdAcks[id] =
          r.status === 200
            ? (r.body as { state: string }[]).map((a) => a.state)
            : [`GET /acks: HTTP ${r.status} ${JSON.stringify(r.body)}`];
      }
      const k = s.bal!.counters;
      return {
        batchesVerified: k.batchesAccepted,
        samplesVerified: k.samplesAccepted,
        rejected: { ...k.rejected },
        windowsAnchored: k.windowsAnchored,
        acksAccepted: k.acksAccepted,
        scdAcks,
      };
    },
    down: async () => {
      await broker?.stop();
      broker = null;
    },
    up: async () => {
      broker ??= await startEmbeddedBroker({ port: p });
    },
    stop: async () => {
      await s.stop();
      await broker?.stop();
      broker = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The `cloud` event (what the BAL verified, rejected, anchored) and one `cloud-acks` event per setpoint sent (the
 * SCD's acks of it, their states in order); nothing for a cloud without a report (Mosquitto, external).
 */
export async function cloudEvents(
  c: CloudPeer,
  sent: readonly { agent: string; id: string }[],
  event: (what: string, target: string | undefined, detail: string) => void,
): Promise<void> {
  if (!c.report) return;
  const r = await c.report(sent.map((x) => x.id));
  event('cloud', undefined, cloudLine(r));
  for (const x of sent) event('cloud-acks', x.agent, `SCD acks of ${x.id}: ${r.scdAcks[x.id]?.join(', ') || 'none'}`);
}

/** The `cloud` event's line of a report. */
export function cloudLine(r: CloudReport): string {
  const rejected = Object.entries(r.rejected);
  return (
    `BAL verified ${r.batchesVerified} batches (${r.samplesVerified} samples), rejected ${rejected.reduce((a, [, n]) => a + n, 0)}` +
    `${rejected.length ? ` (${rejected.map(([c, n]) => `${n} ${c}`).join(', ')})` : ''}, ` +
    `${r.windowsAnchored} windows anchored on chain, ${r.acksAccepted} acks accepted`
  );
}
