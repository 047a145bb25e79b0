// The scenario library walk (every file valid, its short variant too, and valid under the published JSON Schema
// read by an independent validator), the schema's drift test, and broken documents → HIL_SCENARIO_INVALID at the
// exact file:line:column of the offending key or value.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLightNodeError } from '@lightnode/protocols';
import { parse } from 'yaml';
import { loadScenario, parseScenario, type ScenarioProblem } from './scenario-file.js';
import { scenarioJsonSchema } from './scenario.js';

const hwTest = fileURLToPath(new URL('../../', import.meta.url));
const library = join(hwTest, 'scenarios');
const files = readdirSync(library)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(library, f));
const schemaFile = join(hwTest, 'scenario.schema.json');

// ajv (draft-07) is an independent validator; it comes with eslint here, hence createRequire.
interface AjvValidate {
  (doc: unknown): boolean;
  errors?: { dataPath?: string; message?: string }[] | null;
}
const Ajv = createRequire(import.meta.url)('ajv') as new (o: object) => { compile(s: unknown): AjvValidate };
const ajvValidate = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync(schemaFile, 'utf8')));

test('the library has the two example scenarios at least', (t) => {
  const names = files.map((f) => basename(f, '.yaml'));
  for (const n of ['power-cut-storm', 'link-latency-loss']) t.true(names.includes(n), names.join(', '));
});

for (const file of files) {
  const name = basename(file, '.yaml');
  test(`library: ${name} validates, short variant included, and is named after its file`, (t) => {
    const full = loadScenario(file);
    t.is(full.name, name);
    t.truthy(full.short, 'every library scenario has a short variant');
    const short = loadScenario(file, { short: true });
    t.true(short.durationS <= full.durationS);
    t.true(full.invariants.length > 0);
  });
  test(`library: ${name} is valid under scenario.schema.json (ajv)`, (t) => {
    const ok = ajvValidate(parse(readFileSync(file, 'utf8')));
    t.true(ok, JSON.stringify(ajvValidate.errors));
  });
}

test('the committed scenario.schema.json is the one generated from the zod schema (npm run profiles)', (t) => {
  t.deepEqual(JSON.parse(readFileSync(schemaFile, 'utf8')), JSON.parse(JSON.stringify(scenarioJsonSchema())));
});

const BASE = `name: t
description: a test scenario
seed: 1
durationS: 60
cloud: { kind: mosquitto }
devices:
  - { id: m1, kind: meter, profile: eastron/sdm630, unit: 1, pollMs: 1000, tcp: true }
  - id: c1
    kind: chain2
    pod: IT001E01524052
    transport: ws
  - { id: e1, kind: ess, sunspec: true }
agents:
  - { id: a1, mode: process, devices: [m1, c1, e1] }
timeline:
  - { atS: 5, do: kill9, agent: a1, restartAfterS: 1 }
  - { atS: 10, do: setpoint, agent: a1, targetW: 1500, forS: 20 }
invariants: [noSampleLost, { setpointAppliedWithinS: 10 }]
short:
  durationS: 30
`;

test('the base document of the broken cases is valid, under zod and under ajv', (t) => {
  const s = parseScenario(BASE, 'base.yaml');
  t.is(s.speed, 1);
  t.is(s.durationS, 60);
  t.is(parseScenario(BASE, 'base.yaml', { short: true }).durationS, 30);
  t.true(ajvValidate(parse(BASE)), JSON.stringify(ajvValidate.errors));
  // the published schema is strict too (not a vacuous `{}`): ajv rejects what zod rejects structurally
  for (const [from, to] of [
    ['seed: 1', 'seed: 1\ndurationSec: 5'],
    ['do: kill9', 'do: kill-9'],
    ['kind: chain2', 'kind: chain3'],
    ['durationS: 30', 'durationS: 30\n  name: other'],
    ['[noSampleLost,', '[noSampleLoss,'],
    ['eastron/sdm630', 'eastron/sdm999'],
  ] as const)
    t.false(ajvValidate(parse(BASE.replace(from, to))), `ajv accepted ${to}`);
});

/** [case, from, to, line:column, path, expected (regex)] */
const BROKEN: [string, string, string, string, string, RegExp][] = [
  ['unknown top-level key', 'seed: 1', 'seed: 1\ndurationSec: 5', '4:1', '$.durationSec', /only the keys name, /],
  ['unknown key in a device', 'unit: 1, pollMs', 'unit: 1, baud: 9600, pollMs', '7:62', '$.devices[0].baud', /only/],
  ['unknown do', 'do: kill9', 'do: kill-9', '16:19', '$.timeline[0].do', /one of kill9, stop, start/],
  [
    'undeclared device',
    'devices: [m1, c1, e1]',
    'devices: [m1, c1, e1, m9]',
    '14:52',
    '$.agents[0].devices[3]',
    /declared device id \(m1, c1, e1\)/,
  ],
  ['YAML syntax error', 'cloud: { kind: mosquitto }', 'cloud: { kind: mosquitto', '6:1', '$', /valid YAML/],
  ['wrong type', 'durationS: 60', 'durationS: sixty', '4:12', '$.durationS', /^a number$/],
  ['missing key', ', restartAfterS: 1', '', '16:5', '$.timeline[0].restartAfterS', /^a number$/],
  [
    'undeclared agent in the timeline',
    'do: kill9, agent: a1',
    'do: kill9, agent: a2',
    '16:33',
    '$.timeline[0].agent',
    /declared agent id \(a1\)/,
  ],
  [
    'gateway-reboot of a meter',
    '  - { atS: 5, do: kill9, agent: a1, restartAfterS: 1 }',
    '  - { atS: 5, do: gateway-reboot, device: m1 }',
    '16:43',
    '$.timeline[0].device',
    /chain2 device \(m1 is a meter\)/,
  ],
  [
    'bad Modbus fault spec',
    'tcp: true }',
    'tcp: true, faults: [timout] }',
    '7:96',
    '$.devices[0].faults[0]',
    /Modbus fault.*unknown kind timout/,
  ],
  [
    'bad Chain 2 fault spec',
    'transport: ws',
    'transport: ws\n    faults: [lose@1.5]',
    '12:14',
    '$.devices[1].faults[0]',
    /Chain 2 fault: probability must be 0..1/,
  ],
  ['atS after the end', 'atS: 5,', 'atS: 61,', '16:12', '$.timeline[0].atS', /atS ≤ durationS \(60\)/],
  [
    'both transports',
    'tcp: true }',
    'tcp: true, rtu: true }',
    '7:92',
    '$.devices[0].rtu',
    /exactly one of tcp: true or rtu: true/,
  ],
  [
    'not a builtin profile',
    'eastron/sdm630',
    'eastron/sdm999',
    '7:37',
    '$.devices[0].profile',
    /one of abb\/b23, .*eastron\/sdm630/,
  ],
  ['bad PoD', 'IT001E01524052', 'IT001X', '10:10', '$.devices[1].pod', /^a PoD id: IT \+ 3-digit distributor code/],
  ['external cloud without url', 'kind: mosquitto', 'kind: external', '5:8', '$.cloud.url', /^a broker URL/],
  [
    'url on a Mosquitto cloud',
    'kind: mosquitto',
    'kind: mosquitto, url: "mqtt://x"',
    '5:27',
    '$.cloud.url',
    /only the keys kind, port/,
  ],
  ['duplicate id', '{ id: e1, kind: ess', '{ id: m1, kind: ess', '12:11', '$.devices[2].id', /not used by another/],
  [
    'unknown failpoint',
    'devices: [m1, c1, e1] }',
    'devices: [m1, c1, e1], failpoints: [outbox.typo] }',
    '14:66',
    '$.agents[0].failpoints[0]',
    /one of outbox.ackBeforeCommit/,
  ],
  [
    'tmpfsMiB on an agent no disk-full fills',
    'devices: [m1, c1, e1] }',
    'devices: [m1, c1, e1], tmpfsMiB: 8 }',
    '14:63',
    '$.agents[0].tmpfsMiB',
    /tmpfsMiB only for an agent a disk-full of the timeline fills/,
  ],
  [
    'unknown error code',
    '{ setpointAppliedWithinS: 10 }',
    '{ rejectedWith: [NOPE] }',
    '18:45',
    '$.invariants[1].rejectedWith[0]',
    /error code/,
  ],
  [
    'unknown invariant',
    '[noSampleLost,',
    '[noSampleLoss,',
    '18:14',
    '$.invariants[0]',
    /one of noSampleLost, noSeqConflict, batchesVerify or/,
  ],
  [
    'a short override breaks a reference',
    'durationS: 30\n',
    'durationS: 30\n  agents: [{ id: a2, mode: process, devices: [m1, c1, e1] }]\n',
    '16:33',
    '$.timeline[0].agent',
    /declared agent id \(a2\)/,
  ],
  [
    'a short override ends before the timeline',
    'durationS: 30\n',
    'durationS: 8\n',
    '17:12',
    '$.timeline[1].atS',
    /atS ≤ durationS \(8\)/,
  ],
  [
    'unknown key in short',
    'durationS: 30\n',
    'durationS: 30\n  name: other\n',
    '21:3',
    '$.short.name',
    /only the keys description, seed/,
  ],
];

function problemOf(text: string, file = 'broken.yaml'): ScenarioProblem & { message: string } {
  try {
    parseScenario(text, file);
  } catch (e) {
    if (!isLightNodeError(e, 'HIL_SCENARIO_INVALID')) throw e;
    return { ...(e.context as unknown as ScenarioProblem), message: e.message };
  }
  throw new Error('no error');
}

for (const [name, from, to, where, path, expected] of BROKEN)
  test(`broken: ${name} → HIL_SCENARIO_INVALID at ${where} ${path}`, (t) => {
    t.true(BASE.includes(from), `case ${name}: ${from} not in the base`);
    const p = problemOf(BASE.replace(from, to));
    t.is(`${p.line}:${p.column}`, where, p.message);
    t.is(p.path, path, p.message);
    t.regex(p.expected, expected, p.message);
    const variant = name.includes('short override') ? ' (with the short overrides)' : '';
    t.is(p.variant, variant ? 'short' : undefined);
    t.true(p.message.startsWith(`HIL_SCENARIO_INVALID: broken.yaml:${where}: ${path}${variant}: expected `), p.message);
    t.regex(p.message, /, received /);
  });

test('the message names what was received: the value, the unknown key, or the missing key', (t) => {
  t.regex(problemOf(BASE.replace('durationS: 60', 'durationS: sixty')).received, /^string "sixty"$/);
  t.is(problemOf(BASE.replace('seed: 1', 'seed: 1\ndurationSec: 5')).received, 'the key "durationSec"');
  t.regex(problemOf(BASE.replace(', restartAfterS: 1', '')).received, /missing/);
});

test('problems come in file order (zod reports in schema order), the first in the message, all in the context', (t) => {
  // durationS moved to the end of the file: the timeline's problem comes first
  const text = BASE.replace('durationS: 60\n', '').replace('do: kill9', 'do: kill-9') + 'durationS: sixty\n';
  const e = t.throws(() => parseScenario(text, 'two.yaml'));
  t.true(isLightNodeError(e, 'HIL_SCENARIO_INVALID'));
  t.regex(e.message, /^HIL_SCENARIO_INVALID: two\.yaml:15:19: \$\.timeline\[0\]\.do: .*\(and 1 more problem\)$/);
  const all = (e as unknown as { context: { problems: ScenarioProblem[] } }).context.problems;
  t.deepEqual(
    all.map((p) => `${p.line}:${p.column} ${p.path}`),
    ['15:19 $.timeline[0].do', '20:12 $.durationS'],
  );
});

test('loadScenario applies the short overrides only when asked; a missing file is HIL_SCENARIO_INVALID', (t) => {
  const file = join(library, 'power-cut-storm.yaml');
  const full = loadScenario(file);
  const short = loadScenario(file, { short: true });
  t.is(full.timeline.filter((e) => e.do === 'kill9').length, 50);
  t.true(short.timeline.length > 0 && short.timeline.length < 50);
  t.is(short.name, full.name);
  t.deepEqual(short.agents, full.agents);
  const e = t.throws(() => loadScenario(join(library, 'no-such.yaml')));
  t.true(isLightNodeError(e, 'HIL_SCENARIO_INVALID'));
  t.regex(e.message, /no-such\.yaml:1:1: \$: expected a readable YAML file, received ENOENT/);
});

test('power-cut-storm: 50 kill -9 at 10 Hz, each restarting at once (the start-up kills)', (t) => {
  const s = loadScenario(join(library, 'power-cut-storm.yaml'));
  const kills = s.timeline.filter((e) => e.do === 'kill9');
  const gaps = kills.slice(1).map((k, i) => Math.round((k.atS - kills[i]!.atS) * 1000));
  t.true(
    gaps.every((g) => g === 100),
    gaps.join(','),
  );
  t.true(kills.every((k) => k.restartAfterS === 0));
});
