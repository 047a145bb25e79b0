// The setpoint invariants on a real battery (`--real-ports`): no simulator events, so they are judged from the
// device-signed acks alone — applied, rejected and expired acks still decide, a missing ack still fails, and each
// detail says what could not be observed; and the setpoint baseline the runner reads from the agent's own status.
import test from 'ava';
import { evaluateSetpointInvariant, handBacks, type AckAt, type SetpointFacts } from './setpoint-invariants.js';
import { agentSiteLoadW } from './setpoints.js';

const SP = { agent: 'a1', deviceId: '0xreal', id: '0xsp1', targetW: 500, sentS: 4.5, fromS: 5, untilS: 15 };
const ack = (setpointId: string, state: AckAt['state'], tS: number, reason = ''): AckAt => ({
  deviceId: '0xreal',
  setpointId,
  state,
  reason,
  tS,
});
/** A real battery's run: acks only, no battery events. */
function real(o: Partial<SetpointFacts> = {}): SetpointFacts {
  return {
    sent: [SP],
    refused: [],
    acks: [ack('0xsp1', 'scheduled', 4.6), ack('0xsp1', 'applied', 5.8), ack('0xsp1', 'expired', 15.4)],
    battery: [],
    badAcks: [],
    endS: 30,
    unobserved: ['0xreal'],
    ...o,
  };
}

test('setpointAppliedWithinS on a real battery: from the applied ack, saying the battery itself was not observed', (t) => {
  const ok = evaluateSetpointInvariant({ setpointAppliedWithinS: 2 }, real());
  t.like(ok, { passed: true, value: 0.8 });
  t.regex(ok.detail, /real battery of 0xreal…: from the device-signed applied acks .*not observed/);
  const none = evaluateSetpointInvariant(
    { setpointAppliedWithinS: 2 },
    real({ acks: [ack('0xsp1', 'scheduled', 4.6)] }),
  );
  t.false(none.passed, 'no applied ack: fails, events or not');
  t.regex(none.detail, /no applied ack/);
});

test('autonomousWithinS on a real battery: handed back at the expired ack; without it, it fails', (t) => {
  t.deepEqual(handBacks(real()), [
    {
      what: 'window-end',
      deviceId: '0xreal',
      setpointId: '0xsp1',
      atS: 15,
      latencyS: 0.4,
      by: 'expired ack (real battery: its release not observed)',
    },
  ]);
  const ok = evaluateSetpointInvariant({ autonomousWithinS: 1 }, real());
  t.like(ok, { passed: true, value: 0.4 });
  t.regex(ok.detail, /real battery of 0xreal…: handed back at the ack, its release not observed/);
  const noAck = real({ acks: [ack('0xsp1', 'applied', 5.8)] });
  const bad = evaluateSetpointInvariant({ autonomousWithinS: 1 }, noAck);
  t.false(bad.passed);
  t.regex(bad.detail, /window-end at t=15 s: no expired \/ autonomous ack/);
  // a simulated battery without its release event still fails (the events are what it is judged on)
  t.false(evaluateSetpointInvariant({ autonomousWithinS: 1 }, real({ unobserved: [] })).passed);
});

test('rejectedWith on a real battery: the rejected acks decide; the detail does not claim the battery did not follow', (t) => {
  const refused: SetpointFacts['refused'] = [
    { agent: 'a1', deviceId: '0xreal', id: '0xforged', kind: 'forged', sentS: 7 },
  ];
  const acks = [...real().acks, ack('0xforged', 'rejected', 7.5, 'SETPOINT_ISSUER_UNKNOWN')];
  const ok = evaluateSetpointInvariant({ rejectedWith: ['SETPOINT_ISSUER_UNKNOWN'] }, real({ refused, acks }));
  t.true(ok.passed, ok.detail);
  t.regex(
    ok.detail,
    /the battery is real: whether it followed them is not observed \(no simulator events\), only the acks/,
  );
  t.notRegex(ok.detail, /followed only genuine setpoints/);
  const accepted = real({ refused, acks: [...acks, ack('0xforged', 'applied', 8)] });
  t.false(evaluateSetpointInvariant({ rejectedWith: ['SETPOINT_ISSUER_UNKNOWN'] }, accepted).passed);
  const missing = real({ refused, acks: real().acks });
  t.false(evaluateSetpointInvariant({ rejectedWith: ['SETPOINT_ISSUER_UNKNOWN'] }, missing).passed);
});

test("the baseline from the agent's status: its PoD meter's power plus the battery's; none without a PoD reading", (t) => {
  const details = {
    sources: [
      { id: 'm1', lastPowerW: 99 },
      { id: 'e1-pod', role: 'pod', lastPowerW: 700 },
      { id: 'e1', role: 'ess', lastPowerW: 800 },
    ],
  };
  t.is(agentSiteLoadW(details, 'e1'), 1500, 'PoD import 700 W + battery discharge 800 W: a 1 500 W house load');
  t.is(agentSiteLoadW({ sources: [{ id: 'e1-pod', lastPowerW: -200 }] }, 'e1'), -200, 'battery unread: PoD alone');
  t.is(agentSiteLoadW({ sources: [{ id: 'e1-pod' }, { id: 'e1', lastPowerW: 800 }] }, 'e1'), undefined);
  t.is(agentSiteLoadW(undefined, 'e1'), undefined);
});
