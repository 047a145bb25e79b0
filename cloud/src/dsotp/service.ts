/**
 * The DSO Technical Platform's composition root (contract D): the network model, the SCD and the market over REST
 * (token `dso`), setpoints over MQTT. `associate()` writes the PoD–PoM association of every model PoD registered in
 * the SCD; `requests(day)` finds the day's violations at the SCD baselines and posts one flexibility request per
 * violated element and slot; `validate(session)` checks the market outcome and posts the technical outcome;
 * `dispatch(session)` schedules the validated services' setpoints 5 min before their slots: from the validated
 * outcome the market answered to the technical outcome (kept in `<dir>/dsotp-validated-<session>.json`: every
 * service, TSO ones included), else from `GET /validatedOutcome` (which shows the dso its own requests' services).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LightNodeError,
  invalidField,
  isLightNodeError,
  marketDayStart,
  privateKeySigner,
  romeTime,
  romeToUtc,
  slotsInMarketDay,
  type Clock,
  type Eip712Domain,
  type Logger,
  type Signer,
} from '@lightnode/protocols';
import { readSigningKey } from '../cli/common.js';
import { Dispatcher, NonceFile, planDispatch, type DispatchPlan, type ValidatedService } from './dispatch.js';
import { checkProfiles, dsoModel, type DsoModel } from './model.js';
import { requestDocument, slotRequests, type RequestDocument, type UnresolvedElement } from './requests.js';
import { JsonClient } from '../http/client.js';
import { validateOutcome, type OutcomeInput, type ValidationResult } from './validate.js';
import type { Violation } from './violations.js';

export interface DsotpOptions {
  /** The network model: a file path or the parsed document. */
  network: string | object;
  /** The DSOTP's signing key (0x hex or keygen JSON), or a signer. */
  keyFile?: string;
  signer?: Signer;
  scdUrl: string;
  marketUrl?: string;
  /** The `dso` bearer token (SCD and market). */
  token: string;
  brokerUrl: string;
  /** Where the nonce file lives. */
  dir: string;
  clock: Clock;
  log: Logger;
  /** The setpoint EIP-712 domain (LightNode, the stack's chainId and keyRegister). */
  domain: Eip712Domain;
  /** Request prices (€/kW), default 0.1 each. */
  pPrice?: number | null;
  qPrice?: number | null;
}

export interface PowerFlowFigures {
  day: string;
  slot: number;
  converged: boolean;
  iterations: number;
  lossesKW: number;
  minVoltagePu: number;
  minVoltageBus: string | number;
}

export interface RequestsResult {
  day: string;
  slots: number;
  violations: (Violation & { slot: number })[];
  /** The requests the market accepted. */
  posted: { playerServiceId: string; slot: number; element: string; levelKW: number; needKW: number }[];
  /** Every request computed (the Platone documents). */
  documents: RequestDocument[];
  unresolved: UnresolvedElement[];
  /** Slots whose power flow at the baselines did not converge (nothing computed for them). */
  notConverged: number[];
  /** Requests the market refused (the others are posted; an unreachable market throws). */
  refused: { playerServiceId: string; code: string; message: string }[];
}

export interface DsoStatus {
  pom: string;
  pods: number;
  lastPowerFlow?: PowerFlowFigures;
  violations: number;
  requestsPosted: number;
  validations: { session: string; trims: number }[];
  setpointsScheduled: number;
  setpointsDispatched: number;
  setpointsFailed: number;
}

export interface DsoPlatform {
  readonly model: DsoModel;
  readonly address: string;
  associate(): Promise<{ associated: string[]; unregistered: string[] }>;
  requests(day: string): Promise<RequestsResult>;
  validate(sessionId: string): Promise<ValidationResult>;
  dispatch(sessionId: string): Promise<DispatchPlan>;
  /** Resolves once every fired setpoint is stored and published (or failed). */
  idle(): Promise<void>;
  readonly dispatcher: Dispatcher;
  status(): DsoStatus;
  stop(): Promise<void>;
}

/** A validated outcome (the market's answer to POST /technicalOutcome, or GET /validatedOutcome). */
interface ValidatedDoc {
  startTime?: string;
  flexibility: { pod: string; power: ValidatedService[] }[];
}

const dayString = (dayStartMs: number): string => {
  const t = romeTime(dayStartMs);
  return `${t.year}-${String(t.month).padStart(2, '0')}-${String(t.day).padStart(2, '0')}`;
};

/** A market day `YYYY-MM-DD` → its start (UTC ms); SCHEMA_INVALID naming `field` otherwise. */
export function parseMarketDay(day: string, field = 'day'): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const start = m ? romeToUtc(Number(m[1]), Number(m[2]), Number(m[3])) : Number.NaN;
  if (Number.isNaN(start) || marketDayStart(start) !== start || dayString(start) !== day)
    throw invalidField('SCHEMA_INVALID', field, 'a market day YYYY-MM-DD', day);
  return start;
}

/** The market day of a session: its document's startTime, else the `DA-YYYY-MM-DD` id. */
function sessionDayStart(sessionId: string, startTime?: string): number {
  if (startTime && Number.isFinite(Date.parse(startTime))) return marketDayStart(Date.parse(startTime));
  return parseMarketDay(sessionId.replace(/^[A-Z]+-/, ''), 'session');
}

export function startDsotp(o: DsotpOptions): DsoPlatform {
  const model = dsoModel(o.network);
  const signer = o.signer ?? (o.keyFile ? privateKeySigner(readSigningKey(o.keyFile)) : undefined);
  if (!signer) throw new LightNodeError('CONFIG_INVALID', 'DSOTP: give keyFile or signer', { field: 'keyFile' });
  const scd = new JsonClient(o.scdUrl, o.token, { name: 'SCD' });
  const market = o.marketUrl ? new JsonClient(o.marketUrl, o.token, { name: 'market' }) : undefined;
  const needMarket = (): JsonClient => {
    if (!market) throw new LightNodeError('CONFIG_INVALID', 'DSOTP: no market URL configured', { field: 'marketUrl' });
    return market;
  };
  const dispatcher = new Dispatcher({
    scd,
    signer,
    domain: o.domain,
    brokerUrl: o.brokerUrl,
    nonces: new NonceFile(join(o.dir, 'dsotp-nonce.json'), signer.address),
    clock: o.clock,
    log: o.log,
  });
  const prices = { pPrice: o.pPrice === undefined ? 0.1 : o.pPrice, qPrice: o.qPrice === undefined ? 0.1 : o.qPrice };
  const st = { violations: 0, requestsPosted: 0, scheduled: 0, validations: [] as DsoStatus['validations'] };
  let lastPowerFlow: PowerFlowFigures | undefined;
  const validatedFile = (session: string): string =>
    join(o.dir, `dsotp-validated-${session.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);

  const registeredPods = async (): Promise<Map<string, { podId: string; deviceId?: string }>> => {
    const rows = await scd.request<{ podId: string; deviceId?: string }[]>('GET', '/pods');
    return new Map(rows.map((r) => [r.podId, r]));
  };
  /** Baselines (W per slot) of the given PoDs for a day; a PoD without one is absent. */
  const baselines = async (pods: readonly string[], day: string): Promise<Map<string, number[]>> => {
    const out = new Map<string, number[]>();
    for (const pod of pods) {
      try {
        const b = await scd.request<{ slotsW: number[] }>(
          'GET',
          `/pods/${encodeURIComponent(pod)}/baseline?day=${day}`,
        );
        out.set(pod, b.slotsW);
      } catch (e) {
        if (!isLightNodeError(e, 'NOT_FOUND')) throw e;
      }
    }
    return out;
  };

  return {
    model,
    address: signer.address,
    dispatcher,
    async associate() {
      const reg = await registeredPods();
      const associated: string[] = [];
      const unregistered: string[] = [];
      for (const p of model.pods) {
        if (!reg.has(p.pod)) {
          unregistered.push(p.pod);
          continue;
        }
        await scd.request('PUT', `/pods/${encodeURIComponent(p.pod)}/pom`, { pomId: model.pom.id });
        associated.push(p.pod);
      }
      o.log.info('PoD–PoM associations written', { pom: model.pom.id, associated, unregistered });
      return { associated, unregistered };
    },

    async requests(day) {
      const dayStart = parseMarketDay(day);
      const slots = slotsInMarketDay(dayStart);
      checkProfiles(model, slots);
      const reg = await registeredPods();
      const base = await baselines(
        model.pods.map((p) => p.pod).filter((p) => reg.has(p)),
        day,
      );
      const out: RequestsResult = {
        day,
        slots,
        violations: [],
        posted: [],
        documents: [],
        unresolved: [],
        notConverged: [],
        refused: [],
      };
      for (let slot = 0; slot < slots; slot++) {
        const kW = new Map([...base].map(([pod, w]) => [pod, w[slot]! / 1000]));
        const s = slotRequests(model, slot, kW);
        const r = s.result;
        lastPowerFlow = {
          day,
          slot,
          converged: r.converged,
          iterations: r.iterations,
          lossesKW: r.lossesKW,
          minVoltagePu: r.minVoltagePu,
          minVoltageBus: r.minVoltageBus,
        };
        if (!s.converged) {
          out.notConverged.push(slot);
          o.log.error('power flow did not converge at the baselines', { day, slot, iterations: r.iterations });
        }
        out.violations.push(...s.violations.map((v) => ({ ...v, slot })));
        out.unresolved.push(...s.unresolved);
        s.requests.forEach((req, k) => {
          const doc = requestDocument(dayStart, req, prices, k + 1);
          out.documents.push(doc);
          out.posted.push({
            playerServiceId: doc.playerServiceId,
            slot,
            element: req.element,
            levelKW: req.levelKW,
            needKW: req.needKW,
          });
        });
      }
      for (const u of out.unresolved) o.log.warn('violation without a request', { ...u, violation: undefined });
      if (out.documents.length > 0) {
        const m = needMarket();
        for (const d of out.documents)
          try {
            await m.request('POST', '/flexibilityService', d);
          } catch (e) {
            if (!isLightNodeError(e) || e.code === 'IO_ERROR') throw e;
            out.refused.push({ playerServiceId: d.playerServiceId, code: e.code, message: e.message });
            o.log.error('flexibility request refused', { playerServiceId: d.playerServiceId, error: e.message });
          }
      }
      const refused = new Set(out.refused.map((r) => r.playerServiceId));
      out.posted = out.posted.filter((p) => !refused.has(p.playerServiceId));
      st.violations += out.violations.length;
      st.requestsPosted += out.posted.length;
      o.log.info('flexibility requests', {
        day,
        slots,
        violations: out.violations.length,
        posted: out.posted.length,
        refused: out.refused.length,
        unresolved: out.unresolved.length,
      });
      return out;
    },

    async validate(sessionId) {
      const outcome = await needMarket().request<OutcomeInput>(
        'GET',
        `/sessions/${encodeURIComponent(sessionId)}/outcome`,
      );
      const day = dayString(sessionDayStart(sessionId, outcome.startTime));
      const base = await baselines([...new Set(outcome.flexibility.map((f) => f.pod))], day);
      const modelBase = await baselines(
        model.pods.map((p) => p.pod).filter((p) => !base.has(p)),
        day,
      );
      const all = new Map([...base, ...modelBase]);
      const r = validateOutcome(model, outcome, sessionId, (pod, i) => {
        const w = all.get(pod)?.[i];
        return w === undefined ? undefined : w / 1000;
      });
      const v = await needMarket().request<ValidatedDoc>('POST', '/technicalOutcome', r.technical);
      // the answer is the whole validated outcome (GET /validatedOutcome shows the dso its own requests' only)
      if (v && Array.isArray(v.flexibility))
        writeFileSync(validatedFile(sessionId), JSON.stringify(v) + '\n', { mode: 0o600 });
      st.validations.push({ session: sessionId, trims: r.trims.length });
      o.log.info('technical outcome posted', { session: sessionId, trims: r.trims, remaining: r.remaining });
      return r;
    },

    async dispatch(sessionId) {
      const saved = validatedFile(sessionId);
      const v = existsSync(saved)
        ? (JSON.parse(readFileSync(saved, 'utf8')) as ValidatedDoc)
        : await needMarket().request<ValidatedDoc>('GET', `/validatedOutcome?session=${encodeURIComponent(sessionId)}`);
      const dayStart = sessionDayStart(sessionId, v.startTime);
      const reg = await registeredPods();
      const base = await baselines([...new Set(v.flexibility.map((f) => f.pod))], dayString(dayStart));
      const plan = planDispatch({
        session: sessionId,
        dayStartMs: dayStart,
        flexibility: v.flexibility,
        deviceOf: (pod) => reg.get(pod)?.deviceId,
        baselineW: (pod, i) => base.get(pod)?.[i],
        nowMs: o.clock.now(),
      });
      dispatcher.schedule(plan);
      st.scheduled += plan.items.length;
      return plan;
    },

    idle: () => dispatcher.idle(),

    status() {
      return {
        pom: model.pom.id,
        pods: model.pods.length,
        ...(lastPowerFlow ? { lastPowerFlow } : {}),
        violations: st.violations,
        requestsPosted: st.requestsPosted,
        validations: st.validations,
        setpointsScheduled: st.scheduled,
        setpointsDispatched: dispatcher.dispatched.filter((d) => !d.error).length,
        setpointsFailed: dispatcher.dispatched.filter((d) => d.error).length,
      };
    },

    async stop() {
      dispatcher.stop();
      await dispatcher.idle();
    },
  };
}
