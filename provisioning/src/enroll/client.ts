/**
 * The device side of enrollment (SPEC §7): with the one-time token an installer issued for this device's serial and
 * PoD, fetch the service's EIP-712 domain (`GET /enroll/domain`), sign an `Enrollment` over the token's hash with the
 * device key, and claim the token (`POST /enroll`). The service registers the key on chain and binds the device to
 * the PoD. A refusal is a LightNodeError with the service's code (ENROLL_TOKEN_UNKNOWN, ENROLL_TOKEN_USED,
 * ENROLL_TOKEN_EXPIRED, ENROLL_TOKEN_MISMATCH, ENROLL_PROOF_INVALID, POD_INVALID, …) and message; a service that
 * does not answer is IO_ERROR naming it. Talks HTTP only: nothing of the cloud package is imported.
 */
import {
  ERROR_CODES,
  LightNodeError,
  PROTOCOL_VERSION,
  signEnrollment,
  tokenHash,
  type Eip712Domain,
  type Enrollment,
  type ErrorCode,
  type Signer,
} from '@lightnode/protocols';

export interface EnrollDeviceOptions {
  /** Base URL of the enrollment service, e.g. `http://127.0.0.1:8450`. */
  url: string;
  /** The one-time token from the installer. */
  token: string;
  /** The device serial the token was issued for. */
  serial: string;
  /** The PoD the token was issued for. */
  podId: string;
  /** The device key (its `publicKey` is needed: the service registers it). */
  signer: Signer;
  /** Time source of the proof's `atMs` (ms since the epoch); default `Date.now`. */
  now?: () => number;
  /** Per request (default 30 s). */
  timeoutMs?: number;
}

export interface EnrolledDevice {
  deviceId: string;
  podId: string;
  aggregator: string;
  /** The key register transaction. */
  txHash: string;
}

const KNOWN = new Set<string>(ERROR_CODES);

async function call<R>(o: EnrollDeviceOptions, method: 'GET' | 'POST', path: string, body?: unknown): Promise<R> {
  const url = `${o.url.replace(/\/+$/, '')}${path}`;
  let r: Response;
  try {
    r = await fetch(url, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
    });
  } catch (e) {
    throw new LightNodeError(
      'IO_ERROR',
      `enrollment service ${o.url} does not answer ${method} ${path} (${(e as Error).message}): check the URL and the network`,
      { url },
      { cause: e },
    );
  }
  const text = await r.text();
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new LightNodeError(
      'IO_ERROR',
      `enrollment service ${o.url}: ${method} ${path} answered HTTP ${r.status} with no JSON (${JSON.stringify(text.slice(0, 80))})`,
      { url, status: r.status },
    );
  }
  if (r.ok) return j as R;
  const err = (j as { error?: { code?: unknown; message?: unknown } }).error;
  const code = typeof err?.code === 'string' && KNOWN.has(err.code) ? (err.code as ErrorCode) : 'IO_ERROR';
  const message = typeof err?.message === 'string' ? err.message.replace(`${String(err.code)}: `, '') : '';
  throw new LightNodeError(
    code,
    message || `enrollment service ${o.url}: ${method} ${path} answered HTTP ${r.status}`,
    { url, status: r.status },
  );
}

function checkDomain(d: unknown, url: string): Eip712Domain {
  const x = d as Partial<Eip712Domain> | null;
  if (
    !x ||
    typeof x.name !== 'string' ||
    typeof x.version !== 'string' ||
    typeof x.chainId !== 'number' ||
    typeof x.verifyingContract !== 'string' ||
    !/^0x[0-9a-fA-F]{40}$/.test(x.verifyingContract)
  )
    throw new LightNodeError(
      'DECODE_ERROR',
      `enrollment service ${url}: GET /enroll/domain is not an EIP-712 domain {name, version, chainId, verifyingContract} (${JSON.stringify(d)?.slice(0, 120)})`,
      { url },
    );
  return { name: x.name, version: x.version, chainId: x.chainId, verifyingContract: x.verifyingContract };
}

/** Enrolls this device: its key registered on chain and bound to `podId` for the installer's aggregator. */
export async function enrollDevice(o: EnrollDeviceOptions): Promise<EnrolledDevice> {
  if (!o.signer.publicKey)
    throw new LightNodeError(
      'KEY_INVALID',
      'enrollment: the signer does not expose its public key (the service registers it): use a key file signer',
      {},
    );
  const domain = checkDomain(await call<unknown>(o, 'GET', '/enroll/domain'), o.url);
  const message: Enrollment = {
    version: PROTOCOL_VERSION,
    deviceId: o.signer.address,
    serial: o.serial,
    podId: o.podId,
    tokenHash: tokenHash(o.token),
    atMs: (o.now ?? Date.now)(),
  };
  return call<EnrolledDevice>(o, 'POST', '/enroll', {
    token: o.token,
    serial: o.serial,
    podId: o.podId,
    publicKey: `0x04${o.signer.publicKey.replace(/^0x/, '')}`,
    proof: signEnrollment(message, o.signer, domain),
  });
}
