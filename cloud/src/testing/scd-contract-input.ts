/**
 * The SCD contract's bad-input part: malformed gap deliveries (400 naming the field, nothing stored), oversized bodies
 * (413), bad %-escapes in paths (400 naming the parameter), malformed token requests (400 invalid_request) — never a
 * 5xx.
 */
import type { TestFn } from 'ava';
import { lightNodeDomain, signGap, type Signer } from '@lightnode/protocols';
import type { ScdStore } from '../scd/store.js';
import { CHAIN, POD_A, REGISTER, sealedBatch, testGap, windowOf } from './fixtures.js';

type Reply = {
  status: number;
  body: { error?: { code: string; message: string; field?: string } } & Record<string, unknown>;
};

/** What the bad-input tests need from the running SCD of the contract suite. */
export interface ScdHarness {
  url: string;
  secrets: Record<string, string>;
  store: ScdStore;
  dev: Signer;
  call(method: string, path: string, who: string | null, body?: unknown): Promise<Reply>;
}

export function scdInputContract(test: TestFn, label: string, harness: () => ScdHarness): void {
  test.serial(`${label}: malformed gap deliveries — 400 naming the field, nothing stored`, async (t) => {
    const h = harness();
    const domain = lightNodeDomain(CHAIN, REGISTER);
    const gap = testGap(h.dev.address, { firstSeq: 500, lastSeq: 509, energyExportWh: -1 });
    const signed = signGap(gap, h.dev, domain);
    const delivery = (...gaps: { kind: string; message: unknown; signature: string }[]): unknown => ({
      v: 1,
      bal: 'bal-test',
      gaps: gaps.map((g) => ({ signed: g, receivedMs: 1_624_400_001_000 })),
    });
    const withMessage = (m: Record<string, unknown>) => ({ ...signed, message: m });
    const before = (await h.store.counts()).declaredGaps;
    const cases: [unknown, string][] = [
      [delivery(withMessage({})), 'gaps.0.signed.message.version'],
      [delivery(withMessage({ ...gap, firstSeq: 'a' })), 'gaps.0.signed.message.firstSeq'],
      [delivery(withMessage({ ...gap, firstSeq: -1 })), 'gaps.0.signed.message.firstSeq'],
      [delivery(withMessage({ ...gap, firstSeq: 1.5 })), 'gaps.0.signed.message.firstSeq'],
      [delivery(withMessage({ ...gap, version: 70_000 })), 'gaps.0.signed.message.version'],
      [delivery(withMessage({ ...gap, count: 2 ** 32 })), 'gaps.0.signed.message.count'],
      [delivery(withMessage({ ...gap, energyImportWh: 2 ** 60 })), 'gaps.0.signed.message.energyImportWh'],
      [delivery(withMessage({ ...gap, deviceId: '0x12' })), 'gaps.0.signed.message.deviceId'],
      [delivery(withMessage({ ...gap, lastSeq: 499, count: 0 })), 'gaps.0.signed.message.lastSeq'],
      [delivery(withMessage({ ...gap, count: 9 })), 'gaps.0.signed.message.count'],
      [delivery(withMessage({ ...gap, colour: 'red' })), 'gaps.0.signed.message'],
      [delivery({ ...signed, signature: 'nope' }), 'gaps.0.signed.signature'],
      [delivery(signed, withMessage({ ...gap, firstSeq: 'a' })), 'gaps.1.signed.message.firstSeq'],
      [{ v: 1, bal: 'bal-test', gaps: [{ signed }] }, 'gaps.0.receivedMs'],
    ];
    for (const [body, field] of cases) {
      const r = await h.call('POST', '/ingest/gaps', 'bal', body);
      t.is(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
      t.is(r.body.error?.field, field, JSON.stringify(r.body));
      t.true(r.body.error!.message.startsWith(`SCHEMA_INVALID: ${field}`), r.body.error!.message);
    }
    t.is((await h.store.counts()).declaredGaps, before, 'nothing stored, not even the good gap of a bad delivery');
    const ok = await h.call('POST', '/ingest/gaps', 'bal', delivery(signed));
    t.is(ok.status, 200, JSON.stringify(ok.body));
    t.is(ok.body.gapsStored, 1);
    t.is((await h.store.counts()).declaredGaps, before + 1);
  });

  test.serial(`${label}: oversized bodies → 413, bad path escapes → 400, never 5xx`, async (t) => {
    const h = harness();
    const big = JSON.stringify({ podId: POD_A, pad: 'x'.repeat(2 << 20) });
    for (const [path, who] of [
      ['/pods', 'ACEAE'],
      ['/ingest/gaps', 'bal'],
    ] as const) {
      const r = await h.call('POST', path, who, big);
      t.is(r.status, 413, `${path}: ${JSON.stringify(r.body)}`);
      t.is(r.body.error?.code, 'BODY_TOO_LARGE');
      t.regex(r.body.error!.message, /at most 1048576 bytes/);
    }
    const before = await h.store.counts();
    const w = windowOf([sealedBatch(h.dev, 1000, 5)]);
    const notJson = await h.call('POST', '/ingest', 'bal', JSON.stringify(w).slice(0, -9));
    t.is(notJson.status, 400, 'a truncated window is not JSON');
    t.is(notJson.body.error?.code, 'DECODE_ERROR');
    const badWire = await h.call('POST', '/ingest', 'bal', { ...w, batches: [{ ...w.batches[0]!, wire: 'AAAA' }] });
    t.is(badWire.status, 400, JSON.stringify(badWire.body));
    t.is(badWire.body.error?.field, 'batches.0.wire');
    for (const [method, path, who, field] of [
      ['GET', '/gaps/%zz', 'dso', 'deviceId'],
      ['GET', '/gaps/%E0%A4%A', 'dso', 'deviceId'],
      ['GET', '/gaps/not-an-address', 'dso', 'deviceId'],
      ['GET', '/gaps/0x12', 'dso', 'deviceId'],
      ['GET', `/proof/%/1`, 'dso', 'deviceId'],
      ['GET', `/proof/${h.dev.address}/%ff`, 'dso', 'seq'],
      ['GET', `/proof/${h.dev.address}/1e3`, 'dso', 'seq'],
      ['PUT', '/pods/%C0/pom', 'dso', 'podId'],
      ['GET', '/pods/IT%2/baseline?day=2021-06-23', 'dso', 'podId'],
    ] as const) {
      const r = await h.call(method, path, who, method === 'PUT' ? { pomId: 'P' } : undefined);
      t.is(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      t.is(r.body.error?.field, field, path);
      t.true(r.body.error!.message.includes(field), r.body.error!.message);
    }
    t.deepEqual(await h.store.counts(), before, 'nothing stored');
  });

  test.serial(`${label}: malformed /oauth/token requests → 400 invalid_request, a bad client → 401`, async (t) => {
    const h = harness();
    const token = async (body: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${h.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
      return { status: r.status, body: (await r.json()) as { error?: string; error_description?: string } };
    };
    const json = { 'content-type': 'application/json' };
    const good = JSON.stringify({
      grant_type: 'client_credentials',
      client_id: 'ACEAE',
      client_secret: h.secrets.ACEAE!,
    });
    const basic = (s: string) => ({ authorization: `Basic ${Buffer.from(s).toString('base64')}` });
    for (const [body, headers, why] of [
      [good.slice(0, 20), json, /not JSON/],
      ['[1,2]', json, /a JSON object/],
      ['{"grant_type":"client_credentials","client_id":7}', json, /client_id: expected a string/],
      ['grant_type=client_credentials&grant_type=client_credentials', {}, /given more than once/],
      ['grant_type=client_credentials&client_id=ACEAE', {}, /client_secret are required/],
      ['grant_type=client_credentials', basic('ACEAE%zz:x'), /malformed %-escape/],
      ['grant_type=client_credentials', basic('no-colon'), /client_id:client_secret/],
    ] as const) {
      const r = await token(body, headers);
      t.is(r.status, 400, `${body}: ${JSON.stringify(r.body)}`);
      t.is(r.body.error, 'invalid_request');
      t.regex(r.body.error_description ?? '', why);
    }
    t.is((await token('grant_type=password')).body.error, 'unsupported_grant_type');
    const wrong = await token('grant_type=client_credentials', basic(`ACEAE:${'y'.repeat(20)}`));
    t.is(wrong.status, 401);
    t.is(wrong.body.error, 'invalid_client');
    t.is((await token(good, json)).status, 200);
    t.is(
      (await token('grant_type=client_credentials', basic(`ACEAE:${encodeURIComponent(h.secrets.ACEAE!)}`))).status,
      200,
    );
  });

  test.serial(`${label}: a proof whose anchor record is missing is refused naming the transaction`, async (t) => {
    const h = harness();
    const w = windowOf([sealedBatch(h.dev, 2000, 5)]);
    w.anchor.txHash = `0x${'cd'.repeat(32)}`;
    t.is((await h.call('POST', '/ingest', 'bal', w)).status, 200);
    await h.store.db.run('DELETE FROM anchors WHERE tx_hash = ?', [w.anchor.txHash]);
    const r = await h.call('GET', `/proof/${h.dev.address}/2002`, 'dso');
    t.is(r.status, 404, JSON.stringify(r.body));
    t.regex(r.body.error!.message, new RegExp(`no anchor record for transaction ${w.anchor.txHash}`));
  });
}
