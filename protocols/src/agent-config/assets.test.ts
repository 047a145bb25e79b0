// Agent config: setpoints and assets (defaults, the cross-field rules, CONFIG_INVALID naming the key).
import test, { type ExecutionContext } from 'ava';
import { isLightNodeError } from '../errors.js';
import { parseAgentConfig } from './schema.js';

const ISSUER = '0x' + 'AB'.repeat(20);
const limits = {
  maxDischargeW: 3000,
  maxChargeW: 3000,
  socMinPermille: 100,
  socMaxPermille: 950,
  capacityWh: 4800,
  rampWps: 1000,
};
const site = (over: Record<string, unknown> = {}) => ({
  podId: 'IT002E61899978',
  uplink: { url: 'mqtt://127.0.0.1:1883' },
  lines: [
    {
      name: 'bus',
      transport: { tcp: { host: '127.0.0.1' } },
      meters: [{ id: 'pod', profile: 'eastron/sdm630', role: 'pod', unit: 2 }],
    },
  ],
  setpoints: { issuers: [ISSUER] },
  assets: [{ id: 'battery', kind: 'ess', adapter: { sunspec: { line: 'bus' } }, limits }],
  ...over,
});
const invalid = (doc: unknown, path: RegExp) => (t: ExecutionContext) => {
  const e = t.throws(() => parseAgentConfig(doc, 'site.json'));
  t.true(isLightNodeError(e, 'CONFIG_INVALID'), String(e));
  t.regex(e.message, path);
};

test('defaults: the issue’s values, issuers lowercased, the SunSpec unit 1', (t) => {
  const c = parseAgentConfig(site());
  t.deepEqual(c.setpoints, {
    issuers: [ISSUER.toLowerCase()],
    maxLeadMs: 172_800_000,
    linkLossMs: 120_000,
    revertS: 60,
    refreshMs: 20_000,
    readbackToleranceW: 100,
    readbackTimeoutMs: 5000,
  });
  t.deepEqual(c.assets[0]!.adapter, { sunspec: { line: 'bus', unit: 1 } });
  t.is(c.assets[0]!.pollMs, 1000);
  t.deepEqual(parseAgentConfig({ ...site(), setpoints: undefined, assets: undefined }).assets, []);
});

test('a line may carry only an asset; a line with neither meter nor asset is refused', (t) => {
  const c = parseAgentConfig(
    site({
      lines: [{ name: 'bus', transport: { tcp: { host: '127.0.0.1' } } }],
      chain2: [{ name: 'gw', ws: 'ws://127.0.0.1:81' }],
    }),
  );
  t.deepEqual(c.lines[0]!.meters, []);
  invalid(
    site({ lines: [...site().lines, { name: 'spare', transport: { tcp: { host: '127.0.0.1' } } }] }),
    /site\.json\.lines\[1\]\.meters: expected at least one meter/,
  )(t);
});

test(
  'refreshMs above revertS · 500 is CONFIG_INVALID naming setpoints.refreshMs',
  invalid(
    site({ setpoints: { issuers: [ISSUER], revertS: 30, refreshMs: 20_000 } }),
    /site\.json\.setpoints\.refreshMs: at most revertS · 500 = 15000 ms/,
  ),
);

test(
  'setpoints without an ESS asset is CONFIG_INVALID naming setpoints',
  invalid(site({ assets: [] }), /site\.json\.setpoints: expected an ESS asset/),
);

test(
  'setpoints without a pod meter is CONFIG_INVALID naming setpoints',
  invalid(
    site({ lines: [{ ...site().lines[0], meters: [{ id: 'pv', profile: 'eastron/sdm630', role: 'pv' }] }] }),
    /site\.json\.setpoints: expected a meter with role "pod"/,
  ),
);

test(
  'an asset on an unknown line is CONFIG_INVALID naming the key',
  invalid(
    site({
      assets: [{ id: 'battery', kind: 'ess', adapter: { modbus: { line: 'rs485', unit: 3, profile: 'x/y' } }, limits }],
    }),
    /site\.json\.assets\[0\]\.adapter\.modbus\.line: expected the name of a lines\[\] entry \("bus"\), received "rs485"/,
  ),
);

test('a bad key: unknown adapter field, missing limit, bad issuer, reused id', (t) => {
  invalid(site({ setpoints: { issuers: ['0x12'] } }), /site\.json\.setpoints\.issuers\[0\]: a 0x address/)(t);
  invalid(site({ setpoints: { issuers: [] } }), /site\.json\.setpoints\.issuers/)(t);
  const { rampWps: _omit, ...noRamp } = limits;
  invalid(
    site({ assets: [{ id: 'b', kind: 'ess', adapter: { sunspec: { line: 'bus' } }, limits: noRamp }] }),
    /site\.json\.assets\[0\]\.limits\.rampWps/,
  )(t);
  invalid(
    site({
      assets: [
        { id: 'pod', kind: 'ess', adapter: { rest: { url: 'http://127.0.0.1:8080', tokenFile: '/t' } }, limits },
      ],
    }),
    /site\.json\.assets\[0\]\.id: expected an id unused/,
  )(t);
  invalid(
    site({ assets: [{ id: 'b', kind: 'ess', adapter: { rest: { url: 'ftp://x', tokenFile: '/t' } }, limits }] }),
    /site\.json\.assets\[0\]\.adapter/,
  )(t);
  invalid(
    site({
      assets: [
        { id: 'b', kind: 'ess', adapter: { sunspec: { line: 'bus' } }, limits: { ...limits, socMinPermille: 960 } },
      ],
    }),
    /socMaxPermille/,
  )(t);
});
