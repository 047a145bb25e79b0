// Fakes and helpers of @lightnode/cloud (subpath ./testing).
export { MemoryKeyRegistry } from '../bal/registry.js';

/** Polls `cond` every 50 ms until it holds; throws after `timeoutMs` with `what`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
export { scdContract, windowOf, sealedBatch, testGap } from './scd-contract.js';
export { TEST_SETPOINT_ID, testAck, testQos } from './fixtures.js';
export { torDiValleSession, offerServiceId, randomSession, TOR_DI_VALLE, type RandomSessionSizes } from './market.js';
export { clearMarketNaive } from '../market/naive.js';
export { ieee33Network, IEEE33_DIR, type Ieee33Options } from './ieee33.js';
export { solveDenseNewton, type NewtonResult } from '../dsotp/newton.js';
export { FakeKeyRegistrar, enrollRequest } from './enroll.js';
export { enrollStoreContract } from './enroll-store-contract.js';
