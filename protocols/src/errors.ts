/**
 * The one error class of Light Node. Every failure that crosses a module boundary is a `LightNodeError` with a
 * stable string `code` (part of the public contract: logs, status documents, CLI exit paths and tests match on it),
 * a `context` object naming what was wrong (field, expected, received, device …), and an optional `cause`.
 * The code appears in the message so that a log line alone is enough to act on.
 */
export class LightNodeError extends Error {
  override readonly name = 'LightNodeError';
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = context;
  }

  /** A plain JSON view for logs, status documents and `--json` output. */
  toJSON(): { code: ErrorCode; message: string; context: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, context: this.context };
  }
}

/**
 * Stable error codes, grouped by area. Add codes here (never rename one: receivers match on them).
 * `USAGE` is special: the CLI maps it to exit code 2.
 */
export const ERROR_CODES = [
  // generic / people's input
  'USAGE',
  'CONFIG_INVALID',
  'INPUT_INVALID',
  'NOT_FOUND',
  'INTERNAL',
  'IO_ERROR',
  // protocol / codecs
  'DECODE_ERROR',
  'ENCODE_ERROR',
  'SCHEMA_INVALID',
  'VERSION_UNSUPPORTED',
  'SIGNATURE_INVALID',
  'SIGNATURE_HIGH_S',
  'SIGNER_MISMATCH',
  'MERKLE_ROOT_MISMATCH',
  'PROOF_INVALID',
  'LEAF_TAMPERED',
  // keys
  'KEY_INVALID',
  'KEY_PERMISSIONS',
  // modbus
  'MODBUS_TIMEOUT',
  'MODBUS_EXCEPTION',
  'MODBUS_CRC',
  'MODBUS_FRAME',
  'MODBUS_UNIT_MISMATCH',
  'MODBUS_CONNECT',
  'MODBUS_PORT_BUSY',
  'MODBUS_PORT_MISSING',
  'MODBUS_PLAN',
  'PROFILE_UNKNOWN',
  'PROFILE_INVALID',
  'DEVICE_UNAVAILABLE',
  // chain 2
  'CHAIN2_DECODE',
  'CHAIN2_POD_MISMATCH',
  'CHAIN2_METER_UNCONFIGURED',
  'CHAIN2_TOTAL_DECREASED',
  'CHAIN2_TRANSPORT',
  // measurement path
  'OUTBOX_CORRUPT',
  'OUTBOX_FULL',
  'OUTBOX_WRITE_FAILED',
  'SEQ_REGRESSION',
  'UPLINK_AUTH',
  'UPLINK_CONNECT',
  'UPLINK_TIMEOUT',
  'AGENT_UNREACHABLE',
  'FAILPOINTS_ACTIVE',
  // setpoints
  'SETPOINT_EXPIRED',
  'SETPOINT_NOT_YET_VALID',
  'SETPOINT_REPLAY',
  'SETPOINT_ISSUER_UNKNOWN',
  'SETPOINT_INVALID',
  // cloud
  'CHAIN_UNAVAILABLE',
  'DEVICE_UNREGISTERED',
  'DEVICE_REVOKED',
  'BATCH_DUPLICATE',
  'SEQ_GAP',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'CONFLICT',
  'SEQ_CONFLICT',
  'BODY_TOO_LARGE',
  // setpoints, ESS and the audit log (issue: setpoints)
  'SETPOINT_POD_MISMATCH',
  'READBACK_MISMATCH',
  'ADAPTER_TIMEOUT',
  'AUDIT_CHAIN_BROKEN',
  // DSO technical platform and the flexibility market (issue: cloud tier II)
  'NETWORK_INVALID',
  'NETWORK_MESHED',
  'NETWORK_ISLANDED',
  'MARKET_POD_UNKNOWN',
  'MARKET_GATE_CLOSED',
  'MARKET_SESSION_MISMATCH',
  'MARKET_BASELINE_MISSING',
  // deploy: agent jobs, image flashing, signed updates (issue: deploy)
  'JOB_FAILED',
  'DISK_LOW',
  'CERT_EXPIRES_SOON',
  'FLASH_BMAP_MISSING',
  'FLASH_TARGET_SYSTEM',
  'FLASH_TARGET_MOUNTED',
  'FLASH_TARGET_TOO_SMALL',
  'FLASH_TARGET_INVALID',
  'FLASH_CONFIRM_REQUIRED',
  'FLASH_IMAGE_CORRUPT',
  'FLASH_VERIFY_FAILED',
  'UPDATE_SIGNATURE_INVALID',
  'UPDATE_BUNDLE_INVALID',
  'UPDATE_ARCH_MISMATCH',
  'UPDATE_DOWNGRADE',
  'UPDATE_BASE_MISMATCH',
  'UPDATE_PENDING',
  // provisioning: enrollment (SPEC §7)
  'ENROLL_TOKEN_UNKNOWN',
  'ENROLL_TOKEN_USED',
  'ENROLL_TOKEN_EXPIRED',
  'ENROLL_TOKEN_MISMATCH',
  'ENROLL_PROOF_INVALID',
  'POD_INVALID',
  // provisioning: remote config (SPEC §7)
  'CONFIG_ISSUER_UNKNOWN',
  'CONFIG_DEVICE_MISMATCH',
  'CONFIG_REVISION_STALE',
  'CONFIG_HASH_MISMATCH',
  'CONFIG_KEY_PROTECTED',
  'CONFIG_HEALTH_METERS',
  'CONFIG_HEALTH_LINK',
  'CONFIG_HEALTH_RESTART',
  // provisioning: commissioning
  'REPORT_HASH_MISMATCH',
  'COMMISSION_FAILED',
  'PROFILE_IDENTIFY_FAILED',
  // hardware-in-the-loop bench (issue: HIL)
  'HIL_SCENARIO_INVALID',
  'HIL_REAL_PORTS_INVALID',
  'HIL_FAULT_NEEDS_SIMULATOR',
  // setpoints: a `reverted` ack first seen at the PoD meter (the battery's last reading still said it followed)
  'POD_DEVIATION',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export function isLightNodeError(e: unknown, code?: ErrorCode): e is LightNodeError {
  return e instanceof LightNodeError && (code === undefined || e.code === code);
}

/** Describes a received value for error messages: type and a short rendering. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined (missing)';
  if (v === null) return 'null';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v)}`;
  if (typeof v === 'bigint') return `bigint ${v}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (v instanceof Uint8Array) return `bytes(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  return typeof v;
}

/** Builds the "person's bad input" error: names the field, what was expected and what was given. */
export function invalidField(
  code: ErrorCode,
  field: string,
  expected: string,
  received: unknown,
  extra: Record<string, unknown> = {},
): LightNodeError {
  return new LightNodeError(code, `${field}: expected ${expected}, received ${describeValue(received)}`, {
    field,
    expected,
    received: describeValue(received),
    ...extra,
  });
}
