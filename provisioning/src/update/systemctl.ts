/**
 * The one seam through which updates talk to systemd (never with `--root`). Tests pass a fake; the real one runs
 * `systemctl` (no D-Bus client in Node).
 */
import { spawnSync } from 'node:child_process';
import type { AgentView } from './state.js';

export const AGENT_UNIT = 'lightnode-agent.service';

export interface Systemctl {
  /** `systemctl restart --no-block UNIT`. */
  restart(unit: string): void;
  /** `systemctl start --no-block UNIT`. */
  start(unit: string): void;
  /** `systemctl reset-failed UNIT`. */
  resetFailed(unit: string): void;
  /** The unit's ActiveState and how long it has been active. */
  view(unit: string): AgentView;
}

function run(args: string[]): string {
  const r = spawnSync('systemctl', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`systemctl ${args.join(' ')}: exit ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The real systemctl. `activeForMs` from ActiveEnterTimestampMonotonic against CLOCK_MONOTONIC (process.hrtime). */
export const realSystemctl: Systemctl = {
  restart: (u) => void run(['restart', '--no-block', u]),
  start: (u) => void run(['start', '--no-block', u]),
  resetFailed: (u) => void run(['reset-failed', u]),
  view(u) {
    const out = run(['show', u, '-p', 'ActiveState', '-p', 'ActiveEnterTimestampMonotonic']);
    const kv = Object.fromEntries(
      out.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const activeState = kv.ActiveState ?? null;
    const enterUs = Number(kv.ActiveEnterTimestampMonotonic ?? 0);
    const nowUs = Number(process.hrtime.bigint() / 1000n);
    return {
      activeState,
      activeForMs: activeState === 'active' && enterUs > 0 ? Math.max(0, (nowUs - enterUs) / 1000) : null,
    };
  },
};

/** No systemd (`--root`): nothing is called, the agent's state is unknown. */
export const noSystemctl: Systemctl = {
  restart: () => undefined,
  start: () => undefined,
  resetFailed: () => undefined,
  view: () => ({ activeState: null, activeForMs: null }),
};
