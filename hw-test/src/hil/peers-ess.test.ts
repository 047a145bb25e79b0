// An ESS device of a HIL run, in process: the agent config it contributes (site line with the PoD meter, the asset
// with its adapter and the simulator's ratings as limits), the site load it reports and sets, the faults it takes at
// run time, its battery events.
import test from 'ava';
import { isLightNodeError } from '@lightnode/protocols';
import { essSimOptions, startEss, type EssSpec } from './peers-ess.js';

const spec = (o: Partial<EssSpec> = {}): EssSpec => ({ id: 'e1', kind: 'ess', sunspec: true, faults: [], ...o });

test('startEss (sunspec): the site line with the PoD meter and the battery as a sunspec asset; load set and read', async (t) => {
  const d = await startEss(spec({ loadW: 1500, ratedVa: 4600, capacityWh: 9600 }), 7);
  try {
    const line = d.config.lines![0]!;
    t.like(line, { name: 'e1', transport: { tcp: { host: '127.0.0.1' } } });
    t.like((line.meters as unknown[])[0], { id: 'e1-pod', profile: 'eastron/sdm630', unit: 2, role: 'pod' });
    t.deepEqual(d.config.assets, [
      {
        id: 'e1',
        kind: 'ess',
        pollMs: 1000,
        adapter: { sunspec: { line: 'e1', unit: 1 } },
        limits: {
          maxDischargeW: 4600,
          maxChargeW: 4600,
          socMinPermille: 100,
          socMaxPermille: 950,
          capacityWh: 9600,
          rampWps: 100_000,
        },
      },
    ]);
    t.is(d.loadW!(), 1500);
    d.setLoad!(2500);
    t.is(d.loadW!(), 2500);
    t.deepEqual(d.essEvents, []);
  } finally {
    await d.stop();
  }
});

test('startEss: battery faults at run time; transport faults refused, named', async (t) => {
  const d = await startEss(spec(), 7);
  try {
    const remove = d.addFault!('silent-revert:2');
    t.is(typeof remove, 'function');
    remove();
    const e = t.throws(() => d.addFault!('timeout'));
    t.true(isLightNodeError(e, 'USAGE'));
    t.regex(e.message, /device-fault e1 timeout: only the battery's faults .* can be added at run time/);
    t.throws(() => d.addFault!('drop-connection'));
  } finally {
    await d.stop();
  }
});

test('essSimOptions: the sim ess keys camelCase; REST and MQTT get a Modbus TCP server for the PoD meter', (t) => {
  const o = essSimOptions(spec({ soc: 800, efficiency: 0.9, autonomous: 'idle', pvPeak: 2000, models: [1, 124] }), 3);
  t.like(o, {
    interface: { kind: 'sunspec', models: [1, 124] },
    battery: { socPermille: 800, roundTripEfficiency: 0.9, autonomous: 'idle' },
    pvPeakW: 2000,
    seed: 3,
  });
  t.false('tcp' in o);
  const rest = essSimOptions({ id: 'e2', kind: 'ess', rest: '127.0.0.1:0', faults: [] }, 3, 'x'.repeat(20));
  t.like(rest, { interface: { kind: 'rest', host: '127.0.0.1', port: 0 }, tcp: { host: '127.0.0.1', port: 0 } });
});

test('startEss (rest): the asset behind the REST adapter with a token file; the PoD meter on its own server', async (t) => {
  const d = await startEss({ id: 'e2', kind: 'ess', rest: '127.0.0.1:0', faults: [] }, 7);
  try {
    const a = d.config.assets![0] as { adapter: { rest: { url: string; tokenFile: string } } };
    t.regex(a.adapter.rest.url, /^http:\/\/127\.0\.0\.1:\d+/);
    t.regex(a.adapter.rest.tokenFile, /ems\.token$/);
    t.like(d.config.lines![0], { name: 'e2' });
  } finally {
    await d.stop();
  }
});

test('startEss (profile): the battery as a modbus asset with its profile on the site line', async (t) => {
  const d = await startEss({ id: 'e3', kind: 'ess', profile: 'generic/ess-example', unit: 3, faults: [] }, 7);
  try {
    t.like((d.config.assets![0] as { adapter: unknown }).adapter, {
      modbus: { line: 'e3', unit: 3, profile: 'generic/ess-example' },
    });
  } finally {
    await d.stop();
  }
});
