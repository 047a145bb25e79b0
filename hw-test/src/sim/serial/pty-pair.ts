/**
 * A virtual serial line: a pty pair made by socat (`socat -d -d pty,raw,echo=0 pty,raw,echo=0`), one end for the
 * simulator, the other for the client. A pty ignores baud: wire timing is emulated by the simulator. socat is
 * stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LightNodeError } from '@lightnode/protocols';

export interface PtyPair {
  /** The simulator's end. */
  a: string;
  /** The client's end. */
  b: string;
  pid: number;
  stop(): Promise<void>;
}

export async function createPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  let child: ChildProcess;
  try {
    child = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    throw new LightNodeError(
      'IO_ERROR',
      `cannot start socat (install the Debian package socat): ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  const paths: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new LightNodeError('IO_ERROR', 'socat did not report two ptys in time', {})),
      timeoutMs,
    );
    let buf = '';
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new LightNodeError(
          'IO_ERROR',
          `cannot start socat (install the Debian package socat): ${e.message}`,
          {},
          { cause: e },
        ),
      );
    });
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const m of buf.matchAll(/PTY is (\S+)/g)) if (!paths.includes(m[1]!)) paths.push(m[1]!);
      if (paths.length >= 2) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return {
    a: paths[0]!,
    b: paths[1]!,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
