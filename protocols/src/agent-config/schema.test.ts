// Agent config: meter roles (lines[].meters[].role, chain2[].roles with M1 pod / M2… pv by default), at most one pod.
import test from 'ava';
import { isLightNodeError } from '../errors.js';
import { chain2Roles, parseAgentConfig } from './schema.js';

const base = { podId: 'IT002E61899978', uplink: { url: 'mqtt://127.0.0.1:1883' } };
const line = (meters: object[]) => ({ name: 'rs485', transport: { tcp: { host: '127.0.0.1' } }, meters });

test('roles: Modbus meters carry their configured role; Chain 2 slots default to M1 pod, M2… pv', (t) => {
  const c = parseAgentConfig({
    ...base,
    lines: [
      line([
        { id: 'pv1', profile: 'eastron/sdm630', role: 'pv' },
        { id: 'ess', profile: 'eastron/sdm630', role: 'ess' },
      ]),
    ],
    chain2: [{ name: 'gw', ws: 'ws://127.0.0.1:81', meters: ['M1', 'M2', 'M3'], roles: { M3: 'load' } }],
  });
  t.is(c.lines[0]!.meters[0]!.role, 'pv');
  t.deepEqual(chain2Roles(c.chain2[0]!), { M1: 'pod', M2: 'pv', M3: 'load' });
});

test('a second pod is CONFIG_INVALID naming its path (and the first)', (t) => {
  const e = t.throws(() =>
    parseAgentConfig(
      {
        ...base,
        lines: [line([{ id: 'a', profile: 'eastron/sdm630', role: 'pod' }])],
        chain2: [{ name: 'gw', ws: 'ws://127.0.0.1:81' }],
      },
      'site.json',
    ),
  );
  t.true(isLightNodeError(e, 'CONFIG_INVALID'));
  t.regex(e.message, /site\.json\.lines\[0\]\.meters\[0\]\.role: expected at most one meter with role "pod"/);
  t.regex(e.message, /the first: site\.json\.chain2\[0\]\.roles\.M1 \(default of M1\)/);
  const e2 = t.throws(() =>
    parseAgentConfig({
      ...base,
      lines: [
        line([
          { id: 'a', profile: 'eastron/sdm630', role: 'pod' },
          { id: 'b', profile: 'eastron/sdm630', role: 'pod' },
        ]),
      ],
    }),
  );
  t.regex(e2.message, /config\.lines\[0\]\.meters\[1\]\.role: expected at most one meter with role "pod"/);
  // the same Modbus pod next to a Chain 2 gateway whose M1 is declared something else is fine
  t.notThrows(() =>
    parseAgentConfig({
      ...base,
      lines: [line([{ id: 'a', profile: 'eastron/sdm630', role: 'pod' }])],
      chain2: [{ name: 'gw', ws: 'ws://127.0.0.1:81', roles: { M1: 'load' } }],
    }),
  );
});

test('unknown roles, roles of unconfigured slots and bad PoD ids are refused, naming the field', (t) => {
  t.throws(() => parseAgentConfig({ ...base, lines: [line([{ id: 'a', profile: 'x/y', role: 'grid' }])] }), {
    message: /config\.lines\[0\]\.meters\[0\]\.role: .*received "grid"/,
  });
  t.throws(() => parseAgentConfig({ ...base, chain2: [{ name: 'gw', ws: 'ws://h:81', roles: { M2: 'pv' } }] }), {
    message: /config\.chain2\[0\]\.roles\.M2: a slot among meters \(M1\)/,
  });
  t.throws(() => parseAgentConfig({ ...base, podId: 'IT002X1234' }), { message: /config\.podId: .*"IT002X1234"/ });
});

test('slowEvery: energy counters every 10th poll by default, every poll with 1; 0 is refused naming the field', (t) => {
  const meters = (m: object) => parseAgentConfig({ ...base, lines: [line([{ id: 'a', profile: 'x/y', ...m }])] });
  t.is(meters({}).lines[0]!.meters[0]!.slowEvery, 10);
  t.is(meters({ slowEvery: 1 }).lines[0]!.meters[0]!.slowEvery, 1);
  t.throws(() => meters({ slowEvery: 0 }), { message: /config\.lines\[0\]\.meters\[0\]\.slowEvery/ });
});

test('batch.windowMs: up to 60 min (the cellular profile), 100 ms at least; beyond is refused naming the field', (t) => {
  const win = (windowMs: number) => parseAgentConfig({ ...base, batch: { windowMs } }).batch.windowMs;
  t.is(win(3_600_000), 3_600_000);
  t.is(win(100), 100);
  t.throws(() => win(3_600_001), { message: /config\.batch\.windowMs/ });
  t.throws(() => win(99), { message: /config\.batch\.windowMs/ });
});
