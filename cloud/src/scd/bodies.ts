/**
 * The SCD's request bodies (checked by the route table, 400 naming the field) and the outcome rows' kinds.
 */
import { z } from 'zod';
import { podIdSchema } from '@lightnode/protocols';
import { parseBody } from '../http/body.js';
import { ADDRESS } from '../ingest/schema.js';

/** What an outcome row records: the market's clearing, the DSO's technical outcome, the validated outcome, the
 * settlement. */
export const OUTCOME_KINDS = ['market', 'technical', 'validated', 'settlement'] as const;

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a market day YYYY-MM-DD');

/** The request bodies (checked by the route table, 400 naming the field). */
export const Bodies = {
  pod: z.strictObject({ podId: podIdSchema, deviceId: ADDRESS.optional() }),
  pom: z.strictObject({ pomId: z.string().min(1).max(64) }),
  /** `PUT /pods/{podId}/device` (enroller): the device key and the installer's aggregator. */
  device: z.strictObject({ deviceId: ADDRESS, aggregator: z.string().min(1).max(64) }),
  baseline: z.strictObject({ day: DAY, slotsW: z.array(z.number().int()).min(92).max(100) }),
  setpoint: z.strictObject({
    id: z.string().min(1).max(128),
    podId: podIdSchema,
    deviceId: ADDRESS.optional(),
    setpoint: z.record(z.string(), z.unknown()),
  }),
  /** One market outcome row (`POST /market-outcomes` takes one or an array of them: `outcomeRows` below). */
  outcome: z.strictObject({
    id: z.string().min(1).max(512),
    /** The market session, e.g. `DA-2021-06-23`. */
    session: z.string().min(1).max(64),
    day: DAY,
    slot: z.number().int().min(0).max(99),
    podId: podIdSchema,
    aggregator: z.string().min(1).max(64),
    kind: z.enum(OUTCOME_KINDS),
    /** kW, load convention: the accepted (market), validated (technical, validated) or delivered level. */
    acceptedPValue: z.number(),
    /** €/kW. */
    acceptedPPrice: z.number().nullable().optional(),
    acceptedQValue: z.number().nullable().optional(),
    acceptedQPrice: z.number().nullable().optional(),
    acceptedP: z.enum(['OK', 'REJECTED']).optional(),
    rejectionTypeP: z.string().min(1).max(64).nullable().optional(),
    playerServiceId: z.string().min(1).max(256),
    playerRequestId: z.string().min(1).max(64),
    playerOfferId: z.string().min(1).max(64),
    settledkW: z.number().nullable().optional(),
    amountEur: z.number().nullable().optional(),
  }),
};
export type PodBody = z.infer<typeof Bodies.pod>;
export type PomBody = z.infer<typeof Bodies.pom>;
export type DeviceBody = z.infer<typeof Bodies.device>;
export type BaselineBody = z.infer<typeof Bodies.baseline>;
export type SetpointBody = z.infer<typeof Bodies.setpoint>;
export type OutcomeBody = z.infer<typeof Bodies.outcome>;
/** Most rows in one `POST /market-outcomes` (one transaction). */
export const OUTCOME_BATCH_MAX = 10_000;
const outcomeBatch = z.array(Bodies.outcome).min(1).max(OUTCOME_BATCH_MAX);

/** A `POST /market-outcomes` body: one row, or an array of rows written in one transaction. */
export function outcomeRows(body: unknown): OutcomeBody[] {
  return Array.isArray(body) ? parseBody(outcomeBatch, body) : [parseBody(Bodies.outcome, body)];
}
