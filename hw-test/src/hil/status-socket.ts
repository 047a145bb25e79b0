/** Readiness for the agent system tests: the agent's status socket answers with a status document. */
import { createConnection } from 'node:net';

/** Resolves true when an agent answers on the unix socket `path` with a JSON status document, false otherwise. */
export function statusAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    let buf = '';
    s.setTimeout(2000, () => s.destroy());
    s.on('data', (d: Buffer) => (buf += d.toString()));
    s.on('end', () => {
      try {
        resolve(typeof (JSON.parse(buf) as { status?: unknown }).status === 'object');
      } catch {
        resolve(false);
      }
    });
    s.on('error', () => resolve(false));
    s.on('close', () => resolve(false));
  });
}

/**
 * Waits until the agent's status socket answers (the store is open and the loop runs), polling every 25 ms; rejects
 * when `exited` settles first (the agent died) or after `timeoutMs`.
 */
export async function waitForStatusSocket(path: string, exited: Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const until = Date.now() + timeoutMs;
  while (!(await statusAnswers(path))) {
    if (gone) throw new Error(`the agent exited before its status socket ${path} answered`);
    if (Date.now() > until) throw new Error(`no answer on the status socket ${path} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
