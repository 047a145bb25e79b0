/**
 * Chain access through ethers: deploys the two contracts and talks to them. Works with the embedded anvil and with
 * any Ethereum JSON-RPC (e.g. Besu with QBFT, gas-free) given by URL and key. Errors become `LightNodeError`:
 * unreachable node → `CHAIN_UNAVAILABLE`; refused by the contract's access rule → `FORBIDDEN`; double registration /
 * anchoring → `CONFLICT`.
 */
import {
  Contract,
  ContractFactory,
  Interface,
  JsonRpcProvider,
  Network,
  NonceManager,
  Wallet,
  getAddress,
  type InterfaceAbi,
} from 'ethers';
import { LightNodeError, type Logger } from '@lightnode/protocols';
import { committedAbi, compileContracts } from './compile.js';

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

export class ChainClient {
  readonly provider: JsonRpcProvider;
  readonly signer: NonceManager | undefined;
  readonly address: string | undefined;
  readonly register: Contract;
  readonly proof: Contract;
  readonly registerIface: Interface;
  readonly proofIface: Interface;

  /** How long to wait for a transaction to be mined (default 60 s). */
  txTimeoutMs = 60_000;

  private constructor(
    readonly book: AddressBook,
    privateKey: string | undefined,
    private readonly log?: Logger,
  ) {
    this.provider = makeProvider(book.rpcUrl, book.chainId);
    const wallet = privateKey ? new Wallet(privateKey, this.provider) : undefined;
    this.signer = wallet ? new NonceManager(wallet) : undefined;
    this.address = wallet?.address;
    this.registerIface = new Interface(abiOf('LightNodeKeyRegister'));
    this.proofIface = new Interface(abiOf('ChainProof'));
    this.register = new Contract(book.keyRegister, this.registerIface, this.signer ?? this.provider);
    this.proof = new Contract(book.chainProof, this.proofIface, this.signer ?? this.provider);
  }

  /** A client for deployed contracts; without a key it can only read. */
  static connect(book: AddressBook, privateKey?: string, log?: Logger): ChainClient {
    return new ChainClient(book, privateKey, log);
  }

  /**
   * Deploys LightNodeKeyRegister then ChainProof from `privateKey`. On a fresh anvil with development account 0,
   * the register lands at 0x5FbDB2315678afecb367f032d93F642f64180aa3 (the protocol's test-vector domain).
   */
  static async deploy(rpcUrl: string, privateKey: string, log?: Logger): Promise<ChainClient> {
    const chainId = await rpcChainId(rpcUrl);
    const provider = makeProvider(rpcUrl, chainId);
    const wallet = new NonceManager(new Wallet(privateKey, provider));
    const compiled = compileContracts();
    const addresses: string[] = [];
    let block = 0;
    try {
      for (const name of ['LightNodeKeyRegister', 'ChainProof'] as const) {
        const f = new ContractFactory(compiled[name].abi, compiled[name].bytecode, wallet);
        const c = await f.deploy();
        const receipt = await c.deploymentTransaction()!.wait();
        block = receipt?.blockNumber ?? block;
        addresses.push(getAddress(await c.getAddress()));
      }
    } catch (e) {
      throw chainError(e, `deploying the contracts on ${rpcUrl}`);
    } finally {
      provider.destroy();
    }
    const book: AddressBook = {
      chainId,
      rpcUrl,
      keyRegister: addresses[0]!,
      chainProof: addresses[1]!,
      deployer: await wallet.getAddress(),
      deployedBlock: block,
    };
    log?.info('contracts deployed', { ...book });
    return new ChainClient(book, privateKey, log);
  }

  private requireSigner(what: string): void {
    if (!this.signer) throw new LightNodeError('USAGE', `${what}: this chain client has no key (read-only)`, {});
  }

  private async send(
    c: Contract,
    iface: Interface,
    fn: string,
    args: unknown[],
    what: string,
  ): Promise<{
    txHash: string;
    blockNumber: number;
    logs: readonly { topics: readonly string[]; data: string; address: string }[];
  }> {
    this.requireSigner(what);
    for (let attempt = 1; ; attempt++) {
      try {
        // eth_call first: a revert is reported with its custom error, before any nonce is used.
        await c.getFunction(fn).staticCall(...args);
        const tx = (await c.getFunction(fn).send(...args)) as {
          hash: string;
          wait(confirms?: number, timeoutMs?: number): Promise<unknown>;
        };
        // a chain that takes the transaction but never mines it must not hang the caller: retried later
        const receipt = (await tx.wait(1, this.txTimeoutMs)) as {
          blockNumber: number;
          status: number;
          logs: readonly { topics: readonly string[]; data: string; address: string }[];
        } | null;
        if (!receipt || receipt.status !== 1)
          throw new LightNodeError('INTERNAL', `${what}: transaction ${tx.hash} failed`, { txHash: tx.hash });
        return { txHash: tx.hash, blockNumber: receipt.blockNumber, logs: receipt.logs };
      } catch (e) {
        this.signer?.reset();
        const err = e as { code?: string; message?: string };
        // another sender with this key (or a stale count) took the nonce: ask the chain again, once
        if (
          attempt < 3 &&
          (err.code === 'NONCE_EXPIRED' || /nonce (has already been used|too low)/i.test(err.message ?? ''))
        )
          continue;
        throw chainError(e, what, iface);
      }
    }
  }

  async setEnroller(address: string, allowed: boolean): Promise<string> {
    const r = await this.send(this.register, this.registerIface, 'setEnroller', [address, allowed], 'setEnroller');
    return r.txHash;
  }

  async setAnchorer(address: string, allowed: boolean): Promise<string> {
    const r = await this.send(this.proof, this.proofIface, 'setAnchorer', [address, allowed], 'setAnchorer');
    return r.txHash;
  }

  /** Registers a device: `publicKey` is 0x + 128 hex (x‖y), or 130 hex with the 04 prefix. */
  async registerDevice(deviceId: string, publicKey: string): Promise<{ txHash: string; blockNumber: number }> {
    const pk = /^0x04[0-9a-fA-F]{128}$/.test(publicKey) ? `0x${publicKey.slice(4)}` : publicKey;
    if (!/^0x[0-9a-fA-F]{128}$/.test(pk))
      throw new LightNodeError(
        'INPUT_INVALID',
        `publicKey: expected 0x + 128 hex digits (x‖y), received ${publicKey.length} chars`,
        {
          field: 'publicKey',
        },
      );
    const r = await this.send(this.register, this.registerIface, 'register', [deviceId, pk], `register ${deviceId}`);
    this.log?.info('device registered', { deviceId, txHash: r.txHash });
    return r;
  }

  async revokeDevice(deviceId: string, reason: string): Promise<{ txHash: string; blockNumber: number }> {
    const r = await this.send(this.register, this.registerIface, 'revoke', [deviceId, reason], `revoke ${deviceId}`);
    this.log?.info('device revoked', { deviceId, reason, txHash: r.txHash });
    return r;
  }

  async keyOf(deviceId: string): Promise<RegisteredKey> {
    try {
      const [publicKey, registeredAt, revokedAt, enroller] = (await this.register.getFunction('keyOf')(deviceId)) as [
        string,
        bigint,
        bigint,
        string,
      ];
      return {
        deviceId: deviceId.toLowerCase(),
        publicKey,
        registeredAtS: Number(registeredAt),
        revokedAtS: Number(revokedAt),
        enroller,
        active: registeredAt !== 0n && revokedAt === 0n,
      };
    } catch (e) {
      throw chainError(e, `keyOf ${deviceId}`, this.registerIface);
    }
  }

  /** Anchors an anchor-window root. If this root is already on chain (a retry after a crash), returns that anchor. */
  async anchor(root: string, leafCount: number, slotStartMs: number): Promise<AnchorReceipt> {
    const existing = await this.anchorOf(root);
    if (existing) {
      const found = await this.findAnchorTx(root, existing.blockNumber);
      if (found) return found;
    }
    const r = await this.send(this.proof, this.proofIface, 'anchor', [root, leafCount, slotStartMs], `anchor ${root}`);
    const rec = await this.anchorOf(root);
    if (!rec) throw new LightNodeError('INTERNAL', `anchor ${root}: mined in ${r.txHash} but not readable`, {});
    return { ...rec, txHash: r.txHash, contract: this.book.chainProof, chainId: this.book.chainId };
  }

  async anchorOf(root: string): Promise<AnchorRecord | null> {
    try {
      const a = (await this.proof.getFunction('anchorOf')(root)) as {
        leafCount: bigint;
        slotStartMs: bigint;
        blockNumber: bigint;
        anchoredAt: bigint;
        anchorer: string;
      };
      if (a.blockNumber === 0n) return null;
      return {
        root: root.toLowerCase(),
        leafCount: Number(a.leafCount),
        slotStartMs: Number(a.slotStartMs),
        blockNumber: Number(a.blockNumber),
        anchoredAtS: Number(a.anchoredAt),
        anchorer: a.anchorer,
      };
    } catch (e) {
      throw chainError(e, `anchorOf ${root}`, this.proofIface);
    }
  }

  /** The Anchored event of `root` in `blockNumber`, with its transaction. */
  async findAnchorTx(root: string, blockNumber: number): Promise<AnchorReceipt | null> {
    try {
      const logs = await this.provider.getLogs({
        address: this.book.chainProof,
        topics: [this.proofIface.getEvent('Anchored')!.topicHash, root],
        fromBlock: blockNumber,
        toBlock: blockNumber,
      });
      const l = logs[0];
      if (!l) return null;
      const ev = this.proofIface.parseLog(l)!;
      const block = await this.provider.getBlock(blockNumber);
      return {
        root: root.toLowerCase(),
        leafCount: Number(ev.args[1]),
        slotStartMs: Number(ev.args[2]),
        blockNumber,
        anchoredAtS: block?.timestamp ?? 0,
        anchorer: String(ev.args[3]),
        txHash: l.transactionHash,
        contract: this.book.chainProof,
        chainId: this.book.chainId,
      };
    } catch (e) {
      throw chainError(e, `finding the anchor of ${root}`, this.proofIface);
    }
  }

  /** The Anchored event a transaction emitted (for independent proof checking). */
  async anchorEventOf(txHash: string): Promise<(AnchorRecord & { txHash: string; contract: string }) | null> {
    try {
      const receipt = await this.provider.getTransactionReceipt(txHash);
      if (!receipt || receipt.status !== 1) return null;
      for (const l of receipt.logs) {
        if (l.address.toLowerCase() !== this.book.chainProof.toLowerCase()) continue;
        const ev = this.proofIface.parseLog(l);
        if (ev?.name !== 'Anchored') continue;
        const block = await this.provider.getBlock(receipt.blockNumber);
        return {
          root: String(ev.args[0]).toLowerCase(),
          leafCount: Number(ev.args[1]),
          slotStartMs: Number(ev.args[2]),
          anchorer: String(ev.args[3]),
          blockNumber: receipt.blockNumber,
          anchoredAtS: block?.timestamp ?? 0,
          txHash,
          contract: l.address,
        };
      }
      return null;
    } catch (e) {
      throw chainError(e, `reading transaction ${txHash}`, this.proofIface);
    }
  }

  close(): void {
    this.provider.destroy();
  }
}
