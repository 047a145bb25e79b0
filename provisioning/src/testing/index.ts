// Fakes and contract suites of @lightnode/provisioning (subpath ./testing).
import type { AgentView } from '../update/state.js';
import type { Systemctl } from '../update/systemctl.js';

/** A systemctl that records its calls and reports the agent as `view` says (tests of the update operations). */
export class FakeSystemctl implements Systemctl {
  readonly calls: string[] = [];
  view: (unit: string) => AgentView = () => ({ activeState: 'active', activeForMs: 0 });
  restart(unit: string): void {
    this.calls.push(`restart ${unit}`);
  }
  start(unit: string): void {
    this.calls.push(`start ${unit}`);
  }
  resetFailed(unit: string): void {
    this.calls.push(`reset-failed ${unit}`);
  }
}
export * from './commission-rig.js';
