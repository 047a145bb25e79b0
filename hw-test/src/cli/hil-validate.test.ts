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
  const r = await lightnode(['hil', 'validate', libraryFiles[0]!, bad]);
  t.is(r.code, 1, r.err);
  const lines = r.out.trim().split('\n');
  t.true(lines[0]!.startsWith('ok '), lines[0]);
  t.is(
    lines[1]!.split(', received')[0],
    `HIL_SCENARIO_INVALID: ${bad}:${line}:${column}: $.timeline[0].do: expected one of kill9, stop, start, broker-down, link, clock-step, disk-full, device-fault, gateway-reboot, load, setpoint, setpoint-forged, setpoint-replay`,
  );
});

test('--json: an array, one verdict per file, the file named as given', async (t) => {
  const r = await lightnode(['hil', 'validate', '--json', 'syntax.yaml', join(root, libraryFiles[0]!)], dir);
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
