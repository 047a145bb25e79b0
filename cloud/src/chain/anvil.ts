/**
 * The embedded chain: anvil (Foundry's dev node, its binary shipped inside the npm package
 * `@foundry-rs/anvil-<platform>`) as a child process on loopback. Instant mining, chain id 31337, the standard
 * development mnemonic (its keys are public test keys, never for value).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { HDNodeWallet, Mnemonic } from 'ethers';
import { LightNodeError, type Logger } from '@lightnode/protocols';

/** The public development mnemonic anvil and Hardhat use by default: obviously a test key. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** Private key of development account `i` (0 deploys the contracts; anvil funds the first 10). */
export function devAccountKey(i: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${i}`).privateKey;
}

export function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const req = createRequire(createRequire(import.meta.url).resolve('@foundry-rs/anvil/package.json'));
  let dir: string;
  try {
    dir = dirname(req.resolve(`${pkg}/package.json`));
  } catch (e) {
    throw new LightNodeError(
      'CHAIN_UNAVAILABLE',
      `anvil: the npm package ${pkg} is not installed (run npm ci on this platform)`,
      { pkg },
      { cause: e },
    );
  }
  const bin = join(dir, 'bin', 'anvil');
  if (!existsSync(bin)) throw new LightNodeError('CHAIN_UNAVAILABLE', `anvil: ${bin} is missing`, { bin });
  return bin;
}

/** A free loopback TCP port (bind to 0, read, close): the one helper, also used by hw-test's peers. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface AnvilHandle {
  url: string;
  port: number;
  pid: number;
  chainId: number;
  stop(): Promise<void>;
}

export async function startAnvil(
  opts: { port?: number; chainId?: number; blockTimeS?: number; stateFile?: string; log?: Logger } = {},
): Promise<AnvilHandle> {
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId)];
  if (opts.blockTimeS) args.push('--block-time', String(opts.blockTimeS));
  if (opts.stateFile) args.push('--state', opts.stateFile);
  const child: ChildProcess = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new LightNodeError('CHAIN_UNAVAILABLE', `anvil did not listen on ${port} within 15 s: ${out}`, {}));
    }, 15_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('Listening on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new LightNodeError('CHAIN_UNAVAILABLE', `anvil exited with ${code} before listening: ${out}`, {}));
    });
  });
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.resume();
  child.stderr!.resume();
  const url = `http://127.0.0.1:${port}`;
  // a crash of this process (uncaught exception, process.exit) must not leave the chain running
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  opts.log?.info('anvil started', { url, pid: child.pid, chainId });
  return {
    url,
    port,
    pid: child.pid!,
    chainId,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}
