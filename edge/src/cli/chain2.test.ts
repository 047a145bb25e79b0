import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleFromJson, type Command, type CommandIo } from '@lightnode/protocols';
import group from './chain2.js';

test('chain2 decode --samples: samples out, diagnostics (gap, decrease, malformed line) on stderr, exit 1 on a bad line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ln-c2-'));
  const f = (i: number, tot: number, q: number) =>
    JSON.stringify({
      Chain2Data: {
        Id: 'c2g-1',
        Ts: '2024/01/10 09:00:20',
        Meter: 'M1',
        Type: 'CF1',
        Payload: {
          MeasurePosixTimestamp: 1704877200 + i * 900,
          TariffCode: 1,
          TotalActEnergy: tot,
          CurrQuartActEnergy: q,
          QuartAveragePower: q * 4,
          InstantPower: 1200,
        },
      },
    });
  const file = join(dir, 'frames.jsonl');
  writeFileSync(
    file,
    [f(0, 1000, 250), f(1, 1250, 250), f(3, 1800, 300), '{"Chain2Data": {broken', f(4, 0, 0)].join('\n') + '\n',
  );
  let out = '';
  let err = '';
  const io: CommandIo = {
    stdout: (s) => (out += s + '\n'),
    stderr: (s) => (err += s + '\n'),
    env: {},
    cwd: dir,
    signal: new AbortController().signal,
  };
  const code = await (group.subcommands.decode as Command).run([file, '--samples', '--pod', 'IT001E01524052'], io);
  t.is(code, 1);
  const samples = out.trim().split('\n').map(sampleFromJson);
  t.is(samples.length, 4);
  t.deepEqual(
    samples.map((s) => s.seq),
    [0, 1, 2, 3],
  );
  t.is(samples[2]!.quantities.energyImportWh, 1800);
  t.is(samples[3]!.qualities?.energyImportWh, 'invalid');
  t.regex(err, /CHAIN2_GAP.*250 Wh over the gap/);
  t.regex(err, /"line":4,"code":"CHAIN2_DECODE"/);
  t.regex(err, /CHAIN2_TOTAL_DECREASED/);
  rmSync(dir, { recursive: true });
});
