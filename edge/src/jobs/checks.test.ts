// The housekeeping job (statfs injected: DISK_LOW under 10 %, time sync from timesyncd's flag file) and the expiry
// check (certificates made by openssl at test time: CERT_EXPIRES_SOON under 30 days, naming the file and the date).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLightNodeError } from '@lightnode/protocols';
import { expiryCheck } from './expiry-check.js';
import { housekeeping, timesyncdState } from './housekeeping.js';

const DAY = 86_400_000;

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ln-jobs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('housekeeping: DISK_LOW under 10 % free (blocks available to the agent), none at 10 %', async (t) => {
  const space = { bsize: 4096, blocks: 1000, bavail: 95 };
  const run = () =>
    housekeeping({
      stateDir: '/var/lib/lightnode',
      statfs: () => Promise.resolve(space),
      timeSync: () => ({ synchronized: true, method: 'test' }),
    });
  const low = await run();
  t.deepEqual(low.alarms, [
    {
      code: 'DISK_LOW',
      message: 'the file system of /var/lib/lightnode has 9.5 % free (389120 of 4096000 B), under 10 %',
    },
  ]);
  t.like(low.details, { freeBytes: 389120, totalBytes: 4096000, freePercent: 9.5, timeSync: { synchronized: true } });
  space.bavail = 100;
  t.deepEqual((await run()).alarms, []);
});

test('housekeeping: the real statfs of a directory gives plausible figures', async (t) => {
  const out = await housekeeping({ stateDir: tempDir(t) });
  const d = out.details as { freeBytes: number; totalBytes: number; freePercent: number };
  t.true(d.totalBytes > 0 && d.freeBytes <= d.totalBytes);
  t.true(d.freePercent >= 0 && d.freePercent <= 100);
});

test('time sync: flag file → synchronized, its directory alone → not yet, neither → unknown (not an error)', (t) => {
  const dir = join(tempDir(t), 'timesync');
  t.like(timesyncdState(dir), { synchronized: null });
  mkdirSync(dir);
  t.like(timesyncdState(dir), { synchronized: false });
  writeFileSync(join(dir, 'synchronized'), '');
  t.deepEqual(timesyncdState(dir), { synchronized: true, method: `${dir}/synchronized (systemd-timesyncd)` });
});

/** A self-signed certificate valid for `days` days from now (openssl at test time; no key is kept). */
function cert(dir: string, name: string, days: number): string {
  const path = join(dir, `${name}.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, `${name}.key`), '-out', path, '-days', String(days), '-subj', `/CN=${name}`,
  ], { stdio: 'ignore' }); // prettier-ignore
  rmSync(join(dir, `${name}.key`));
  return path;
}

test('expiry check: CERT_EXPIRES_SOON names the file and the date under 30 days; a CA chain counts its first expiry', (t) => {
  const dir = tempDir(t);
  const soon = cert(dir, 'client', 10);
  const later = cert(dir, 'ca', 365);
  const chain = join(dir, 'chain.pem');
  writeFileSync(chain, readFileSync(later, 'utf8') + readFileSync(soon, 'utf8'));
  const now = Date.now();
  const out = expiryCheck(
    [
      { key: 'uplink.certFile', path: soon },
      { key: 'uplink.caFile', path: later },
    ],
    now,
  );
  t.is(out.alarms!.length, 1);
  t.is(out.alarms![0]!.code, 'CERT_EXPIRES_SOON');
  t.regex(
    out.alarms![0]!.message,
    new RegExp(
      `^${soon.replace(/[.]/g, '\\.')} \\(uplink\\.certFile\\): certificate expires on \\d{4}-\\d\\d-\\d\\dT.*Z \\(in (9|10) days, under 30\\)$`,
    ),
  );
  const files = (out.details as { files: { daysLeft: number; certificates: number }[] }).files;
  t.true(files[1]!.daysLeft >= 364);
  const c = expiryCheck([{ key: 'uplink.caFile', path: chain }], now);
  t.is((c.details as { files: { certificates: number }[] }).files[0]!.certificates, 2);
  t.regex(c.alarms![0]!.message, /chain\.pem \(uplink\.caFile\): certificate expires on/);
  // 40 days on, the client certificate has expired
  t.regex(expiryCheck([{ key: 'uplink.certFile', path: soon }], now + 40 * DAY).alarms![0]!.message, /expired on/);
  t.deepEqual(expiryCheck([{ key: 'uplink.caFile', path: later }], now).alarms, []);
});

test('expiry check: a missing file or one without a certificate fails the job, naming the file', (t) => {
  const dir = tempDir(t);
  const e = t.throws(() => expiryCheck([{ key: 'uplink.certFile', path: join(dir, 'nope.pem') }], 0));
  t.true(isLightNodeError(e, 'JOB_FAILED'));
  t.regex(e.message, /cannot read .*nope\.pem/);
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
  t.throws(() => expiryCheck([{ key: 'uplink.caFile', path: join(dir, 'junk.pem') }], 0), {
    message: /junk\.pem holds no PEM certificate/,
  });
  writeFileSync(join(dir, 'bad.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  t.throws(() => expiryCheck([{ key: 'uplink.caFile', path: join(dir, 'bad.pem') }], 0), {
    message: /bad\.pem: certificate 1 does not parse/,
  });
});
