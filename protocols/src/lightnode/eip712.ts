/**
 * EIP-712 typed-data hashing for the v1 messages, written out (no ethers in protocols: ethers is the independent
 * implementation our tests check against). Domain: `{name: "LightNode", version: "1", chainId, verifyingContract}`
 * where verifyingContract is the key-register contract. digest = keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct).
 */
import { LightNodeError, invalidField } from '../errors.js';
import { keccak256 } from './merkle.js';

export interface Eip712Domain {
  name: 'LightNode';
  version: '1';
  chainId: number;
  /** Lowercase or checksummed 0x address of the key-register contract. */
  verifyingContract: string;
}

export const VECTOR_CHAIN_ID = 31337;
/** The first contract deployed by anvil's default account on a fresh chain: the key register in the embedded default. */
export const VECTOR_VERIFYING_CONTRACT = '0x5FbDB2315678afecb367f032d93F642f64180aa3';

export function lightNodeDomain(chainId: number, verifyingContract: string): Eip712Domain {
  return { name: 'LightNode', version: '1', chainId, verifyingContract };
}

/** The primary types of protocol v1, field order as hashed. */
export const EIP712_TYPES = {
  Batch: [
    ['version', 'uint16'],
    ['deviceId', 'address'],
    ['podId', 'string'],
    ['firstSeq', 'uint64'],
    ['lastSeq', 'uint64'],
    ['count', 'uint32'],
    ['windowStartMs', 'uint64'],
    ['windowEndMs', 'uint64'],
    ['root', 'bytes32'],
  ],
  Setpoint: [
    ['version', 'uint16'],
    ['id', 'bytes32'],
    ['issuer', 'address'],
    ['podId', 'string'],
    ['marketSession', 'string'],
    ['slotIndex', 'uint16'],
    ['playerServiceId', 'string'],
    ['activePowerW', 'int64'],
    ['baselineW', 'int64'],
    ['validFromMs', 'uint64'],
    ['validUntilMs', 'uint64'],
    ['nonce', 'uint64'],
  ],
  Ack: [
    ['version', 'uint16'],
    ['setpointId', 'bytes32'],
    ['deviceId', 'address'],
    ['state', 'string'],
    ['reason', 'string'],
    ['appliedPowerW', 'int64'],
    ['atMs', 'uint64'],
    ['seq', 'uint64'],
  ],
  Gap: [
    ['version', 'uint16'],
    ['deviceId', 'address'],
    ['podId', 'string'],
    ['firstSeq', 'uint64'],
    ['lastSeq', 'uint64'],
    ['count', 'uint32'],
    ['reason', 'string'],
    ['energyImportWh', 'int64'],
    ['energyExportWh', 'int64'],
    ['atMs', 'uint64'],
  ],
  QosReport: [
    ['version', 'uint16'],
    ['setpointId', 'bytes32'],
    ['deviceId', 'address'],
    ['podId', 'string'],
    ['slotIndex', 'uint16'],
    ['requestedPowerW', 'int64'],
    ['requestedEnergyWh', 'int64'],
    ['baselineEnergyWh', 'int64'],
    ['deliveredEnergyWh', 'int64'],
    ['atMs', 'uint64'],
    ['seq', 'uint64'],
  ],
  Config: [
    ['version', 'uint16'],
    ['deviceId', 'address'],
    ['revision', 'uint64'],
    ['configHash', 'bytes32'],
    ['issuer', 'address'],
    ['atMs', 'uint64'],
  ],
  ConfigAck: [
    ['version', 'uint16'],
    ['deviceId', 'address'],
    ['revision', 'uint64'],
    ['configHash', 'bytes32'],
    ['state', 'string'],
    ['reason', 'string'],
    ['atMs', 'uint64'],
    ['seq', 'uint64'],
  ],
  Enrollment: [
    ['version', 'uint16'],
    ['deviceId', 'address'],
    ['serial', 'string'],
    ['podId', 'string'],
    ['tokenHash', 'bytes32'],
    ['atMs', 'uint64'],
  ],
  CommissioningReport: [
    ['version', 'uint16'],
    ['deviceId', 'address'],
    ['podId', 'string'],
    ['serial', 'string'],
    ['installer', 'string'],
    ['result', 'string'],
    ['reportHash', 'bytes32'],
    ['atMs', 'uint64'],
    ['seq', 'uint64'],
  ],
} as const;
export type PrimaryType = keyof typeof EIP712_TYPES;
export type TypedMessage = Record<string, string | number | bigint>;

const DOMAIN_FIELDS = [
  ['name', 'string'],
  ['version', 'string'],
  ['chainId', 'uint256'],
  ['verifyingContract', 'address'],
] as const;

const enc = new TextEncoder();
const typeString = (name: string, fields: readonly (readonly [string, string])[]): string =>
  `${name}(${fields.map(([n, t]) => `${t} ${n}`).join(',')})`;
const typeHashCache = new Map<string, Uint8Array>();
function typeHash(name: string, fields: readonly (readonly [string, string])[]): Uint8Array {
  let h = typeHashCache.get(name);
  if (!h) typeHashCache.set(name, (h = keccak256(enc.encode(typeString(name, fields)))));
  return h;
}

function word(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = BigInt.asUintN(256, n);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function encodeField(type: string, v: unknown, field: string): Uint8Array {
  if (type === 'string') {
    if (typeof v !== 'string') throw invalidField('SCHEMA_INVALID', field, 'a string', v);
    return keccak256(enc.encode(v));
  }
  if (type === 'address') {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v))
      throw invalidField('SCHEMA_INVALID', field, 'a 0x address', v);
    return word(BigInt(v));
  }
  if (type === 'bytes32') {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(v))
      throw invalidField('SCHEMA_INVALID', field, '0x + 64 hex digits', v);
    return word(BigInt(v));
  }
  const m = /^(u?)int(\d+)$/.exec(type);
  if (!m) throw new LightNodeError('INTERNAL', `unsupported EIP-712 type ${type}`, { field });
  const bits = Number(m[2]);
  const unsigned = m[1] === 'u';
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^-?\d+$/.test(v)) n = BigInt(v);
  else throw invalidField('SCHEMA_INVALID', field, `an integer (${type})`, v);
  const min = unsigned ? 0n : -(1n << BigInt(bits - 1));
  const max = unsigned ? (1n << BigInt(bits)) - 1n : (1n << BigInt(bits - 1)) - 1n;
  if (n < min || n > max) throw invalidField('SCHEMA_INVALID', field, `${type} in ${min}..${max}`, v);
  return word(n);
}

function hashStruct(
  name: string,
  fields: readonly (readonly [string, string])[],
  msg: Record<string, unknown>,
  path: string,
): Uint8Array {
  const parts = [typeHash(name, fields)];
  for (const [f, t] of fields) parts.push(encodeField(t, msg[f], `${path}.${f}`));
  return keccak256(...parts);
}

const domainCache = new Map<string, Uint8Array>();
export function domainSeparator(d: Eip712Domain): Uint8Array {
  const key = `${d.name}|${d.version}|${d.chainId}|${d.verifyingContract.toLowerCase()}`;
  let h = domainCache.get(key);
  if (!h)
    domainCache.set(
      key,
      (h = hashStruct('EIP712Domain', DOMAIN_FIELDS, d as unknown as Record<string, unknown>, 'domain')),
    );
  return h;
}

/** The EIP-712 digest of `message` as `primaryType` under `domain`: the 32 bytes that get signed. */
export function typedDataDigest(
  primaryType: PrimaryType,
  message: Record<string, unknown>,
  domain: Eip712Domain,
): Uint8Array {
  return keccak256(
    new Uint8Array([0x19, 0x01]),
    domainSeparator(domain),
    hashStruct(primaryType, EIP712_TYPES[primaryType], message, primaryType),
  );
}

/** `{domain, types, primaryType, message}` in the JSON shape ethers' `verifyTypedData` / eth_signTypedData_v4 take. */
export function typedDataFor(primaryType: PrimaryType, message: TypedMessage, domain: Eip712Domain) {
  return {
    domain: { ...domain },
    types: { [primaryType]: EIP712_TYPES[primaryType].map(([name, type]) => ({ name, type })) },
    primaryType,
    message: Object.fromEntries(Object.entries(message).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])),
  };
}
