/** A `NotifySink` that records every datagram (or refuses them, to test counted failures). */
import type { NotifySink } from '../agent/systemd.js';

export class FakeNotifySink implements NotifySink {
  readonly messages: string[] = [];
  refuse = false;
  send(message: string): boolean {
    if (this.refuse) return false;
    this.messages.push(message);
    return true;
  }
  /** The messages that contain `KEY=`. */
  with(key: string): string[] {
    return this.messages.filter((m) => m.split('\n').some((l) => l.startsWith(`${key}=`)));
  }
}
