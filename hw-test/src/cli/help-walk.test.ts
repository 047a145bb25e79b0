// Walks the whole command tree from `lightnode --help` with the real bin: every command and subcommand it leads to
// answers `--help` with exit 0 and a usage, and every group shows a summary for each of its subcommands.
import test from 'ava';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'lightnode.mjs');

function help(path: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...path, '--help'], { timeout: 60_000 }, (e, out, err) => {
      const code = e ? (typeof e.code === 'number' ? e.code : -1) : 0;
      resolve({ code, out, err });
    });
  });
}

/** The `NAME  summary` rows under a `Commands:` or `Subcommands:` heading. */
function listed(text: string, heading: string): { name: string; summary: string }[] {
  const lines = text.split('\n');
  const at = lines.indexOf(heading);
  if (at < 0) return [];
  const rows: { name: string; summary: string }[] = [];
  for (const line of lines.slice(at + 1)) {
    const m = /^ {2}(\S+)(?: {2,}(.*))?$/.exec(line);
    if (!m) break;
    rows.push({ name: m[1]!, summary: (m[2] ?? '').trim() });
  }
  return rows;
}

test('every command and subcommand reached from `lightnode --help` answers --help with exit 0', async (t) => {
  const top = await help([]);
  t.is(top.code, 0, top.err);
  const commands = listed(top.out, 'Commands:');
  t.true(commands.length >= 10, top.out);
  const visited: string[] = [];
  const walk = async (path: string[], summary: string): Promise<void> => {
    const where = `lightnode ${path.join(' ')}`;
    t.not(summary, '', `${where}: no summary in its parent's help`);
    const r = await help(path);
    visited.push(path.join(' '));
    t.is(r.code, 0, `${where} --help exited ${r.code}: ${r.err}`);
    t.true(r.out.startsWith('Usage: lightnode') && r.out.includes(where), `${where} --help: ${r.out.slice(0, 200)}`);
    const subs = listed(r.out, 'Subcommands:');
    await Promise.all(subs.map((s) => walk([...path, s.name], s.summary)));
  };
  // a few at a time: the machine is shared
  for (let i = 0; i < commands.length; i += 4)
    await Promise.all(commands.slice(i, i + 4).map((c) => walk([c.name], c.summary)));
  for (const leaf of ['protocol keygen', 'sim chain2', 'sim meter', 'proof verify', 'commission', 'demo'])
    t.true(visited.includes(leaf), `${leaf} not reached: ${visited.join(', ')}`);
});

test('`lightnode commission` checks the PoD first: a malformed one exits 1 quoting the value and the format', async (t) => {
  const r = await new Promise<{ code: number; err: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, 'commission', '--pod', 'IT12X', '--non-interactive'],
      { timeout: 60_000 },
      (e, _out, err) => {
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, err });
      },
    );
  });
  t.is(r.code, 1, r.err);
  t.regex(r.err, /"IT12X" is not a PoD id/);
  t.regex(r.err, /IT \+ 3-digit distributor code/);
});
