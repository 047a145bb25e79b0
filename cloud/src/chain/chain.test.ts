import test from 'ava';
import { Wallet, hexlify, randomBytes } from 'ethers';
import { VECTOR_VERIFYING_CONTRACT, isLightNodeError, publicKeyFromPrivateKey } from '@lightnode/protocols';
import { TEST_DEVICE_KEY, testSigner } from '@lightnode/protocols/testing';
import { startAnvil, devAccountKey, type AnvilHandle } from './anvil.js';
import { ChainClient } from './client.js';
import { ChainKeyRegistry } from '../bal/registry.js';
import { systemClock } from '@lightnode/protocols';
import { compileContracts } from './compile.js';
import { readFileSync } from 'node:fs';
import { CONTRACTS_DIR } from './compile.js';

let anvil: AnvilHandle;
let owner: ChainClient;

test.before(async () => {
  anvil = await startAnvil();
  owner = await ChainClient.deploy(anvil.url, devAccountKey(0));
});
test.after.always(async () => {
  owner?.close();
  await anvil?.stop();
});

test.serial('the key register is the first contract of dev account 0: the protocol vectors domain', (t) => {
  t.is(owner.book.keyRegister, VECTOR_VERIFYING_CONTRACT);
  t.is(owner.book.chainId, 31337);
  t.not(owner.book.chainProof, owner.book.keyRegister);
});

test.serial('committed ABIs equal what solc compiles from the sources', (t) => {
  const c = compileContracts();
  for (const n of ['LightNodeKeyRegister', 'ChainProof'] as const)
    t.deepEqual(JSON.parse(readFileSync(`${CONTRACTS_DIR}abi/${n}.json`, 'utf8')), c[n].abi, n);
});

test.serial('register, read back, refuse a second registration and a wrong public key', async (t) => {
  const s = testSigner();
  const r = await owner.registerDevice(s.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY));
  t.regex(r.txHash, /^0x[0-9a-f]{64}$/);
  const k = await owner.keyOf(s.address);
  t.true(k.active);
  t.is(k.publicKey, publicKeyFromPrivateKey(TEST_DEVICE_KEY));
  t.is(k.enroller, new Wallet(devAccountKey(0)).address);
  const again = await t.throwsAsync(owner.registerDevice(s.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY)));
  t.true(isLightNodeError(again, 'CONFLICT'), String(again));
  t.regex(again.message, /AlreadyRegistered/);
  const other = Wallet.createRandom();
  const bad = await t.throwsAsync(owner.registerDevice(other.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY)));
  t.true(isLightNodeError(bad, 'INPUT_INVALID'), String(bad));
  t.regex(bad.message, /BadPublicKey/);
  const unknown = await owner.keyOf(other.address);
  t.false(unknown.active);
  t.is(unknown.registeredAtS, 0);
});

test.serial('unauthorised callers are refused: register, revoke, anchor, set roles', async (t) => {
  const stranger = ChainClient.connect(owner.book, devAccountKey(7));
  const w = Wallet.createRandom();
  const pub = publicKeyFromPrivateKey(w.privateKey);
  for (const [what, p] of [
    ['register', () => stranger.registerDevice(w.address, pub)],
    ['revoke', () => stranger.revokeDevice(testSigner().address, 'x')],
    ['anchor', () => stranger.anchor(hexlify(randomBytes(32)), 3, 1000)],
    ['setEnroller', () => stranger.setEnroller(stranger.address!, true)],
    ['setAnchorer', () => stranger.setAnchorer(stranger.address!, true)],
  ] as const) {
    const e = await t.throwsAsync((p as () => Promise<unknown>)());
    t.true(isLightNodeError(e, 'FORBIDDEN'), `${what}: ${String(e)}`);
    t.regex(e.message, /Not(Enroller|Anchorer|Owner)/, what);
  }
  // once authorised, the same key works
  await owner.setEnroller(stranger.address!, true);
  await stranger.registerDevice(w.address, pub);
  t.true((await owner.keyOf(w.address)).active);
  stranger.close();
});

test.serial('revoke: final, refused twice, visible to readers', async (t) => {
  const w = Wallet.createRandom();
  await owner.registerDevice(w.address, publicKeyFromPrivateKey(w.privateKey));
  await owner.revokeDevice(w.address, 'stolen');
  const k = await owner.keyOf(w.address);
  t.false(k.active);
  t.true(k.revokedAtS > 0);
  const e = await t.throwsAsync(owner.revokeDevice(w.address, 'again'));
  t.true(isLightNodeError(e, 'CONFLICT'));
  const e2 = await t.throwsAsync(owner.registerDevice(w.address, publicKeyFromPrivateKey(w.privateKey)));
  t.true(isLightNodeError(e2, 'CONFLICT'), 'a revoked id cannot come back');
});

test.serial('anchor, read back by root and by transaction; a retry returns the same anchor', async (t) => {
  const root = hexlify(randomBytes(32));
  const a = await owner.anchor(root, 17, 1_624_400_000_000);
  t.is(a.leafCount, 17);
  t.is(a.slotStartMs, 1_624_400_000_000);
  t.is(a.contract, owner.book.chainProof);
  const read = await owner.anchorOf(root);
  t.is(read?.blockNumber, a.blockNumber);
  const ev = await owner.anchorEventOf(a.txHash);
  t.is(ev?.root, root.toLowerCase());
  t.is(ev?.leafCount, 17);
  const again = await owner.anchor(root, 17, 1_624_400_000_000);
  t.is(again.txHash, a.txHash, 'idempotent: no second transaction');
  t.is(await owner.anchorOf(hexlify(randomBytes(32))), null);
  const empty = await t.throwsAsync(owner.anchor(hexlify(randomBytes(32)), 0, 1));
  t.true(isLightNodeError(empty, 'INPUT_INVALID'));
});

test.serial('a stopped chain is CHAIN_UNAVAILABLE, not a hang', async (t) => {
  const other = await startAnvil();
  const c = await ChainClient.deploy(other.url, devAccountKey(0));
  const s = testSigner();
  await c.registerDevice(s.address, publicKeyFromPrivateKey(TEST_DEVICE_KEY));
  const registry = new ChainKeyRegistry(c, systemClock, 0);
  t.true((await registry.lookup(s.address)).active);
  await other.stop();
  const e = await t.throwsAsync(c.keyOf(s.address));
  t.true(isLightNodeError(e, 'CHAIN_UNAVAILABLE'), String(e));
  // the BAL's registry keeps serving what it read before; an unknown device still needs the chain
  t.true((await registry.lookup(s.address)).active, 'stale but known');
  const e2 = await t.throwsAsync(registry.lookup(Wallet.createRandom().address));
  t.true(isLightNodeError(e2, 'CHAIN_UNAVAILABLE'));
  c.close();
});
