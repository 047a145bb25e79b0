/** The real `lightnode` bin as a child process, for tests of exit codes and output (subpath `./testing`). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** bin/lightnode.mjs at the repository root (this file runs from protocols/dist/testing/). */
export const LIGHTNODE_BIN = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));

/** Runs `lightnode ...args` to its exit; resolves with the exit code (null when killed), stdout and stderr. */
export function runLightnode(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [LIGHTNODE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('exit', (code) => resolve({ code, out, err }));
  });
}
