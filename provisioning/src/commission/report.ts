/**
 * The commissioning report: the signed envelope (`signCommissioning`: device, PoD, installer, times, agent version,
 * meters and battery with serials and values read, every check) as `OUT/commissioning-<serial>-<UTC time>.json`, a
 * printable self-contained `.html` beside it, and the envelope queued as a `report` in the device's outbox (opened
 * at the state dir as the agent opens it) so the agent ships it when it is online.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  lightNodeDomain,
  signCommissioning,
  type AgentConfig,
  type Clock,
  type Signer,
  type SignedCommissioning,
} from '@lightnode/protocols';
import { SqliteStore, writeFileDurably } from '@lightnode/edge';
import { fileSafe } from './identity.js';
import type { Check } from './types.js';

export interface ReportMeter {
  id?: string;
  profile: string;
  unit: number;
  port?: string;
  host?: string;
  tcpPort?: number;
  baud?: number;
  parity?: string;
  model?: string;
  serialNumber?: string;
  role?: string;
  readings: Record<string, number>;
}

export interface ReportBody {
  device: { deviceId: string; serial: string; serialSource: string; agentVersion: string };
  podId: string;
  installer: string;
  startedAt: string;
  finishedAt: string;
  meters: ReportMeter[];
  battery: Record<string, unknown> | null;
  chain2: Record<string, unknown> | null;
  /** Every check before the report's own (the report cannot contain the outcome of writing itself). */
  checks: Check[];
  configPath: string | null;
}

/** `commissioning-<serial>-<UTC time>` with the time as `20261202T131500Z`. */
export function reportStem(serial: string, atMs: number): string {
  const t = new Date(atMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `commissioning-${fileSafe(serial)}-${t}`;
}

/**
 * Signs the report with the device key, queues it in the outbox at the message seq it carries, and writes the JSON
 * and HTML files. The outbox is the agent's (`outbox.path`, else `<stateDir>/outbox.db`; seq file
 * `<stateDir>/seq.hwm`), opened with the config's chain domain.
 */
/** The keys of the agent config the report's queueing needs. */
export type ReportStoreConfig = Pick<AgentConfig, 'chain' | 'stateDir' | 'outbox' | 'podId' | 'batch'>;

export function writeReport(o: {
  body: ReportBody;
  signer: Signer;
  /** Where the agent's outbox is and its chain domain: the written config's keys (or their defaults). */
  config: ReportStoreConfig;
  clock: Clock;
  outDir: string;
  qrSvg: string;
}): { json: string; html: string; envelope: SignedCommissioning; seq: number } {
  const { body, signer, config, clock } = o;
  const domain = lightNodeDomain(config.chain.chainId, config.chain.keyRegister);
  mkdirSync(config.stateDir, { recursive: true });
  const store = SqliteStore.open({
    path: config.outbox.path ?? join(config.stateDir, 'outbox.db'),
    seqFile: join(config.stateDir, 'seq.hwm'),
    signer,
    domain,
    podId: config.podId,
    clock,
    quotaBytes: config.outbox.quotaBytes,
    windowMs: config.batch.windowMs,
  });
  let envelope: SignedCommissioning | undefined;
  const atMs = Math.floor(clock.now()); // uint64 in the signed message (a fake clock may carry fractions)
  const result = body.checks.some((c) => c.result === 'fail') ? 'fail' : 'pass';
  try {
    store.enqueueMessage('report', (seq) => {
      envelope = signCommissioning(
        body as unknown as Record<string, unknown>,
        {
          deviceId: signer.address,
          podId: body.podId,
          serial: body.device.serial,
          installer: body.installer,
          result,
          atMs,
          seq,
        },
        signer,
        domain,
      );
      return { ...envelope };
    });
  } finally {
    store.close();
  }
  const env = envelope!;
  mkdirSync(o.outDir, { recursive: true });
  const stem = join(o.outDir, reportStem(body.device.serial, atMs));
  const json = `${stem}.json`;
  const html = `${stem}.html`;
  writeFileDurably(json, JSON.stringify(env, null, 2) + '\n');
  writeFileDurably(html, reportHtml(env, o.qrSvg));
  return { json, html, envelope: env, seq: env.message.seq };
}

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The printable report: one self-contained page (inline CSS and SVG, no external resource). */
export function reportHtml(env: SignedCommissioning, qrSvg: string): string {
  const r = env.report as unknown as ReportBody;
  const m = env.message;
  const row = (k: string, v: unknown): string => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
  const meters = r.meters
    .map(
      (x) =>
        `<tr><td>${esc(x.profile)}</td><td>${esc(x.port ?? `${x.host ?? ''}:${x.tcpPort ?? ''}`)}</td><td>${esc(x.unit)}</td><td>${esc(x.baud ? `${x.baud} ${x.parity ?? ''}` : '')}</td><td>${esc(x.serialNumber ?? '')}</td><td>${esc(x.role ?? '')}</td><td>${Object.entries(
          x.readings,
        )
          .map(([k, v]) => `${esc(k)} ${esc(v)}`)
          .join('<br>')}</td></tr>`,
    )
    .join('');
  const checks = r.checks
    .map(
      (c) =>
        `<tr class="${esc(c.result)}"><td>${esc(c.id)}</td><td>${esc(c.result)}</td><td>${esc(c.detail)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Light Node commissioning ${esc(r.device.serial)}</title>
<style>body{font:14px/1.4 sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}tr.fail td{background:#fdd}tr.skip td{color:#666}.qr svg{width:160px;height:160px}code{font-size:12px}</style>
</head><body>
<h1>Light Node commissioning: ${esc(m.result.toUpperCase())}</h1>
<div class="qr">${qrSvg}</div>
<table>${row('Device address', m.deviceId)}${row('Serial', `${r.device.serial} (${r.device.serialSource})`)}${row('PoD', m.podId)}${row('Installer', m.installer || '—')}${row('Started', r.startedAt)}${row('Finished', r.finishedAt)}${row('Agent version', r.device.agentVersion)}${row('Config', r.configPath ?? '—')}${row('Message seq', m.seq)}</table>
<h2>Meters</h2><table><tr><th>Profile</th><th>Where</th><th>Unit</th><th>Line</th><th>Serial</th><th>Role</th><th>Values read</th></tr>${meters}</table>
<h2>Battery</h2><p>${esc(r.battery ? JSON.stringify(r.battery) : 'none')}</p>
<h2>Chain 2</h2><p>${esc(r.chain2 ? JSON.stringify(r.chain2) : 'none')}</p>
<h2>Checks</h2><table><tr><th>Check</th><th>Result</th><th>Detail</th></tr>${checks}</table>
<h2>Signature</h2><p>EIP-712 CommissioningReport signed by ${esc(m.deviceId)}; reportHash <code>${esc(m.reportHash)}</code></p>
<p><code>${esc(env.signature)}</code></p>
</body></html>
`;
}
