// Interop: an independent master (Debian's mbpoll) against `lightnode sim ess --sunspec` (a child process): reads
// the SunSpec marker at 40000, writes a 704 WSet command block, reads 701 W back and the PoD meter on unit 2.
import test from 'ava';
import { builtinProfiles } from '@lightnode/protocols';
import { parseMbpoll, runMbpoll, spawnEssSim } from '../index.js';

const profiles = builtinProfiles();
const point = (profile: string, name: string) => profiles.get(profile).points.find((p) => p.name === name)!;

/** Start of each model: "SunS" (2), then (ID, L) + L for model 1 (L 66) and each profile's sunspecLength. */
function modelStarts(models: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  let a = 40000 + 2 + 68;
  for (const id of models) {
    out.set(id, a);
    a += profiles.get(id).sunspecLength! + 2;
  }
  return out;
}

test('mbpoll reads SunS and 701 W from lightnode sim ess --sunspec after writing 704 WSet', async (t) => {
  const sim = await spawnEssSim(['--sunspec', '--tcp', '127.0.0.1:0', '--load-w', '700', '--autonomous', 'idle']);
  t.teardown(() => sim.stop());
  const port = String(sim.ready.meter!.port);
  t.like(sim.ready, { interface: 'sunspec', unit: 1, meter: { unit: 2 } });
  // PDU addressing (-0), one poll (-1) for reads; writes after "--"
  const mb = (args: string[], write?: number[], unit = 1) =>
    runMbpoll(
      ['-m', 'tcp', '-p', port, '-0', '-a', String(unit), ...args, '127.0.0.1'].concat(
        write ? ['--', ...write.map(String)] : [],
      ),
    );

  const marker = parseMbpoll(await mb(['-t', '4', '-r', '40000', '-c', '2', '-1']));
  t.deepEqual([marker.get(40000), marker.get(40001)], [0x5375, 0x6e53], '"SunS"');

  const starts = modelStarts([
    'sunspec/storage-124',
    'sunspec/der-701',
    'sunspec/der-702',
    'sunspec/der-704',
    'sunspec/der-713',
  ]);
  const wAddr = starts.get('sunspec/der-701')! + point('sunspec/der-701', 'W').address;
  const header = parseMbpoll(await mb(['-t', '4', '-r', String(starts.get('sunspec/der-701')!), '-c', '2', '-1']));
  t.deepEqual([...header.values()], [701, 153], 'the 701 header sits where the profiles say');

  // WSetEna 1, WSetMod 1 (W), WSet 2400 (s32), WSetRvrt, WSetPct, WSetPctRvrt, WSetEnaRvrt, WSetRvrtTms 60 (u32)
  const ena = starts.get('sunspec/der-704')! + point('sunspec/der-704', 'WSetEna').address;
  await mb(['-t', '4', '-r', String(ena)], [1, 1, 0, 2400, 0, 0, 0, 0, 0, 0, 60]);
  t.like(await sim.waitEvent((e) => e.event === 'command'), { essPowerW: 2400, commandW: 2400, revertMs: 60_000 });

  const w = parseMbpoll(await mb(['-t', '4', '-r', String(wAddr), '-c', '1', '-1']));
  t.is(w.get(wAddr), 2400, 'W_SF 0: 701 W reads the battery power, discharge positive');
  const sf = parseMbpoll(
    await mb([
      '-t',
      '4',
      '-r',
      String(starts.get('sunspec/der-701')! + point('sunspec/der-701', 'W_SF').address),
      '-1',
    ]),
  );
  t.deepEqual([...sf.values()], [0]);

  // the PoD meter (SDM630, unit 2): input register float32, house 700 W − battery 2400 W
  const total = profiles.get('eastron/sdm630').points.find((p) => p.quantity === 'activePowerW')!;
  const pod = parseMbpoll(await mb(['-t', '3:float', '-B', '-r', String(total.address), '-1'], undefined, 2));
  t.is(Math.round(pod.get(total.address)!), 700 - 2400);
});
