/**
 * `lightnode dsotp powerflow` on the IEEE 33 feeder written as a network file: the summary, the --json document,
 * a non-converging case (exit 1, converged false), bad networks (exit 1 naming the element) and usage errors (2).
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLightNodeError, type Command, type CommandIo, type LightNodeError } from '@lightnode/protocols';
import { ieee33Network } from '@lightnode/cloud/testing';
import type { PowerFlowReport } from '../dsotp/powerflow.js';
import group from './dsotp.js';

const BIN = fileURLToPath(new URL('../../../bin/lightnode.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ln-dsotp-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, doc: unknown): string => {
  writeFileSync(join(dir, name), JSON.stringify(doc, null, 2));
  return name;
};
const IEEE33 = write('ieee33.json', ieee33Network());
const RATED = write('ieee33-rated.json', ieee33Network({ ampacityA: 400 }));

const powerflow = group.subcommands.powerflow as Command;
/** The command in-process: exit code as the dispatcher maps it (LightNodeError 1, USAGE 2), stdout, the error. */
async function run(argv: string[]): Promise<{ code: number; out: string; err?: LightNodeError }> {
  const lines: string[] = [];
  const signal = new AbortController().signal;
  const io: CommandIo = { stdout: (s) => void lines.push(s), stderr: () => undefined, env: {}, cwd: dir, signal };
  const r = await powerflow.run(argv, io).catch((e: unknown) => {
    if (isLightNodeError(e)) return e;
    throw e;
  });
  const out = lines.map((l) => l + '\n').join('');
  return typeof r === 'number' ? { code: r, out } : { code: r.code === 'USAGE' ? 2 : 1, out, err: r };
}

test('the summary: convergence, losses, the lowest voltage, the five most loaded branches', async (t) => {
  const r = await run(['--network', IEEE33]);
  t.is(r.code, 0);
  t.log(r.out);
  t.regex(r.out, /^converged in 9 iterations$/m);
  t.regex(r.out, /^losses 202\.677 kW, 135\.141 kvar$/m);
  t.regex(r.out, /^lowest voltage 0\.913090 p\.u\. at bus 18$/m);
  const rows = r.out.split('\n').filter((l) => l.startsWith('  '));
  t.is(rows.length, 5);
  t.regex(rows[0]!, /^ {2}1–2 +210\.36 A$/);
  const rated = await run(['--network', RATED]);
  t.regex(
    rated.out.split('\n').find((l) => l.startsWith('  '))!,
    /^ {2}1–2 +210\.36 A +52\.6 %$/,
  );
});

test('--json: exactly the documented keys, buses and in-service branches in file order', async (t) => {
  const r = await run(['--network', RATED, '--json']);
  t.is(r.code, 0);
  const doc = JSON.parse(r.out) as PowerFlowReport;
  t.deepEqual(Object.keys(doc), [
    'converged',
    'iterations',
    'lossesKW',
    'lossesKvar',
    'minVoltagePu',
    'minVoltageBus',
    'buses',
    'branches',
  ]);
  t.true(doc.converged);
  t.true(Math.abs(doc.lossesKW - 202.677) < 0.01);
  t.is(doc.minVoltageBus, 18);
  t.deepEqual(
    doc.buses.map((b) => b.id),
    Array.from({ length: 33 }, (_, i) => i + 1),
  );
  t.deepEqual(Object.keys(doc.buses[0]!), ['id', 'vPu', 'angleDeg']);
  t.is(doc.branches.length, 32);
  t.deepEqual(doc.branches[31]!, { ...doc.branches[31]!, from: 32, to: 33 });
  t.deepEqual(Object.keys(doc.branches[0]!), ['from', 'to', 'currentA', 'loadingPct']);
  t.true(Math.abs(doc.branches[0]!.loadingPct! - (100 * doc.branches[0]!.currentA) / 400) < 1e-9);
  const plain = JSON.parse((await run(['--network', IEEE33, '--json'])).out) as PowerFlowReport;
  t.deepEqual(Object.keys(plain.branches[0]!), ['from', 'to', 'currentA']);
});

test('a feeder that does not converge: the document with converged false, exit 1', async (t) => {
  const r = await run(['--network', write('overloaded.json', ieee33Network({ loadScale: 5 })), '--json']);
  t.is(r.code, 1);
  const doc = JSON.parse(r.out) as PowerFlowReport;
  t.false(doc.converged);
  t.is(doc.iterations, 100);
  t.regex((await run(['--network', 'overloaded.json'])).out, /^NOT converged after 100 iterations$/m);
});

test('a bad network is exit 1 with its code naming the element; a missing or unknown flag is a usage error', async (t) => {
  const meshed = await run(['--network', write('meshed.json', ieee33Network({ closed: [33] }))]);
  t.is(meshed.code, 1);
  t.is(meshed.err?.code, 'NETWORK_MESHED');
  // the loop 8–9–…–21–8 is closed by whichever branch the search from the slack reaches last: 7–8 here
  t.regex(meshed.err!.message, /branches\.6: branch 7–8 closes a loop/);
  const bad = await run(['--network', write('bad.json', { ...ieee33Network(), baseKV: -1 })]);
  t.is(bad.err?.code, 'NETWORK_INVALID');
  t.regex(bad.err!.message, /baseKV/);
  const missing = await run(['--json']);
  t.is(missing.code, 2);
  t.regex(missing.err!.message, /--network/);
  t.is((await run(['--network', IEEE33, '--verbose'])).code, 2);
});

const lightnode = (args: string[]): Promise<{ code: number; out: string; err: string }> =>
  new Promise((resolve) =>
    execFile(process.execPath, [BIN, ...args], { cwd: dir }, (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }),
    ),
  );

test('through the real bin: the JSON on stdout exit 0; an islanded network exit 1 naming the buses', async (t) => {
  const ok = await lightnode(['dsotp', 'powerflow', '--network', IEEE33, '--json']);
  t.is(ok.code, 0, ok.err);
  t.true((JSON.parse(ok.out) as PowerFlowReport).converged);
  const island = await lightnode([
    'dsotp',
    'powerflow',
    '--network',
    write('island.json', ieee33Network({ open: [17] })),
  ]);
  t.is(island.code, 1);
  t.regex(island.err, /NETWORK_ISLANDED.*18/);
});

test('cloud/data/ieee33/network.json (the ready file of the README) is the CSVs as ieee33Network() builds them', (t) => {
  const file = fileURLToPath(new URL('../../data/ieee33/network.json', import.meta.url));
  t.deepEqual(JSON.parse(readFileSync(file, 'utf8')), ieee33Network());
});
