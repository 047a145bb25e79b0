/**
 * enrollDevice against a scripted HTTP peer on 127.0.0.1 (the real service is exercised end to end in hw-test's
 * system suite): the proof it posts verifies in the domain it fetched, over the token's hash, by the device key; the
 * service's refusals come back as LightNodeErrors with its code and message; no answer / no JSON are IO_ERROR.
 */
import test from 'ava';
import { createServer, type Server } from 'node:http';
import {
  generatePrivateKey,
  lightNodeDomain,
  privateKeySigner,
  tokenHash,
  verifySigned,
  type SignedEnrollment,
} from '@lightnode/protocols';
import { enrollDevice } from './client.js';

const domain = lightNodeDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
const dev = privateKeySigner(generatePrivateKey());

/** A peer answering GET /enroll/domain with `domainBody` and POST /enroll with `answer(body)`. */
async function peer(
  answer: (body: Record<string, unknown>) => { status: number; body: unknown },
  domainBody: unknown = domain,
): Promise<{ url: string; posted: Record<string, unknown>[]; server: Server }> {
  const posted: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (req.method === 'GET' && req.url === '/enroll/domain') return send(200, domainBody);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      posted.push(body);
      const a = answer(body);
      send(a.status, a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, posted, server };
}
const close = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

const opts = { token: 'tok-123', serial: 'LN-2026-000123', podId: 'IT002E61899978', signer: dev, now: () => 1_700 };

test('posts a proof that verifies in the fetched domain, by the device key, over the token hash', async (t) => {
  const p = await peer((b) => ({
    status: 201,
    body: {
      deviceId: (b.proof as SignedEnrollment).message.deviceId,
      podId: b.podId,
      aggregator: 'ACEAE',
      txHash: '0xab',
    },
  }));
  const r = await enrollDevice({ url: `${p.url}/`, ...opts });
  t.deepEqual(r, { deviceId: dev.address, podId: opts.podId, aggregator: 'ACEAE', txHash: '0xab' });
  const b = p.posted[0]!;
  t.like(b, { token: 'tok-123', serial: opts.serial, podId: opts.podId, publicKey: `0x04${dev.publicKey!.slice(2)}` });
  const proof = b.proof as SignedEnrollment;
  t.deepEqual(proof.message, {
    version: 1,
    deviceId: dev.address,
    serial: opts.serial,
    podId: opts.podId,
    tokenHash: tokenHash('tok-123'),
    atMs: 1_700,
  });
  t.is(verifySigned(proof, domain).signer, dev.address);
  await close(p.server);
});

test("the service's refusal is a LightNodeError with its code and message (said once)", async (t) => {
  const p = await peer(() => ({
    status: 409,
    body: { error: { code: 'ENROLL_TOKEN_USED', message: 'ENROLL_TOKEN_USED: enrollment token already used' } },
  }));
  await t.throwsAsync(enrollDevice({ url: p.url, ...opts }), {
    code: 'ENROLL_TOKEN_USED',
    message: 'ENROLL_TOKEN_USED: enrollment token already used',
  } as never);
  await close(p.server);
  const odd = await peer(() => ({ status: 502, body: { error: { code: 'WHATEVER', message: 'proxy down' } } }));
  await t.throwsAsync(enrollDevice({ url: odd.url, ...opts }), { message: 'IO_ERROR: proxy down' });
  await close(odd.server);
  const html = await peer(() => ({ status: 500, body: '<html>' }));
  await t.throwsAsync(enrollDevice({ url: html.url, ...opts }), { message: /IO_ERROR: .*HTTP 500 with no JSON/ });
  await close(html.server);
});

test('a bad domain, no public key, or a service that does not answer', async (t) => {
  const p = await peer(() => ({ status: 201, body: {} }), { name: 'LightNode' });
  await t.throwsAsync(enrollDevice({ url: p.url, ...opts }), { message: /DECODE_ERROR: .*not an EIP-712 domain/ });
  t.is(p.posted.length, 0, 'nothing posted');
  await close(p.server);
  const { publicKey: _, ...bare } = dev;
  await t.throwsAsync(enrollDevice({ url: p.url, ...opts, signer: bare }), { message: /KEY_INVALID/ });
  await t.throwsAsync(enrollDevice({ url: p.url, ...opts }), {
    message: /IO_ERROR: enrollment service .* does not answer/,
  });
});
