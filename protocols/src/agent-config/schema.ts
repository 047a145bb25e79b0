/**
 * The agent's configuration: one JSON document, validated by this schema. Errors name the JSON path, what was
 * expected and what was received. Every key and its default is documented in edge/README.md.
 */
import { z } from 'zod';
import { LightNodeError } from '../errors.js';
import { validatePodId } from '../lightnode/pod.js';
import { VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT } from '../lightnode/eip712.js';
import { assetLine, assetSchema, ms, setpointsSchema } from './assets.js';
import { cronError } from './cron.js';

/** What a meter measures at the site: the PoD (exchange) meter, PV production, a load, the storage system. */
const role = z.enum(['pod', 'pv', 'load', 'ess']);
const meter = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (1–64)'),
    profile: z.string().min(3),
    unit: z.number().int().min(0).max(255).optional(),
    pollMs: ms(10, 3_600_000).default(1000),
    timeoutMs: ms(10, 60_000).optional(),
    retries: z.number().int().min(0).max(10).default(1),
    raw: z.boolean().default(false),
    /** Read the profile's slow-class points (energy counters, identification) every N polls (the first poll reads all). */
    slowEvery: z.number().int().min(1).max(1000).default(10),
    /** Site role; at most one `pod` meter in the whole config. */
    role: role.optional(),
  })
  .strict();

const transport = z.union([
  z
    .object({
      tcp: z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535).default(502) }).strict(),
    })
    .strict(),
  z
    .object({
      rtu: z
        .object({
          path: z.string().min(1),
          baud: z.number().int().min(300).max(921_600).default(9600),
          parity: z.enum(['none', 'even', 'odd']).default('none'),
          dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
          stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
        })
        .strict(),
    })
    .strict(),
]);

/** zod schema of a PoD id (config files, API bodies): the issue names the rule (`validatePodId`). */
export const podIdSchema = z.string().superRefine((id, ctx) => {
  const r = validatePodId(id);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.reason });
});

/** A job's schedule: a cron expression (`cron.ts`: 5 or 6 fields, UTC) or `false` (the job is off). */
const cronSchedule = (dflt: string) =>
  z
    .union([
      z.literal(false),
      z.string().superRefine((e, ctx) => {
        const err = cronError(e);
        if (err) ctx.addIssue({ code: 'custom', message: `expected a cron expression or false: ${err}` });
      }),
    ])
    .default(dflt);

export const JOB_DEFAULTS = {
  housekeeping: '*/15 * * * *',
  outboxMaintenance: '17 3 * * *',
  expiryCheck: '0 6 * * *',
  updateCheck: '0 */6 * * *',
} as const;

export type JobName = keyof typeof JOB_DEFAULTS;

const jobsSchema = z
  .object({
    /** Free space of the stateDir's file system (DISK_LOW under 10 %), time sync. */
    housekeeping: cronSchedule(JOB_DEFAULTS.housekeeping),
    /** WAL checkpoint and pruning of delivered batches older than `outbox.keepDeliveredDays`. */
    outboxMaintenance: cronSchedule(JOB_DEFAULTS.outboxMaintenance),
    /** `uplink.certFile` / `caFile` expiring within 30 days → CERT_EXPIRES_SOON. */
    expiryCheck: cronSchedule(JOB_DEFAULTS.expiryCheck),
    /** With `updates.indexUrl`: downloads a newer bundle into `<stateDir>/updates/incoming/`. */
    updateCheck: cronSchedule(JOB_DEFAULTS.updateCheck),
  })
  .strict()
  .default({ ...JOB_DEFAULTS });

const MB = 1024 * 1024;
const updatesSchema = z
  .object({
    /** URL of the release index (`index.json`); without it the update check does nothing. */
    indexUrl: z
      .string()
      .regex(/^https?:\/\//, 'an http:// or https:// URL')
      .optional(),
    /** Download budget per UTC day, bytes (metered cellular). */
    maxBytesPerDay: z
      .number()
      .int()
      .min(0)
      .default(20 * MB),
  })
  .strict()
  .default({ maxBytesPerDay: 20 * MB });

export const AgentConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** PoD of the site (each meter may override). */
    podId: podIdSchema,
    /** Directory for the outbox, the seq high-water file and the status socket. */
    stateDir: z.string().min(1).default('/var/lib/lightnode'),
    /** Device key file (mode 0600). Default `<stateDir>/device.key`. */
    keyFile: z.string().optional(),
    chain: z
      .object({
        chainId: z.number().int().min(1).default(VECTOR_CHAIN_ID),
        keyRegister: z
          .string()
          .regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x address')
          .default(VECTOR_VERIFYING_CONTRACT),
      })
      .strict()
      .default({ chainId: VECTOR_CHAIN_ID, keyRegister: VECTOR_VERIFYING_CONTRACT }),
    batch: z
      .object({
        /** Batch window, ms: from one sample period to 60 min (the cellular profile's hourly batches). */
        windowMs: ms(100, 3_600_000).default(60_000),
      })
      .strict()
      .default({ windowMs: 60_000 }),
    outbox: z
      .object({
        /** SQLite file. Default `<stateDir>/outbox.db`. */
        path: z.string().optional(),
        /** Disk quota for undelivered data, bytes. When full, the oldest sealed batches are replaced by signed gaps. */
        quotaBytes: z
          .number()
          .int()
          .min(4096)
          .default(256 * 1024 * 1024),
        /** Delivered batches older than this many days are pruned by the outboxMaintenance job. */
        keepDeliveredDays: z.number().int().min(0).max(3650).default(7),
      })
      .strict()
      .default({ quotaBytes: 256 * 1024 * 1024, keepDeliveredDays: 7 }),
    uplink: z
      .object({
        url: z.string().regex(/^(mqtts?|wss?):\/\//, 'mqtt://, mqtts://, ws:// or wss:// URL'),
        clientId: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        /** PEM files for TLS: CA, client certificate and key. */
        caFile: z.string().optional(),
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        /** 240 s suits cellular NAT (carriers drop idle TCP in under 9 min) at ~2.6 MB/month of keepalive (bench cellular). */
        keepaliveS: z.number().int().min(0).max(65535).default(240),
        /** 5, 4 (3.1.1) or auto (5, falling back to 3.1.1). */
        protocolVersion: z.union([z.literal(4), z.literal(5), z.literal('auto')]).default('auto'),
        /** Batches published and not yet acknowledged at once. */
        inflight: z.number().int().min(1).max(1000).default(16),
        reconnectBaseMs: ms(10, 600_000).default(1000),
        reconnectMaxMs: ms(100, 3_600_000).default(300_000),
      })
      .strict(),
    status: z
      .object({
        /** Local socket `lightnode status` asks. Default `<stateDir>/agent.sock`. */
        socket: z.string().optional(),
        /** Retained status publication period, ms. */
        publishEveryMs: ms(1000, 86_400_000).default(60_000),
      })
      .strict()
      .default({ publishEveryMs: 60_000 }),
    /** Chain 2 sources: certified Chain 2 devices (gateways) pushing the meter's frames. */
    chain2: z
      .array(
        z
          .object({
            name: z.string().min(1),
            /** Exactly one way in: the gateway's WebSocket API (ws://192.168.1.30:81), its HTTP API (polled), a
             *  PLC modem on a serial line (one frame per line), or a Sinapsi Alfa over Modbus TCP. */
            ws: z
              .string()
              .regex(/^wss?:\/\//, 'a ws:// or wss:// URL')
              .optional(),
            http: z
              .string()
              .regex(/^https?:\/\//, 'an http:// or https:// URL')
              .optional(),
            serial: z
              .object({ path: z.string().min(1), baud: z.number().int().min(300).max(921_600).default(9600) })
              .strict()
              .optional(),
            alfa: z
              .object({
                host: z.string().min(1),
                port: z.number().int().min(1).max(65535).default(502),
                unit: z.number().int().min(0).max(255).default(1),
              })
              .strict()
              .optional(),
            /** HTTP / Alfa polling period, ms. */
            pollMs: ms(500, 600_000).default(5000),
            /** Meter slots to accept (M1 = exchange meter, M2… = production meters). */
            meters: z.array(z.string().min(1)).min(1).default(['M1']),
            /** Slot → role; default `M1` pod, `M2…` pv. Keys must be among `meters`. */
            roles: z.record(z.string().min(1), role).default({}),
          })
          .strict()
          .refine((c) => [c.ws, c.http, c.serial, c.alfa].filter((x) => x !== undefined).length === 1, {
            message: 'exactly one of ws, http, serial, alfa',
          })
          .superRefine((c, ctx) => {
            for (const slot of Object.keys(c.roles))
              if (!c.meters.includes(slot))
                ctx.addIssue({
                  code: 'custom',
                  path: ['roles', slot],
                  message: `a slot among meters (${c.meters.join(', ')})`,
                });
          }),
      )
      .default([]),
    lines: z
      .array(
        z
          .object({
            name: z.string().min(1),
            transport,
            interFrameGapMs: z.number().min(0).max(1000).optional(),
            /** May be empty: a line that only carries an asset (`assets[].adapter.sunspec.line`). */
            meters: z.array(meter).default([]),
          })
          .strict(),
      )
      .default([]),
    setpoints: setpointsSchema.optional(),
    /**
     * Remote configuration (SPEC §7): the agent subscribes to its `config` topic and applies a `Config` signed by one
     * of `issuers` (its keys are every key but the local-only ones, which stay this file's); a revision that does not
     * prove healthy within `healthDeadlineS` (every meter good, the uplink connected) is rolled back. `historySize`
     * outcomes are kept in `<stateDir>/config/history.jsonl`.
     */
    remoteConfig: z
      .object({
        issuers: z.array(z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x address')).min(1),
        healthDeadlineS: z.number().int().min(5).max(3600).default(120),
        historySize: z.number().int().min(1).max(10_000).default(50),
      })
      .strict()
      .optional(),
    assets: z.array(assetSchema).default([]),
    /** The agent's scheduled jobs (edge/src/jobs): each a cron expression (UTC) or false. */
    jobs: jobsSchema,
    updates: updatesSchema,
  })
  .strict();

export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

/** Keys whose values an error message never echoes (`uplink.password`), wherever they sit in the received value. */
const SECRET_KEYS: ReadonlySet<string> = new Set(['password']);

/** The received value for an error message, secrets replaced by `"[secret]"`. */
function describeReceived(received: unknown, path: readonly PropertyKey[]): string {
  if (received === undefined) return 'nothing';
  if (path.some((k) => SECRET_KEYS.has(String(k)))) return `a ${typeof received} (a secret: not shown)`;
  return JSON.stringify(received, (k, v: unknown) => (SECRET_KEYS.has(k) ? '[secret]' : v));
}

/** Validates a config document; `CONFIG_INVALID` names the path, the expectation and the received value. */
export function parseAgentConfig(doc: unknown, origin = 'config'): AgentConfig {
  const r = AgentConfigSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    const received = i.path.reduce<unknown>(
      (o, k) => (o && typeof o === 'object' ? (o as Record<string | number, unknown>)[k as string] : undefined),
      doc,
    );
    throw new LightNodeError(
      'CONFIG_INVALID',
      `${origin}${path}: ${i.message} (received ${describeReceived(received, i.path)})`,
      {
        path: `${origin}${path}`,
        issues: r.error.issues.map((x) => ({ path: x.path.join('.'), message: x.message })),
      },
    );
  }
  const c = r.data;
  const ids = new Set<string>();
  c.lines.forEach((l, li) =>
    l.meters.forEach((m, mi) => {
      if (ids.has(m.id))
        throw new LightNodeError(
          'CONFIG_INVALID',
          `${origin}.lines[${li}].meters[${mi}].id: expected a unique meter id, received ${JSON.stringify(m.id)} again`,
          {},
        );
      ids.add(m.id);
    }),
  );
  checkSinglePod(c, origin);
  checkAssets(c, origin);
  return c;
}

/** Asset lines name a `lines[]` entry; ids are unique among meters and assets; setpoints need an ESS and a PoD meter. */
function checkAssets(c: AgentConfig, origin: string): void {
  const fail = (path: string, message: string): never => {
    throw new LightNodeError('CONFIG_INVALID', `${origin}${path}: ${message}`, { path: `${origin}${path}` });
  };
  const lineNames = c.lines.map((l) => l.name);
  const ids = new Set(c.lines.flatMap((l) => l.meters.map((m) => m.id)));
  c.assets.forEach((a, i) => {
    if (ids.has(a.id))
      fail(`.assets[${i}].id`, `expected an id unused by meters and assets, received ${JSON.stringify(a.id)} again`);
    ids.add(a.id);
    const on = assetLine(a);
    if (on && !lineNames.includes(on.line))
      fail(
        `.assets[${i}].adapter.${on.kind}.line`,
        `expected the name of a lines[] entry (${lineNames.map((n) => JSON.stringify(n)).join(', ') || 'none configured'}), received ${JSON.stringify(on.line)}`,
      );
  });
  c.lines.forEach((l, li) => {
    if (!l.meters.length && !c.assets.some((a) => assetLine(a)?.line === l.name))
      fail(`.lines[${li}].meters`, 'expected at least one meter on a line no asset uses, received none');
  });
  if (!c.setpoints) return;
  if (!c.assets.some((a) => a.kind === 'ess'))
    fail('.setpoints', 'expected an ESS asset to drive (assets[] with kind "ess"), received none');
  const hasPod =
    c.lines.some((l) => l.meters.some((m) => m.role === 'pod')) ||
    c.chain2.some((s) => Object.values(chain2Roles(s)).includes('pod'));
  if (!hasPod)
    fail('.setpoints', 'expected a meter with role "pod" (the PoD level the setpoint targets), received none');
}

/** The role of each Chain 2 slot: configured, else `M1` pod and `M2…` pv. */
export function chain2Roles(c: AgentConfig['chain2'][number]): Record<string, AgentMeterRole> {
  return Object.fromEntries(c.meters.map((slot) => [slot, c.roles[slot] ?? (slot === 'M1' ? 'pod' : 'pv')]));
}

export type AgentMeterRole = z.infer<typeof role>;

function checkSinglePod(c: AgentConfig, origin: string): void {
  const pods: string[] = [];
  c.chain2.forEach((s, i) => {
    for (const [slot, r] of Object.entries(chain2Roles(s)))
      if (r === 'pod') pods.push(`${origin}.chain2[${i}].roles.${slot}${s.roles[slot] ? '' : ' (default of M1)'}`);
  });
  c.lines.forEach((l, li) =>
    l.meters.forEach((m, mi) => {
      if (m.role === 'pod') pods.push(`${origin}.lines[${li}].meters[${mi}].role`);
    }),
  );
  if (pods.length > 1)
    throw new LightNodeError(
      'CONFIG_INVALID',
      `${pods[1]!}: expected at most one meter with role "pod", received a second one (the first: ${pods[0]!})`,
      { path: pods[1]!.replace(/ \(.*\)$/, ''), first: pods[0]! },
    );
}

export function agentConfigJsonSchema(): unknown {
  return z.toJSONSchema(AgentConfigSchema, { io: 'input', unrepresentable: 'any' });
}
