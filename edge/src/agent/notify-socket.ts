/**
 * The systemd notification wire: one unix datagram per message to `$NOTIFY_SOCKET`, sent from the agent's own
 * process (so the unit can say `NotifyAccess=main`), through the `unix-dgram` addon — Node's `dgram` has no unix
 * datagrams, and the npm `systemd-notify` package spawns `/usr/bin/systemd-notify` per call (~8 ms, a child process
 * that needs `NotifyAccess=all`) and cannot send `WATCHDOG=1`.
 *
 * A socket is opened per message and closed at once: nothing stays registered in the event loop (a lingering poll
 * handle would keep a stopping agent alive). Abstract-namespace sockets (`@…`) are not supported by the addon:
 * every send then counts as failed, and `reason` says why.
 */
import { createRequire } from 'node:module';
import type { NotifySink } from './systemd.js';

interface UnixDgramSocket {
  on(event: 'error', fn: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  close(): void;
}
interface UnixDgram {
  createSocket(type: 'unix_dgram'): UnixDgramSocket;
}

let addon: UnixDgram | undefined;
function loadAddon(): UnixDgram {
  // CommonJS native addon, loaded only when NOTIFY_SOCKET is set (not on a developer's laptop or in tests without it)
  addon ??= createRequire(import.meta.url)('unix-dgram') as UnixDgram;
  return addon;
}

export interface NotifySocketSink extends NotifySink {
  readonly path: string;
  /** Why the last send failed, if it did. */
  readonly lastError: string | undefined;
}

/** The sink for `env.NOTIFY_SOCKET`, or null when the variable is unset (not started by systemd). */
export function notifySocketSink(env: NodeJS.ProcessEnv = process.env): NotifySocketSink | null {
  const path = env.NOTIFY_SOCKET;
  if (!path) return null;
  let lastError: string | undefined;
  return {
    path,
    get lastError() {
      return lastError;
    },
    send(message: string): boolean {
      if (path.startsWith('@')) {
        lastError = `NOTIFY_SOCKET ${path}: abstract-namespace sockets are not supported`;
        return false;
      }
      let ok = true;
      try {
        const sock = loadAddon().createSocket('unix_dgram');
        sock.on('error', (e) => {
          ok = false;
          lastError = e.message;
        });
        const buf = Buffer.from(message);
        // the addon calls back synchronously
        sock.send(buf, 0, buf.length, path, (err) => {
          if (err) {
            ok = false;
            lastError = `NOTIFY_SOCKET ${path}: ${err.message}`;
          }
        });
        sock.close();
      } catch (e) {
        ok = false;
        lastError = `NOTIFY_SOCKET ${path}: ${(e as Error).message}`;
      }
      return ok;
    },
  };
}
