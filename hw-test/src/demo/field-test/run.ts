/**
 * The Tor di Valle field test (`lightnode demo`'s main stage): the whole loop on one scaled clock — the day-ahead
 * steps on 2021-06-22, a jump to the activation morning, the activation of slot 50 (10:30–10:45Z on 2021-06-23)
 * through the DSOTP's signed setpoints, the Light Nodes' acks and QoS, anchoring, settlement and proofs. Fills
 * `report` as it goes, so an interrupted or failed run still has the report so far.
 */
import { join } from 'node:path';
import { parseDsoModel, startCloud, type CloudStack } from '@lightnode/cloud';
import { appendFileSync } from 'node:fs';
import { createLogger, steppableScaledClock } from '@lightnode/protocols';
import { podKey, startPodNode, stopPodNode, type PodKey, type PodNode } from './agents.js';
import * as da from './day-ahead.js';
import { activate } from './activation.js';
import { Progress } from './progress.js';
import { powerFlowFigures, levelsOf } from './powerflow.js';
import { emptyReport } from './report-build.js';
import { reportRequests } from '../report/derive.js';
import { fieldScenario } from './scenario.js';
import type { FieldTestReport } from '../report/types.js';

export interface FieldTestOptions {
  workDir: string;
  speed: number;
  proofs: number;
  seed: number;
  say: (line: string) => void;
  signal: AbortSignal;
  /** Every child process started (anvil, `lightnode proof verify`), by PID. */
  onPid?: (what: string, pid: number) => void;
}

const r3 = (x: number): string => x.toFixed(3);

export async function runFieldTest(o: FieldTestOptions): Promise<FieldTestReport> {
  const wall0 = performance.now();
  const s = fieldScenario();
  const slotStart = s.dayStartMs + s.slot * 900_000;
  const clock = steppableScaledClock({ startMs: s.dayStartMs - 12 * 3_600_000, speed: o.speed });
  const report = emptyReport(s, o.speed, clock.now());
  const progress = new Progress(o.say);
  report.steps = progress.steps;
  const nodes: PodNode[] = [];
  let stack: CloudStack | undefined;
  const check = (): void => {
    if (o.signal.aborted) throw new Error('interrupted (SIGINT)');
  };
  try {
    stack = await startCloud({
      dir: join(o.workDir, 'cloud'),
      runMarket: true,
      runDsotp: { network: s.network },
      windowMs: 60_000,
      clock,
      // the cloud's log (JSON lines, simulated time) stays in work/cloud.log
      log: createLogger({
        level: 'info',
        now: () => clock.now(),
        sink: (l) => appendFileSync(join(o.workDir, 'cloud.log'), l + '\n'),
      }),
    });
    if (stack.anvil?.pid) o.onPid?.('anvil', stack.anvil.pid);
    const dso = stack.dsotp!;
    report.chain = { chainId: stack.book.chainId, keyRegister: stack.book.keyRegister };
    report.dsotpIssuer = dso.address;
    progress.done(
      'cloud',
      `aedes ${stack.brokerUrl}, anvil chain ${stack.book.chainId}, SCD ${stack.scdUrl} (SQLite), BAL, market ` +
        `${stack.marketUrl}, DSOTP ${dso.address} on ${dso.model.pods.length} PoDs of ${s.pom}`,
    );
    check();
    const keys = new Map<string, PodKey>();
    for (const p of s.pods) {
      const k = podKey(o.workDir, p.pod);
      await stack.chain.registerDevice(k.deviceId, k.publicKey);
      keys.set(p.pod, k);
    }
    progress.done(
      'light nodes',
      `${keys.size} device keys generated and registered on chain (${stack.book.keyRegister})`,
    );
    check();
    await da.registerPods(stack, s, new Map([...keys].map(([p, k]) => [p, k.deviceId])));
    const byAgg = (a: string): number => s.pods.filter((p) => p.aggregator === a).length;
    progress.done(
      'PoDs and baselines',
      `ACEAE registered ${byAgg('ACEAE')} PoDs, ACEAE_2 ${byAgg('ACEAE_2')}, each with its device id and 96 baselines ` +
        `for ${s.day} (slot ${s.slot}: ${s.pods.map((p) => r3(p.baselinesW[s.slot]! / 1000)).join(' / ')} kW)`,
    );
    check();
    const assoc = await dso.associate();
    await da.openSession(stack, s);
    progress.done(
      'PoD–PoM association',
      `the DSOTP associated ${assoc.associated.length} PoDs with ${s.pom}; the market opened ${s.sessionId}`,
    );
    check();
    const req = await dso.requests(s.day);
    const doc = req.documents.find((d) => d.flexibility.some((f) => f.power.some((p) => p.index === s.slot)));
    if (doc) report.dsoRequest = doc;
    const atSlot = req.violations.filter((v) => v.slot === s.slot);
    const need = doc?.flexibility[0]?.power.find((p) => p.index === s.slot)?.p;
    progress.done(
      'DSO request',
      `power flow at the baselines: ${atSlot.length} violation(s) at slot ${s.slot}` +
        (atSlot[0]?.kind === 'current'
          ? ` (${atSlot[0].feeder ?? ''} ${r3(atSlot[0].currentA)} A > ${atSlot[0].limitA} A)`
          : '') +
        `; ${req.posted.length} request(s) posted, slot ${s.slot}: ${need === undefined ? 'none' : `${r3(need)} kW`}`,
    );
    check();
    await da.postService(stack, 'tso', s.tsoRequest);
    report.tsoRequest = s.tsoRequest;
    const tsoKW = s.tsoRequest.flexibility[0]?.power[0]?.p ?? 0;
    progress.done('TSO request', `the TSO asked ${tsoKW} kW on ${s.pom} at slot ${s.slot}`);
    check();
    for (const offer of s.offers) await da.postService(stack, offer.playerId, offer);
    report.offers = s.offers;
    progress.done(
      'offers',
      `${s.offers.length} offers: ` +
        s.offers
          .map(
            (f) =>
              `${f.playerId} ${String((f.flexibility[0] as { pod?: string } | undefined)?.pod)} ${f.flexibility[0]?.power[0]?.p} kW`,
          )
          .join(', '),
    );
    check();
    clock.advanceTo(da.gateClosureMs(s) + 60_000);
    const outcome = await da.clear(stack, s);
    report.marketOutcome = outcome;
    progress.done(
      'market clearing',
      `after the gate: ` +
        outcome.flexibility
          .map((f) =>
            f.power
              .map((p) => `${f.pod} → ${r3(p.acceptedPValue)} kW at ${p.acceptedPPrice} €/kW for ${p.playerRequestId}`)
              .join(', '),
          )
          .join('; '),
    );
    check();
    const v = await dso.validate(s.sessionId);
    report.technicalOutcome = v.technical;
    const views = await da.validatedViews(stack, s);
    const full = views.get('market')!;
    report.validatedOutcome = { flexibility: full.flexibility } as NonNullable<FieldTestReport['validatedOutcome']>;
    const base = new Map(s.pods.map((p) => [p.pod, p.baselinesW[s.slot]! / 1000]));
    const model = parseDsoModel(s.network);
    const pf = powerFlowFigures(model, s.slot, {
      base,
      market: levelsOf(base, outcome.flexibility, s.slot),
      validated: levelsOf(base, full.flexibility, s.slot),
    });
    report.powerFlow = {
      baseCase: { violations: pf.baseCase },
      validation: { violations: pf.validation },
      feeders: pf.feeders,
    };
    report.requests = reportRequests(
      { requests: outcome.requests.filter((r) => r.index === s.slot) },
      full as unknown as Parameters<typeof reportRequests>[1],
      (pod) => base.get(pod) ?? 0,
    );
    progress.done(
      'validation',
      `${v.trims.length} trim(s): ` +
        v.trims.map((t) => `${t.pod} ${r3(t.acceptedKW)} → ${r3(t.validatedKW)} kW (${t.element})`).join(', ') +
        '; ' +
        report.requests
          .map(
            (r) =>
              `${r.playerId} asked ${r3(r.needkW)} kW, market ${r3(r.marketkW)}, validated ${r3(r.validatedkW)}: ${r.status === 'full' ? 'fully' : r.status === 'partial' ? 'only partly' : 'not'} fulfilled`,
          )
          .join('; '),
    );
    check();
    progress.done(
      'validated outcomes',
      [...views].map(([who, x]) => `${who} sees ${x.flexibility.reduce((a, f) => a + f.power.length, 0)}`).join(', ') +
        ' service(s)',
    );
    check();
    clock.advanceTo(slotStart - 15 * 60_000);
    for (const p of s.pods)
      nodes.push(
        await startPodNode({
          key: keys.get(p.pod)!,
          pod: p,
          slot: s.slot,
          clock,
          brokerUrl: stack.brokerUrl,
          chain: report.chain,
          issuer: dso.address,
        }),
      );
    progress.done(
      'activation morning',
      `clock jumped to ${new Date(slotStart - 15 * 60_000).toISOString()}; ${nodes.length} Light Nodes polling their ` +
        `PoD meters and batteries over Modbus TCP (` +
        nodes.map((n) => `${n.key.pod} ${n.maxDischargeW / 1000}/${n.maxChargeW / 1000} kW`).join(', ') +
        ')',
    );
    check();
    await activate({
      stack,
      s,
      clock,
      nodes,
      report,
      progress,
      check,
      seed: o.seed,
      proofs: o.proofs,
      workDir: o.workDir,
      ...(o.onPid ? { onPid: o.onPid } : {}),
    });
    report.complete = true;
  } catch (e) {
    report.complete = false;
    report.incompleteReason = (e as Error).message;
  } finally {
    for (const n of nodes) await stopPodNode(n);
    await stack?.stop();
    report.timing.wallS = Math.round((performance.now() - wall0) / 100) / 10;
    report.timing.simulatedToMs = clock.now();
  }
  return report;
}
