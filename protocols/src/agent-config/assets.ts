/**
 * The agent config's setpoint and asset sections (edge/README.md § Setpoints, § Assets): who may issue setpoints,
 * how the device holds them, and the controllable assets (a battery behind one of four adapters) with their limits.
 */
import { z } from 'zod';

/** An integer duration in ms within [min, max]. */
export const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x address (40 hex digits)')
  .transform((a) => a.toLowerCase());
const watts = z.number().int().min(0).max(1_000_000_000);
const permille = z.number().int().min(0).max(1000);

/** Setpoints: who may issue them and how the device holds them (edge/README.md § Setpoints). */
export const setpointsSchema = z
  .object({
    /** Operator (issuer) addresses whose signed setpoints are accepted. */
    issuers: z.array(address).min(1),
    /** How far ahead of now a setpoint's window may start, ms (2 days). */
    maxLeadMs: ms(0, 31 * 86_400_000).default(172_800_000),
    /** Link down longer than this → autonomous mode (`LINK_LOST`), ms. */
    linkLossMs: ms(1000, 86_400_000).default(120_000),
    /** The device-side revert timer written with every command, s. */
    revertS: z.number().int().min(2).max(3600).default(60),
    /** A command is rewritten at least this often, ms (≤ revertS · 500: twice per revert period). */
    refreshMs: ms(100, 1_800_000).default(20_000),
    /** Readback: the asset's power within this of the command… */
    readbackToleranceW: watts.default(100),
    /** …within this time after the write, ms. */
    readbackTimeoutMs: ms(100, 600_000).default(5000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.refreshMs > c.revertS * 500)
      ctx.addIssue({
        code: 'custom',
        path: ['refreshMs'],
        message: `at most revertS · 500 = ${c.revertS * 500} ms (rewrite twice per revert period)`,
      });
  });

const adapter = z.union([
  z
    .object({
      sunspec: z.object({ line: z.string().min(1), unit: z.number().int().min(0).max(255).default(1) }).strict(),
    })
    .strict(),
  z
    .object({
      modbus: z
        .object({ line: z.string().min(1), unit: z.number().int().min(0).max(255), profile: z.string().min(3) })
        .strict(),
    })
    .strict(),
  z
    .object({
      rest: z
        .object({ url: z.string().regex(/^https?:\/\//, 'an http:// or https:// URL'), tokenFile: z.string().min(1) })
        .strict(),
    })
    .strict(),
  z
    .object({
      mqtt: z
        .object({
          url: z.string().regex(/^(mqtts?|wss?):\/\//, 'mqtt://, mqtts://, ws:// or wss:// URL'),
          topic: z.string().min(1),
        })
        .strict(),
    })
    .strict(),
]);

/** A controllable asset at the site: today a battery (ESS) behind one of four adapters. */
export const assetSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64)'),
    kind: z.literal('ess'),
    /** Telemetry period (signed `ess` samples), ms. */
    pollMs: ms(100, 3_600_000).default(1000),
    adapter,
    /** The asset's limits: the controller never commands beyond them. */
    limits: z
      .object({
        maxDischargeW: watts,
        maxChargeW: watts,
        socMinPermille: permille,
        socMaxPermille: permille,
        capacityWh: z.number().int().min(1).max(10_000_000_000),
        rampWps: z.number().int().min(1).max(1_000_000_000),
      })
      .strict()
      .refine((l) => l.socMinPermille < l.socMaxPermille, {
        message: 'socMinPermille below socMaxPermille',
        path: ['socMaxPermille'],
      }),
  })
  .strict();

export type AssetConfig = z.infer<typeof assetSchema>;
export type SetpointsConfig = z.infer<typeof setpointsSchema>;

/** The Modbus line (and unit) an asset's adapter uses, if it is a Modbus one. */
export function assetLine(a: AssetConfig): { kind: 'sunspec' | 'modbus'; line: string; unit: number } | undefined {
  if ('sunspec' in a.adapter) return { kind: 'sunspec', ...a.adapter.sunspec };
  if ('modbus' in a.adapter) return { kind: 'modbus', line: a.adapter.modbus.line, unit: a.adapter.modbus.unit };
  return undefined;
}
