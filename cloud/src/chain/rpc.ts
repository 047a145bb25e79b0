/**
 * The JSON-RPC side of chain access: what the contracts and the chain are (address book, key and anchor records), one
 * provider setup, a chain-id probe, and the mapping of ethers failures to `LightNodeError`s (unreachable node →
 * `CHAIN_UNAVAILABLE`, the contracts' custom errors → `FORBIDDEN` / `CONFLICT` / `INPUT_INVALID`).
 */
import { JsonRpcProvider, Network, type Interface, type InterfaceAbi } from 'ethers';
import { LightNodeError } from '@lightnode/protocols';
import { committedAbi } from './compile.js';

/** Where the contracts live: written by `deploy`, read by every service and by `lightnode proof verify`. */
export interface AddressBook {
  chainId: number;
  rpcUrl: string;
  keyRegister: string;
  chainProof: string;
  deployer: string;
  deployedBlock: number;
}

export interface RegisteredKey {
  deviceId: string;
  /** 0x + 128 hex (x‖y); '0x' when the device was never registered. */
  publicKey: string;
  registeredAtS: number;
  revokedAtS: number;
  enroller: string;
  active: boolean;
}

export interface AnchorRecord {
  root: string;
  leafCount: number;
  slotStartMs: number;
  blockNumber: number;
  anchoredAtS: number;
  anchorer: string;
}

export interface AnchorReceipt extends AnchorRecord {
  txHash: string;
  contract: string;
  chainId: number;
}

const REFUSALS: Record<string, 'FORBIDDEN' | 'CONFLICT' | 'INPUT_INVALID'> = {
  NotOwner: 'FORBIDDEN',
  NotEnroller: 'FORBIDDEN',
  NotAnchorer: 'FORBIDDEN',
  AlreadyRegistered: 'CONFLICT',
  AlreadyRevoked: 'CONFLICT',
  AlreadyAnchored: 'CONFLICT',
  NotRegistered: 'INPUT_INVALID',
  BadPublicKey: 'INPUT_INVALID',
  EmptyWindow: 'INPUT_INVALID',
};

export function abiOf(name: 'LightNodeKeyRegister' | 'ChainProof'): InterfaceAbi {
  return committedAbi(name);
}

/** Maps an ethers failure to a LightNodeError naming what the chain said. */
export function chainError(e: unknown, what: string, iface?: Interface): LightNodeError {
  if (e instanceof LightNodeError) return e;
  const err = e as {
    code?: string;
    data?: string;
    shortMessage?: string;
    message?: string;
    revert?: { name: string; args: unknown[] } | null;
    info?: { error?: { data?: unknown } };
  };
  if (err.revert?.name && err.revert.name in REFUSALS) {
    const args = err.revert.args.map(String);
    return new LightNodeError(
      REFUSALS[err.revert.name]!,
      `${what}: the contract refused with ${err.revert.name}(${args.join(', ')})`,
      { reason: err.revert.name, args },
      { cause: e },
    );
  }
  const nested = err.info?.error?.data;
  const data = typeof err.data === 'string' ? err.data : typeof nested === 'string' ? nested : undefined;
  if (iface && data && data.length >= 10) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) {
        const code = REFUSALS[parsed.name] ?? 'INTERNAL';
        return new LightNodeError(
          code,
          `${what}: the contract refused with ${parsed.name}(${parsed.args.map(String).join(', ')})`,
          { reason: parsed.name, args: parsed.args.map(String) },
          { cause: e },
        );
      }
    } catch {
      /* not one of ours */
    }
  }
  const text = err.shortMessage ?? err.message ?? String(e);
  if (
    err.code === 'ECONNREFUSED' ||
    err.code === 'TIMEOUT' ||
    err.code === 'NETWORK_ERROR' ||
    /ECONNREFUSED|fetch failed|socket hang up|ECONNRESET|timeout/i.test(text)
  )
    return new LightNodeError('CHAIN_UNAVAILABLE', `${what}: the chain does not answer (${text})`, {}, { cause: e });
  return new LightNodeError('INTERNAL', `${what}: ${text}`, {}, { cause: e });
}

/** Asks a JSON-RPC endpoint for its chain id (no ethers network detection loop). */
export async function rpcChainId(rpcUrl: string, timeoutMs = 5000): Promise<number> {
  try {
    const r = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const j = (await r.json()) as { result?: string };
    if (!j.result) throw new Error(`no result: ${JSON.stringify(j)}`);
    return Number(BigInt(j.result));
  } catch (e) {
    throw new LightNodeError(
      'CHAIN_UNAVAILABLE',
      `chain at ${rpcUrl} does not answer eth_chainId (${(e as Error).message})`,
      { rpcUrl },
      { cause: e },
    );
  }
}

export function makeProvider(rpcUrl: string, chainId: number): JsonRpcProvider {
  // no response cache: a nonce or a registration read 250 ms ago may be stale on an instant-mining chain
  return new JsonRpcProvider(rpcUrl, Network.from(chainId), {
    staticNetwork: true,
    pollingInterval: 100,
    cacheTimeout: -1,
  });
}
