/**
 * The expiry check: each configured uplink PEM file (`uplink.certFile`, `uplink.caFile`; every certificate in it,
 * a CA file may hold a chain) read with `crypto.X509Certificate`; one expiring within 30 days (or expired) raises
 * `CERT_EXPIRES_SOON` naming the file and the date. A file that cannot be read or holds no certificate fails the job.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LightNodeError } from '@lightnode/protocols';
import type { JobOutcome } from './runner.js';

export const CERT_WARN_DAYS = 30;
const DAY_MS = 86_400_000;

export interface CertFile {
  /** The config key, e.g. `uplink.certFile`. */
  key: string;
  path: string;
}

/** The certificates of a PEM file, in order. */
export function pemCertificates(path: string): X509Certificate[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LightNodeError('JOB_FAILED', `cannot read ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (!blocks.length) throw new LightNodeError('JOB_FAILED', `${path} holds no PEM certificate`, { path });
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new LightNodeError(
        'JOB_FAILED',
        `${path}: certificate ${i + 1} does not parse (${(e as Error).message})`,
        { path },
        { cause: e },
      );
    }
  });
}

export function expiryCheck(files: readonly CertFile[], nowMs: number): JobOutcome {
  const certs: Record<string, unknown>[] = [];
  const alarms: NonNullable<JobOutcome['alarms']> = [];
  for (const f of files) {
    const list = pemCertificates(f.path).map((c) => ({ subject: c.subject, notAfterMs: Date.parse(c.validTo) }));
    const first = list.reduce((a, b) => (b.notAfterMs < a.notAfterMs ? b : a));
    const daysLeft = Math.floor((first.notAfterMs - nowMs) / DAY_MS);
    const date = new Date(first.notAfterMs).toISOString();
    certs.push({ key: f.key, file: f.path, certificates: list.length, notAfter: date, daysLeft });
    if (first.notAfterMs - nowMs < CERT_WARN_DAYS * DAY_MS)
      alarms.push({
        code: 'CERT_EXPIRES_SOON',
        message:
          first.notAfterMs <= nowMs
            ? `${f.path} (${f.key}): certificate expired on ${date}`
            : `${f.path} (${f.key}): certificate expires on ${date} (in ${daysLeft} days, under ${CERT_WARN_DAYS})`,
      });
  }
  return { details: { files: certs }, alarms };
}
