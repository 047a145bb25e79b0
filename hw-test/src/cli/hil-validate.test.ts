// `lightnode hil validate` through the real bin (as the help walk runs it): exit codes, one line per file, --json.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'bin', 'lightnode.mjs');
const library = join(root, 'hw-test', 'scenarios');
const libraryFiles = readdirSync(library)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join('hw-test', 'scenarios', f));
/** A library file whose m1 is a Modbus TCP meter (the --real-ports cases map it). */
const meterFile = libraryFiles.find((f) => f.endsWith('cellular-outage-24h.yaml'))!;

function lightnode(args: string[], cwd = root): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, timeout: 60_000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'lightnode-hil-validate-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const storm = readFileSync(join(library, 'power-cut-storm.yaml'), 'utf8');
writeFileSync(join(dir, 'unknown-do.yaml'), storm.replace('do: kill9', 'do: kill-9'));
writeFileSync(join(dir, 'syntax.yaml'), 'name: [broken\n');

test('every library scenario: exit 0, one "ok" line per file', async (t) => {
  const r = await lightnode(['hil', 'validate', ...libraryFiles]);
  t.is(r.code, 0, r.err + r.out);
  const lines = r.out.trim().split('\n');
  t.is(lines.length, libraryFiles.length);
  libraryFiles.forEach((f, i) => t.true(lines[i]!.startsWith(`ok ${f} (`), lines[i]));
});

test('one invalid file among valid ones: exit 1, its line names file:line:column, the others still ok', async (t) => {
  const bad = join(dir, 'unknown-do.yaml');
  const line = storm.split('\n').findIndex((l) => l.includes('do: kill9')) + 1;
  const column = storm.split('\n')[line - 1]!.indexOf('kill9') + 1;
  const r = await lightnode(['hil', 'validate', meterFile, bad]);
  t.is(r.code, 1, r.err);
  const lines = r.out.trim().split('\n');
  t.true(lines[0]!.startsWith('ok '), lines[0]);
  t.is(
    lines[1]!.split(', received')[0],
    `HIL_SCENARIO_INVALID: ${bad}:${line}:${column}: $.timeline[0].do: expected one of kill9, stop, start, broker-down, link, clock-step, disk-full, device-fault, gateway-reboot, load, setpoint, setpoint-forged, setpoint-replay`,
  );
});

test('--json: an array, one verdict per file, the file named as given', async (t) => {
  const r = await lightnode(['hil', 'validate', '--json', 'syntax.yaml', join(root, meterFile)], dir);
  t.is(r.code, 1, r.err);
  const v = JSON.parse(r.out) as {
    file: string;
    ok: boolean;
    error?: { code: string; context: { line: number; file: string } };
  }[];
  t.is(v.length, 2);
  t.like(v[0], {
    file: 'syntax.yaml',
    ok: false,
    error: { code: 'HIL_SCENARIO_INVALID', context: { file: 'syntax.yaml', line: 2 } },
  });
  t.like(v[1], { ok: true });
});

test('no file is a usage error (exit 2); a missing file is invalid input (exit 1)', async (t) => {
  const none = await lightnode(['hil', 'validate']);
  t.is(none.code, 2);
  t.regex(none.err, /expected at least one SCENARIO/);
  const missing = await lightnode(['hil', 'validate', 'no-such.yaml'], dir);
  t.is(missing.code, 1);
  t.regex(missing.out, /^HIL_SCENARIO_INVALID: no-such\.yaml:1:1: \$: expected a readable YAML file, received ENOENT/);
});

// --real-ports: the map checked against each file (a real file in the temp dir stands in for a serial device)
const link = readFileSync(join(library, 'link-latency-loss.yaml'), 'utf8');
writeFileSync(join(dir, 'rtu.yaml'), storm.replace('tcp: true }', 'rtu: true }'));
writeFileSync(
  join(dir, 'device-fault.yaml'),
  link.replace(
    '  - { atS: 100, do: link',
    '  - { atS: 90, do: device-fault, device: m1, fault: timeout, forS: 5 }\n  - { atS: 100, do: link',
  ),
);
writeFileSync(
  join(dir, 'short-fault.yaml'),
  link.replace(
    '    - { atS: 17, do: link',
    '    - { atS: 16, do: device-fault, device: m1, fault: timeout, forS: 1 }\n    - { atS: 17, do: link',
  ),
);
const ttyFake = join(dir, 'ttyUSB0');
writeFileSync(ttyFake, '');
writeFileSync(join(dir, 'ports.json'), JSON.stringify({ m1: ttyFake }));

test('--real-ports: a good map inline and as @FILE → exit 0, the mapped devices counted', async (t) => {
  const inline = await lightnode(['hil', 'validate', meterFile, '--real-ports', '{"m1": "meter.lan:502"}']);
  t.is(inline.code, 0, inline.err + inline.out);
  t.regex(inline.out, /^ok \S+ \(.*, 1 on real ports\)$/m);
  const file = await lightnode(['hil', 'validate', 'rtu.yaml', '--real-ports', '@ports.json', '--json'], dir);
  t.is(file.code, 0, file.err + file.out);
  t.like(JSON.parse(file.out), [{ file: 'rtu.yaml', ok: true, realPorts: 1 }]);
});

test('--real-ports: unknown id, missing serial path, serial path for a TCP device → exit 1, HIL_REAL_PORTS_INVALID', async (t) => {
  const ports = 'HIL_REAL_PORTS_INVALID';
  const cases: [string, string, string, RegExp][] = [
    ['rtu.yaml', '{"m9": "/dev/ttyUSB0"}', ports, /"m9": expected a device id of scenario power-cut-storm \(m1\)/],
    [
      'rtu.yaml',
      JSON.stringify({ m1: join(dir, 'ttyUSB7') }),
      ports,
      /"m1": expected an existing serial device .*ttyUSB7, which does not exist/,
    ],
    [
      join(root, meterFile),
      JSON.stringify({ m1: ttyFake }),
      ports,
      /"m1": expected HOST\[:PORT\] \(m1 is a meter speaking Modbus TCP\), received the serial path/,
    ],
    ['rtu.yaml', 'm1=/dev/ttyUSB0', ports, /expected a JSON object like/],
    // the scenario is checked first
    ['unknown-do.yaml', '{"m1": "/dev/ttyUSB0"}', 'HIL_SCENARIO_INVALID', /\$\.timeline\[0\]\.do/],
  ];
  for (const [file, map, code, message] of cases) {
    const r = await lightnode(['hil', 'validate', '--json', file, '--real-ports', map], dir);
    t.is(r.code, 1, r.err + r.out);
    const [v] = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } }[];
    t.false(v!.ok);
    t.is(v!.error.code, code);
    t.regex(v!.error.message, message);
  }
  const gone = await lightnode(['hil', 'validate', 'rtu.yaml', '--real-ports', '@gone.json'], dir);
  t.is(gone.code, 1);
  t.regex(
    gone.err,
    /HIL_REAL_PORTS_INVALID: --real-ports @gone\.json: expected a readable JSON file .*, received ENOENT/,
  );
});

test('--real-ports: a device-fault on a mapped device → exit 1, HIL_FAULT_NEEDS_SIMULATOR naming device, action, atS', async (t) => {
  const r = await lightnode(['hil', 'validate', 'device-fault.yaml', '--real-ports', '{"m1": "meter.lan"}'], dir);
  t.is(r.code, 1, r.err + r.out);
  t.is(
    r.out.trim(),
    'device-fault.yaml: HIL_FAULT_NEEDS_SIMULATOR: link-latency-loss: device m1 is real (meter.lan:502) but device-fault at atS 90 ($.timeline[1]) needs its simulator; ' +
      'on real devices kill9, stop, start, broker-down, link, clock-step, disk-full and setpoints still apply — drop m1 from --real-ports or remove the fault',
  );
  // unmapped, the same file is fine
  t.is((await lightnode(['hil', 'validate', 'device-fault.yaml'], dir)).code, 0);
  // the short variant is checked too
  const short = await lightnode(['hil', 'validate', 'short-fault.yaml', '--real-ports', '{"m1": "meter.lan"}'], dir);
  t.is(short.code, 1, short.err + short.out);
  t.regex(
    short.out,
    /^short-fault\.yaml: HIL_FAULT_NEEDS_SIMULATOR: link-latency-loss \(with the short overrides\): device m1 is real \(meter\.lan:502\) but device-fault at atS 16 \(\$\.timeline\[1\]\)/,
  );
});

test('--real-ports: a library battery mapped without its ratings → exit 1, HIL_REAL_PORTS_INVALID naming them', async (t) => {
  const f = libraryFiles.find((x) => x.endsWith('setpoint-forged-replayed.yaml'))!;
  const r = await lightnode(['hil', 'validate', f, '--real-ports', '{"e1": "ess.lan"}']);
  t.is(r.code, 1, r.out + r.err);
  t.regex(
    r.out + r.err,
    /HIL_REAL_PORTS_INVALID: real port of e1: a real battery needs its ratings .*missing maxDischargeW, maxChargeW, capacityWh/,
  );
});
