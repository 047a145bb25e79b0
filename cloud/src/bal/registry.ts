/**
 * Device key lookups for the BAL: the on-chain LightNodeKeyRegister behind a short cache (a revocation is seen
 * within `ttlMs`), or an in-memory register for tests and benches.
 */
import {
  Backoff,
  LightNodeError,
  addressFromPublicKey,
  fromHex,
  isLightNodeError,
  type BackoffPolicy,
  type Clock,
  type Logger,
} from '@lightnode/protocols';
import type { ChainClient, RegisteredKey } from '../chain/client.js';

export interface KeyRegistry {
  /** The key registered for a device (active or not); `registeredAtS` 0 when unknown. */
  lookup(deviceId: string): Promise<RegisteredKey>;
}

/** The address a registered device's batches must recover to; throws DEVICE_UNREGISTERED / DEVICE_REVOKED. */
export function expectedSigner(k: RegisteredKey): string {
  if (k.registeredAtS === 0)
    throw new LightNodeError('DEVICE_UNREGISTERED', `device ${k.deviceId} has no key in the register`, {
      deviceId: k.deviceId,
    });
  if (k.revokedAtS !== 0)
    throw new LightNodeError(
      'DEVICE_REVOKED',
      `device ${k.deviceId} was revoked at ${new Date(k.revokedAtS * 1000).toISOString()}`,
      { deviceId: k.deviceId, revokedAtS: k.revokedAtS },
    );
  return addressFromPublicKey(fromHex(`0x04${k.publicKey.slice(2)}`));
}

/**
 * The registered key, waiting while the chain does not answer: a message is never refused because the register is
 * unreachable — it waits (and the broker holds the ones behind it) until the chain is back. Aborting `signal` during
 * the wait throws IO_ERROR, so the message is left unacknowledged (redelivered after a restart).
 */
export class WaitingKeyLookup {
  private downSince: number | undefined;
  constructor(
    private readonly o: {
      registry: KeyRegistry;
      clock: Clock;
      log: Logger;
      retry: BackoffPolicy;
      random?: (() => number) | undefined;
      signal: AbortSignal;
    },
  ) {}

  async lookup(deviceId: string): Promise<RegisteredKey> {
    let wait: Backoff | undefined; // made on the first failure only (the common path never waits)
    for (;;) {
      try {
        const k = await this.o.registry.lookup(deviceId);
        if (this.downSince !== undefined) {
          this.o.log.info('key register reachable again', { downMs: this.o.clock.now() - this.downSince });
          this.downSince = undefined;
        }
        return k;
      } catch (e) {
        if (!isLightNodeError(e, 'CHAIN_UNAVAILABLE')) throw e;
        if (this.o.signal.aborted)
          throw new LightNodeError('IO_ERROR', `BAL stopping while the key register is unreachable (${e.message})`, {});
        if (this.downSince === undefined) {
          this.downSince = this.o.clock.now();
          this.o.log.warn('key register unreachable: batches wait (not acknowledged) until it answers', {
            error: e.message,
          });
        }
        wait ??= new Backoff(this.o.retry, this.o.random);
        await this.o.clock.sleep(wait.next(), this.o.signal).catch(() => undefined);
      }
    }
  }
}

export class ChainKeyRegistry implements KeyRegistry {
  private readonly cache = new Map<string, { key: RegisteredKey; atMs: number }>();
  constructor(
    private readonly chain: ChainClient,
    private readonly clock: Clock,
    private readonly ttlMs = 2000,
  ) {}

  async lookup(deviceId: string): Promise<RegisteredKey> {
    const id = deviceId.toLowerCase();
    const hit = this.cache.get(id);
    if (hit && this.clock.now() - hit.atMs < this.ttlMs) return hit.key;
    let key: RegisteredKey;
    try {
      key = await this.chain.keyOf(id);
    } catch (e) {
      // the chain does not answer: a key read before is still the best knowledge (a revocation needs the chain too)
      if (hit && isLightNodeError(e, 'CHAIN_UNAVAILABLE')) return hit.key;
      throw e;
    }
    this.cache.set(id, { key, atMs: this.clock.now() });
    return key;
  }
}

export class MemoryKeyRegistry implements KeyRegistry {
  private readonly keys = new Map<string, RegisteredKey>();
  register(deviceId: string, publicKey: string, atS = 1): void {
    this.keys.set(deviceId.toLowerCase(), {
      deviceId: deviceId.toLowerCase(),
      publicKey,
      registeredAtS: atS,
      revokedAtS: 0,
      enroller: '0x0000000000000000000000000000000000000000',
      active: true,
    });
  }
  revoke(deviceId: string, atS = 2): void {
    const k = this.keys.get(deviceId.toLowerCase());
    if (k) this.keys.set(k.deviceId, { ...k, revokedAtS: atS, active: false });
  }
  lookup(deviceId: string): Promise<RegisteredKey> {
    const id = deviceId.toLowerCase();
    return Promise.resolve(
      this.keys.get(id) ?? {
        deviceId: id,
        publicKey: '0x',
        registeredAtS: 0,
        revokedAtS: 0,
        enroller: '0x0000000000000000000000000000000000000000',
        active: false,
      },
    );
  }
}
