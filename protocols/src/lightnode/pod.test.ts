import test from 'ava';
import { readFileSync } from 'node:fs';
import { podIdSchema } from '../agent-config/schema.js';
import { validatePodId } from './pod.js';

const table: [string, boolean][] = [
  ['IT002E61899978', true],
  ['IT001E01524052', true],
  ['IT002E618999781', true], // check character
  ['IT002E6189997A', false], // 7 digits + letter
  ['IT002X1234', false],
  ['IT02E61899978', false],
  ['it002E61899978', false],
  ['IT002E61899978AB', false],
  ['FR1234567', true],
  ['DE0001234567890123456789012345', true],
  ['F1234567', false],
  ['', false],
  ['IT002E61899978 ', false], // padding must be trimmed first
];

for (const [id, ok] of table)
  test(`validatePodId(${JSON.stringify(id)}) → ${ok ? 'ok' : 'refused'}`, (t) => {
    const r = validatePodId(id);
    t.is(r.ok, ok);
    if (!r.ok) t.true(r.reason.includes(JSON.stringify(id)), r.reason);
    t.is(podIdSchema.safeParse(id).success, ok);
  });

test('every PoD of the shared scenarios fits the Italian rule', (t) => {
  // protocols/dist/lightnode/ → the project's parent folder holds shared/
  const text = readFileSync(new URL('../../../../shared/scenarios/tor-di-valle.json', import.meta.url), 'utf8');
  const pods = [...new Set(text.match(/IT[0-9A-Z]{10,14}/g) ?? [])];
  t.true(pods.length >= 5, `found ${pods.length} PoDs`);
  for (const p of pods) t.true(validatePodId(p).ok, p);
});

test('a non-string is refused with a reason', (t) => {
  const r = validatePodId(42);
  t.false(r.ok);
});
