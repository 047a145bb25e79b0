// What the runner refuses for systemd agents (before anything starts): a disk-full on one, a serial device of one.
import test from 'ava';
import { parseScenario } from './scenario-file.js';
import { systemdUnsupported } from './agent-systemd.js';
import { runScenario } from './runner.js';

const scenario = (devices: string, timeline: string) =>
  parseScenario(
    [
      'name: s',
      'description: d',
      'seed: 1',
      'durationS: 10',
      'cloud: { kind: mosquitto }',
      `devices:\n${devices}`,
      'agents:\n  - { id: a1, mode: systemd, devices: [m1] }',
      `timeline:\n${timeline}`,
      'invariants: [noSeqConflict]',
    ].join('\n'),
    'test.yaml',
  );
const TCP = '  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 200, tcp: true }';
const KILL = '  - { atS: 2, do: kill9, agent: a1, restartAfterS: 0 }';

test('a TCP meter and kill9 on a systemd agent: nothing refused', (t) => {
  t.is(systemdUnsupported(scenario(TCP, KILL)), null);
});

test('disk-full on a systemd agent is refused, naming the agent and what to use instead', (t) => {
  const why = systemdUnsupported(scenario(TCP, '  - { atS: 2, do: disk-full, agent: a1, forS: 2 }'));
  t.regex(
    why ?? '',
    /^agent a1 \(mode systemd\): disk-full is not supported .*\/var\/lib\/lightnode.*use mode process$/,
  );
});

test('an RTU meter of a systemd agent is refused (its pty is the host’s)', (t) => {
  const rtu = '  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 200, rtu: true }';
  t.regex(systemdUnsupported(scenario(rtu, KILL)) ?? '', /device m1 is on a serial pty of the host/);
});

test('the runner breaks at stage agents with that reason, before any peer starts', async (t) => {
  const r = await runScenario(scenario(TCP, '  - { atS: 2, do: disk-full, agent: a1, forS: 2 }'));
  t.false(r.passed);
  t.is(r.broke?.stage, 'agents');
  t.regex(r.broke?.message ?? '', /disk-full is not supported for systemd agents/);
  t.deepEqual(
    r.events.map((e) => e.do),
    ['broke'],
  );
});
