/**
 * systemd integration of the agent, as data: what to tell the service manager and when. The wire (a datagram to
 * `NOTIFY_SOCKET`) is a `NotifySink`; the rules live here and are tested with a fake sink and a fake clock:
 * - `READY=1` once the store, the sources and the status socket are up (`ready()`);
 * - `WATCHDOG=1` only after a cycle really completed (`cycleCompleted()`), at most once per `WATCHDOG_USEC`/2 and — as
 *   long as cycles complete — at least once per `WATCHDOG_USEC`;
 * - `STATUS=` at start and on every change of state or alarms, naming the alarm codes (`status()`);
 * - `STOPPING=1` at stop.
 * Failed sends are counted (`stats()`), never thrown.
 */
import type { Clock } from '@lightnode/protocols';

/** Sends one notification datagram (`KEY=value` lines); returns false when it could not be sent. */
export interface NotifySink {
  send(message: string): boolean;
  close?(): void;
}

export interface SystemdStats {
  sent: number;
  failed: number;
  watchdogs: number;
  /** The watchdog period systemd asked for (µs), if any. */
  watchdogUsec?: number;
  lastStatus?: string;
}

export class SystemdNotifier {
  private lastWatchdogMono = -Infinity;
  private lastStatusText: string | undefined;
  private readonly s: SystemdStats = { sent: 0, failed: 0, watchdogs: 0 };
  private readonly watchdogMs: number | undefined;

  constructor(
    private readonly sink: NotifySink | null,
    private readonly clock: Clock,
    env: NodeJS.ProcessEnv = {},
  ) {
    const usec = Number(env.WATCHDOG_USEC);
    const pid = env.WATCHDOG_PID === undefined ? undefined : Number(env.WATCHDOG_PID);
    // WATCHDOG_PID, when set, names the process that must ping: not us → no watchdog from us
    if (Number.isFinite(usec) && usec > 0 && (pid === undefined || pid === process.pid)) {
      this.watchdogMs = usec / 1000;
      this.s.watchdogUsec = usec;
    }
  }

  /** True when NOTIFY_SOCKET was given (there is someone to tell). */
  get enabled(): boolean {
    return this.sink !== null;
  }

  private send(message: string): void {
    if (!this.sink) return;
    if (this.sink.send(message)) this.s.sent++;
    else this.s.failed++;
  }

  ready(status: string): void {
    this.lastStatusText = status;
    this.s.lastStatus = status;
    this.send(`READY=1\nSTATUS=${status}`);
  }

  /** Sends `STATUS=` when the text changed (state or alarm codes). */
  status(text: string): void {
    if (text === this.lastStatusText) return;
    this.lastStatusText = text;
    this.s.lastStatus = text;
    this.send(`STATUS=${text}`);
  }

  /** A cycle completed: pets the watchdog unless it was pet less than WATCHDOG_USEC/2 ago. */
  cycleCompleted(): void {
    if (this.watchdogMs === undefined) return;
    const now = this.clock.monotonic();
    if (now - this.lastWatchdogMono < this.watchdogMs / 2) return;
    this.lastWatchdogMono = now;
    this.s.watchdogs++;
    this.send('WATCHDOG=1');
  }

  stopping(): void {
    this.send('STOPPING=1');
  }

  close(): void {
    this.sink?.close?.();
  }

  stats(): SystemdStats {
    return { ...this.s };
  }
}
