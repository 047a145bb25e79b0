import test from 'ava';
import { parseChain2Faults } from './faults.js';

test('Chain 2 fault specs: frame faults with a probability per frame, the reboot period', (t) => {
  t.deepEqual(parseChain2Faults(['lose@0.1', 'duplicate', 'late@0', 'malformed@1', 'reboot-every:30']), {
    faults: { lose: 0.1, duplicate: 1, late: 0, malformed: 1 },
    rebootEveryS: 30,
  });
  t.deepEqual(parseChain2Faults([]), { faults: {} });
});

test('bad Chain 2 fault specs are USAGE errors naming the spec and the syntax', (t) => {
  for (const [spec, why] of [
    ['lose@1.5', /probability must be 0\.\.1/],
    ['drop', /unknown kind drop/],
    ['lose:3', /takes no argument/],
    ['reboot-every', /reboot-every:S/],
    ['reboot-every:0', /S ≥ 0\.1/],
    ['reboot-every:5@0.5', /no probability/],
    ['LOSE', /malformed/],
  ] as const)
    t.throws(
      () => parseChain2Faults([spec]),
      { message: new RegExp(`^USAGE: --fault "${spec}": .*${why.source}.*lose\\[@P\\]`) },
      spec,
    );
});
