// HIL scenarios on the packaged agent under a real systemd (`mode: systemd`): systemd-power-cut's short variant
// through the runner — the amd64 .deb installed in the cached bookworm root, a copy of it booted with systemd-nspawn,
// Mosquitto and the meter simulator on the host's loopback. Needs root and the tools, like booted.test.ts: when the
// probe root cannot boot, the test registers as skipped with the probe's reason in its title (never a silent pass).
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario, parseScenario, runScenario } from '../index.js';
import { ROOT } from '../hil/harness.js';
import { cacheDir } from './artifacts.js';
import { probeNspawn } from './nspawn.js';

const probed = await probeNspawn(cacheDir);
const file = join(ROOT, 'hw-test', 'scenarios', 'systemd-power-cut.yaml');
const title = 'systemd-power-cut (short): kill -9 of the unit restarted by systemd, broker down; every invariant holds';
const copies = () => readdirSync(tmpdir()).filter((n) => n.startsWith('ln-systemd-'));

if (!probed.ok) test.skip(`${title} — skipped: ${probed.reason}`, () => undefined);
else
  test.serial(title, async (t) => {
    const before = copies();
    const r = await runScenario(loadScenario(file, { short: true }));
    t.log(JSON.stringify({ broke: r.broke, invariants: r.invariants, figures: r.figures, wallS: r.wallS }, null, 1));
    for (const e of r.events) t.log(`[t=${e.atS}s] ${e.do}${e.target ? ` ${e.target}` : ''}: ${e.detail}`);
    t.is(r.broke, undefined, JSON.stringify(r.broke));
    t.is(r.invariants.length, 4);
    for (const i of r.invariants) t.true(i.passed, `${i.name}: ${i.detail}`);
    // the kills landed on the unit's main process and systemd (Restart=on-failure, RestartSec=5) restarted it
    const kills = r.events.filter((e) => e.do === 'kill9' && e.target === 'a1');
    const restarts = r.events.filter((e) => e.do === 'systemd-restart' && e.target === 'a1');
    t.is(kills.length, 2);
    t.is(restarts.length, 2, JSON.stringify(r.events));
    for (const e of restarts) {
      const ms = Number(/up (\d+) ms after/.exec(e.detail)?.[1]);
      t.true(ms >= 4000 && ms < 30_000, `restarted after RestartSec=5 and READY: ${e.detail}`);
    }
    t.regex(restarts[1]!.detail, /NRestarts 2$/);
    t.truthy(r.events.find((e) => e.do === 'broker-up'));
    // the container is gone and its root copy removed
    t.deepEqual(
      copies().filter((n) => !before.includes(n)),
      [],
    );
    t.false(
      existsSync('/run/systemd/nspawn/propagate') &&
        readdirSync('/run/systemd/nspawn/propagate').some((n) => n.startsWith('ln-systemd-')),
    );
  });

// the knobs reach the unit through its drop-in (LIGHTNODE_FAILPOINTS, LIGHTNODE_CLOCK's step file), and the bench
// catches the broken build under systemd too: outbox.ackBeforeCommit + kill -9 signs a seq twice or loses one
const MUTATION = `
name: systemd-mutation
description: systemd-power-cut's kills on a build whose store acknowledges before it commits
seed: 16
durationS: 34
cloud: { kind: mosquitto }
devices:
  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 200, tcp: true }
agents:
  - { id: a1, mode: systemd, devices: [m1], failpoints: [outbox.ackBeforeCommit] }
timeline:
  - { atS: 4, do: clock-step, agent: a1, stepS: 30 }
  - { atS: 9, do: kill9, agent: a1, restartAfterS: 0 }
  - { atS: 20, do: kill9, agent: a1, restartAfterS: 0 }
invariants: [noSampleLost, noSeqConflict, batchesVerify]
`;
const mutationTitle =
  'systemd agent with outbox.ackBeforeCommit: FAILPOINTS_ACTIVE in status, the clock step seen, noSeqConflict or noSampleLost fails';
if (!probed.ok) test.skip(`${mutationTitle} — skipped: ${probed.reason}`, () => undefined);
else
  test.serial(mutationTitle, async (t) => {
    const r = await runScenario(parseScenario(MUTATION, 'systemd-mutation.yaml'));
    for (const e of r.events) t.log(`[t=${e.atS}s] ${e.do}${e.target ? ` ${e.target}` : ''}: ${e.detail}`);
    t.is(r.broke, undefined, JSON.stringify(r.broke));
    t.truthy(
      r.events.find((e) => e.do === 'alarm' && e.target === 'a1' && e.detail.startsWith('FAILPOINTS_ACTIVE raised')),
      'the failpoint reached the unit: its status raises FAILPOINTS_ACTIVE',
    );
    t.regex(r.events.find((e) => e.do === 'clock-step')?.detail ?? '', /status shows stepMs 30000/);
    const failed = r.invariants.filter((i) => !i.passed).map((i) => i.name);
    t.log(JSON.stringify(r.invariants, null, 1));
    t.true(failed.includes('noSeqConflict') || failed.includes('noSampleLost'), JSON.stringify(r.invariants));
  });
