/**
 * Compiles the Solidity sources in `cloud/contracts/` with solc-js (the compiler inside the npm package, offline,
 * ~0.4 s). The ABIs are also committed in `cloud/contracts/abi/` (written by `lightnode cloud contracts --write`)
 * so that other platforms can read them without a compiler; a test keeps them equal to what solc produces.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LightNodeError } from '@lightnode/protocols';

export const CONTRACT_NAMES = ['LightNodeKeyRegister', 'ChainProof'] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface CompiledContract {
  name: ContractName;
  abi: readonly Record<string, unknown>[];
  /** 0x creation bytecode. */
  bytecode: string;
}

/** `cloud/contracts/` (the same relative path from src/chain and dist/chain). */
export const CONTRACTS_DIR = fileURLToPath(new URL('../../contracts/', import.meta.url));

/** solc-js, loaded on first use (its compiler is ~9 MB of JavaScript: services that only talk to deployed contracts
 * read the committed ABIs instead). Its typings are loose (`any`): the two calls we use, typed. */
interface Solc {
  compile(input: string): string;
  version(): string;
}
let solcLoaded: Solc | undefined;
function solc(): Solc {
  solcLoaded ??= createRequire(import.meta.url)('solc') as Solc;
  return solcLoaded;
}

/** The committed ABI of a contract (cloud/contracts/abi/NAME.json), without compiling. */
export function committedAbi(name: ContractName): readonly Record<string, unknown>[] {
  return JSON.parse(readFileSync(`${CONTRACTS_DIR}abi/${name}.json`, 'utf8')) as Record<string, unknown>[];
}

let cache: Record<ContractName, CompiledContract> | undefined;

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: Record<string, unknown>[]; evm: { bytecode: { object: string } } }>>;
}

export function compileContracts(): Record<ContractName, CompiledContract> {
  if (cache) return cache;
  const sources: Record<string, { content: string }> = {};
  for (const n of CONTRACT_NAMES) sources[`${n}.sol`] = { content: readFileSync(`${CONTRACTS_DIR}${n}.sol`, 'utf8') };
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const out = JSON.parse(solc().compile(JSON.stringify(input))) as SolcOutput;
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0)
    throw new LightNodeError(
      'INTERNAL',
      `solc ${solc().version()}: ${errors.map((e) => e.formattedMessage).join('\n')}`,
      {},
    );
  const result = {} as Record<ContractName, CompiledContract>;
  for (const n of CONTRACT_NAMES) {
    const c = out.contracts[`${n}.sol`]?.[n];
    if (!c) throw new LightNodeError('INTERNAL', `solc produced no contract ${n}`, {});
    result[n] = { name: n, abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  }
  cache = result;
  return result;
}

export function solcVersion(): string {
  return solc().version();
}
