/**
 * The device and network steps of a commissioning run, each returning its check (and what it learnt). A step whose
 * input was not given is `skip` naming the flag; given, it really runs.
 */
import { builtinProfiles, isLightNodeError, silentLogger, type Clock } from '@lightnode/protocols';
import { createEssAdapter, type EssAdapter } from '@lightnode/edge';
import type { ConfigPlan } from './config.js';
import { openMeter, where, type Lines, type MeterValues } from './devices.js';
import { chain2Pod, defaultChain2Transport, probeCloud } from './net.js';
import type { Check, CommissionDeps, CommissionInputs, FoundDevice, StepId } from './types.js';

const msg = (e: unknown): string => (isLightNodeError(e) ? e.message : (e as Error).message);
export const check = (id: StepId, result: Check['result'], detail: string): Check => ({ id, result, detail });

export interface StepCtx {
  inputs: CommissionInputs;
  deps: CommissionDeps;
  clock: Clock;
  signal: AbortSignal;
  progress(id: StepId, done: number, total: number, detail: string): void;
}

/** rs485 / modbus-tcp: each target scanned by the injected scan; fail when one target answers nothing. */
export async function scanStep(
  c: StepCtx,
  id: 'rs485' | 'modbus-tcp',
  targets: readonly string[],
): Promise<{ check: Check; found: FoundDevice[] }> {
  if (!targets.length)
    return {
      check: check(
        id,
        'skip',
        id === 'rs485'
          ? 'no --rs485 PATH,… given: no serial port scanned'
          : 'no --tcp HOST[:PORT],… given: no Modbus TCP host scanned',
      ),
      found: [],
    };
  const found: FoundDevice[] = [];
  const parts: string[] = [];
  let failed = false;
  for (const t of targets) {
    const opts = {
      fullScan: c.inputs.fullScan,
      clock: c.clock,
      signal: c.signal,
      onProgress: (done: number, total: number, detail: string) => c.progress(id, done, total, `${t}: ${detail}`),
    };
    try {
      const r = id === 'rs485' ? await c.deps.scanSerial(t, opts) : await c.deps.scanTcp(t, opts);
      found.push(...r.found);
      if (!r.found.length) failed = true;
      parts.push(
        r.found.length
          ? `${t}: ${r.found.map((d) => `${d.profile} (${d.kind}) at ${where(d)}${d.serialNumber ? ` s/n ${d.serialNumber}` : ''}`).join('; ')}`
          : `${t}: nothing found (${r.detail})${/check /.test(r.detail) ? '' : "; check the wiring, the device's address and its power"}`,
      );
    } catch (e) {
      failed = true;
      parts.push(`${t}: scan failed (${msg(e)})`);
    }
  }
  return { check: check(id, failed ? 'fail' : 'pass', parts.join(' | ')), found };
}

/** Reads every found meter once (for the report); a meter that reads nothing makes no check fail by itself. */
export async function readMeters(lines: Lines, plan: ConfigPlan, clock: Clock): Promise<Map<FoundDevice, MeterValues>> {
  const out = new Map<FoundDevice, MeterValues>();
  for (const [i, d] of plan.meters.entries()) {
    try {
      out.set(d, await (await openMeter(lines, d, plan.meterIds[i]!, clock)).read());
    } catch (e) {
      out.set(d, { readings: {}, named: {}, errors: [msg(e)] });
    }
  }
  return out;
}

export interface Chain2Found {
  url: string;
  pod: string | null;
  meter?: string;
  frames: number;
}

/** chain2: the POD the gateway reports (CF20) against `--pod`; the detail names both. */
export async function chain2Step(c: StepCtx): Promise<{ check: Check; chain2: Chain2Found | null }> {
  const url = c.inputs.chain2;
  if (url === undefined)
    return { check: check('chain2', 'skip', 'no --chain2 URL given: no Chain 2 gateway asked'), chain2: null };
  const transport = c.deps.chain2Transport?.(url) ?? defaultChain2Transport(url, c.clock, c.deps.logger);
  try {
    const r = await chain2Pod(transport, c.clock, c.signal);
    const found = { url, pod: r.pod, ...(r.meter ? { meter: r.meter } : {}), frames: r.frames };
    if (r.pod === null)
      return {
        check: check(
          'chain2',
          'fail',
          `${url}: no POD (CF20 frame) reported in time (${r.frames} frames, ${r.undecodable} undecodable); --pod is ${c.inputs.podId}. Check the gateway is paired with the meter${/^wss?:/.test(url) ? '; a gateway pushes CF20 only at start over WebSocket: give its HTTP API (--chain2 http://HOST), which keeps the last one' : ''}`,
        ),
        chain2: found,
      };
    const same = r.pod === c.inputs.podId;
    return {
      check: check(
        'chain2',
        same ? 'pass' : 'fail',
        same
          ? `${url}: the gateway reports POD ${r.pod} = --pod ${c.inputs.podId}`
          : `${url}: the gateway reports POD ${r.pod}, --pod is ${c.inputs.podId}: wrong PoD given, or the gateway is paired with another meter`,
      ),
      chain2: found,
    };
  } catch (e) {
    return { check: check('chain2', 'fail', `${url}: ${msg(e)}`), chain2: { url, pod: null, frames: 0 } };
  }
}

/** Battery test power and duration each way (issue 15 item 6). */
export const BATTERY_TEST_W = 500;
export const BATTERY_TEST_MS = 10_000;

/**
 * battery: the found ESS through its Setpoints adapter (as the agent would configure it): a harmless write — 0 W
 * with a short revert timer — read back (remote mode), then released (read back autonomous). With --battery-test:
 * +500 W (discharge) then −500 W (charge), 10 s each, the PoD meter's activePowerW (import +) expected to fall then
 * rise by at least half of it.
 */
export async function batteryStep(
  c: StepCtx,
  plan: ConfigPlan,
  lines: Lines,
  scanned: boolean,
): Promise<{ check: Check; battery: Record<string, unknown> | null }> {
  if (!plan.ess) {
    if (!scanned)
      return {
        check: check('battery', 'skip', 'no --rs485 or --tcp given: no battery (ESS) looked for'),
        battery: null,
      };
    return {
      check: check(
        'battery',
        c.inputs.batteryTest ? 'fail' : 'skip',
        `no battery (ESS) found by the scans${c.inputs.batteryTest ? ': --battery-test cannot run' : ''}`,
      ),
      battery: null,
    };
  }
  const { device, asset, lineName } = plan.ess;
  const line = await lines.lineOf(device);
  const make = c.deps.essAdapter ?? createEssAdapter;
  let adapter: EssAdapter | undefined;
  const battery: Record<string, unknown> = {
    profile: device.profile,
    unit: device.unit,
    where: where(device),
    ...(device.model ? { model: device.model } : {}),
    ...(device.serialNumber ? { serialNumber: device.serialNumber } : {}),
  };
  try {
    adapter = make(asset, {
      clock: c.clock,
      logger: c.deps.logger ?? silentLogger,
      line: (name) => {
        if (name !== lineName) throw new Error(`no line ${name}`);
        return line;
      },
      profiles: builtinProfiles(),
    });
    await adapter.start();
    const s0 = await adapter.read();
    await adapter.command(0, 30);
    const s1 = await adapter.read();
    await adapter.release();
    const s2 = await adapter.read();
    Object.assign(battery, { socPermille: s0.socPermille, essPowerW: s0.essPowerW, mode: s0.mode });
    const parts = [
      `${device.profile} at ${where(device)}: SoC ${s0.socPermille / 10} %, ${s0.essPowerW} W (${s0.mode})`,
      `wrote 0 W → read back ${s1.essPowerW} W, ${s1.mode}`,
      `released → ${s2.mode}`,
    ];
    let ok = s1.mode === 'remote' && s2.mode === 'autonomous';
    if (!ok) parts.push('the battery did not report the remote mode after the write and autonomous after release');
    if (c.inputs.batteryTest) {
      const t = await batteryTest(c, plan, lines, adapter);
      battery.test = t.data;
      parts.push(t.detail);
      ok &&= t.ok;
    }
    return { check: check('battery', ok ? 'pass' : 'fail', parts.join('; ')), battery };
  } catch (e) {
    await adapter?.release().catch(() => undefined);
    return { check: check('battery', 'fail', `${device.profile} at ${where(device)}: ${msg(e)}`), battery };
  } finally {
    await adapter?.close().catch(() => undefined);
  }
}

async function batteryTest(
  c: StepCtx,
  plan: ConfigPlan,
  lines: Lines,
  adapter: EssAdapter,
): Promise<{ ok: boolean; detail: string; data: Record<string, unknown> }> {
  const podMeter = plan.podMeter ?? plan.meters[0];
  if (!podMeter) return { ok: false, detail: '--battery-test: no Modbus meter found to watch', data: {} };
  const i = plan.meters.indexOf(podMeter);
  const meter = await openMeter(lines, podMeter, `${plan.meterIds[i]!}.watch`, c.clock);
  const powerW = async (): Promise<number | undefined> => (await meter.read()).readings.activePowerW;
  const p0 = await powerW();
  c.progress('battery', 0, 2, `discharging ${BATTERY_TEST_W} W for ${BATTERY_TEST_MS / 1000} s`);
  await adapter.command(BATTERY_TEST_W, 30);
  c.signal.throwIfAborted(); // a signal aborted before the sleep started would not wake it
  await c.clock.sleep(BATTERY_TEST_MS, c.signal);
  const p1 = await powerW();
  c.progress('battery', 1, 2, `charging ${BATTERY_TEST_W} W for ${BATTERY_TEST_MS / 1000} s`);
  await adapter.command(-BATTERY_TEST_W, 30);
  c.signal.throwIfAborted(); // a signal aborted before the sleep started would not wake it
  await c.clock.sleep(BATTERY_TEST_MS, c.signal);
  const p2 = await powerW();
  await adapter.release();
  const data = { meter: plan.meterIds[i], baselineW: p0 ?? null, dischargingW: p1 ?? null, chargingW: p2 ?? null };
  const who = `${plan.meterIds[i]!}${plan.podMeter ? ' (PoD)' : ''}`;
  if (p0 === undefined || p1 === undefined || p2 === undefined)
    return { ok: false, detail: `--battery-test: ${who} gave no activePowerW reading`, data };
  const half = BATTERY_TEST_W / 2;
  const ok = p1 <= p0 - half && p2 >= p0 + half;
  return {
    ok,
    detail: `--battery-test on ${who}: ${p0} W, discharging +${BATTERY_TEST_W} W → ${p1} W, charging −${BATTERY_TEST_W} W → ${p2} W${ok ? ' (moved the right way)' : `: expected ≤ ${p0 - half} W then ≥ ${p0 + half} W — check the battery's and the meter's wiring and CT direction`}`,
    data,
  };
}

/** cloud: the broker reached and a publish acknowledged, with the ms of each stage. */
export async function cloudStep(
  c: StepCtx,
  deviceId: string,
  old: Record<string, unknown> | undefined,
): Promise<Check> {
  const url = c.inputs.cloud;
  if (url === undefined) return check('cloud', 'skip', 'no --cloud URL given: the broker was not tried');
  const u = (old?.uplink ?? {}) as Record<string, string | undefined>;
  try {
    const r = await probeCloud({
      url,
      clientId: `${deviceId.toLowerCase()}-commission`,
      topic: `ln/v1/${deviceId.toLowerCase()}/commissioning-probe`,
      clock: c.clock,
      ...(u.username !== undefined ? { username: u.username } : {}),
      ...(u.password !== undefined ? { password: u.password } : {}),
      ...(u.caFile ? { caFile: u.caFile } : {}),
      ...(u.certFile ? { certFile: u.certFile } : {}),
      ...(u.keyFile ? { keyFile: u.keyFile } : {}),
    });
    const ms = r.ms;
    return check(
      'cloud',
      'pass',
      `${url} (${r.address}): DNS ${ms.dns} ms, TCP ${ms.tcp} ms, ${ms.tls !== undefined ? `TLS ${ms.tls} ms (${r.tls?.protocol ?? '?'}), ` : 'no TLS (mqtt://), '}MQTT connect ${ms.mqtt} ms, publish → PUBACK ${ms.puback} ms`,
    );
  } catch (e) {
    return check('cloud', 'fail', `${msg(e)}: check the URL, the network (DNS, firewall) and the broker's credentials`);
  }
}

/** enroll: the injected enrollment client, with the device key. */
export async function enrollStep(
  c: StepCtx,
  serial: string,
  signer: Parameters<CommissionDeps['enroll']>[0]['signer'],
): Promise<{ check: Check; enrolled: Awaited<ReturnType<CommissionDeps['enroll']>> | null }> {
  const e = c.inputs.enroll;
  if (!e)
    return {
      check: check('enroll', 'skip', 'no --enroll URL --token T given: the device was not enrolled'),
      enrolled: null,
    };
  try {
    const r = await c.deps.enroll({
      url: e.url,
      token: e.token,
      serial,
      podId: c.inputs.podId,
      signer,
      clock: c.clock,
    });
    return {
      check: check(
        'enroll',
        'pass',
        `${e.url}: device ${r.deviceId} enrolled at PoD ${r.podId} for aggregator ${r.aggregator} (tx ${r.txHash})`,
      ),
      enrolled: r,
    };
  } catch (err) {
    return { check: check('enroll', 'fail', `${e.url}: ${msg(err)}`), enrolled: null };
  }
}
