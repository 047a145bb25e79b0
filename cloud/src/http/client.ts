/**
 * The client side of the cloud JSON APIs: one bearer-authenticated JSON request with a timeout. A refusal keeps the
 * server's error code (`{error: {code, message, field?}}`) when it is one of ours, else IO_ERROR; an unreachable
 * server is IO_ERROR naming it.
 */
import { ERROR_CODES, LightNodeError, type ErrorCode } from '@lightnode/protocols';

const KNOWN = new Set<string>(ERROR_CODES);

export interface JsonClientOptions {
  /** Name in error messages ("SCD", "market"). */
  name: string;
  timeoutMs?: number;
}

export class JsonClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly o: JsonClientOptions,
  ) {}

  /** `method path` with a JSON body (if any); resolves to the parsed answer of a 2xx. */
  async request<R>(method: string, path: string, body?: unknown): Promise<R> {
    let r: Response;
    try {
      r = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (e) {
      throw new LightNodeError(
        'IO_ERROR',
        `${this.o.name} ${this.baseUrl} does not answer (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
    const j = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string; field?: string } };
    if (!r.ok) {
      const code = j.error?.code && KNOWN.has(j.error.code) ? (j.error.code as ErrorCode) : 'IO_ERROR';
      throw new LightNodeError(
        code,
        `${this.o.name} ${method} ${path}: HTTP ${r.status} ${j.error?.code ?? ''} ${j.error?.message ?? ''}`.trim(),
        { status: r.status, ...(j.error?.field ? { field: j.error.field } : {}) },
      );
    }
    return j as R;
  }
}
