/**
 * Chain access through ethers: deploys the two contracts and talks to them. Works with the embedded anvil and with
 * any Ethereum JSON-RPC (e.g. Besu with QBFT, gas-free) given by URL and key. Errors become `LightNodeError`:
 * unreachable node → `CHAIN_UNAVAILABLE`; refused by the contract's access rule → `FORBIDDEN`; double registration /
 * anchoring → `CONFLICT`.
 */
import type { JsonRpcProvider } from 'ethers';
import { Contract, ContractFactory, Interface, NonceManager, Wallet, getAddress } from 'ethers';
import { LightNodeError, type Logger } from '@lightnode/protocols';
import { compileContracts } from './compile.js';
import {
  abiOf,
  chainError,
  makeProvider,
  rpcChainId,
  type AddressBook,
  type AnchorReceipt,
  type AnchorRecord,
  type RegisteredKey,
} from './rpc.js';

export { rpcChainId } from './rpc.js';
export type { AddressBook, AnchorReceipt, AnchorRecord, RegisteredKey } from './rpc.js';

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
