/**
 * The DSOTP's REST client (SCD and market, each with the `dso` bearer token). A refusal keeps the server's error
 * code (`{error: {code, message, field?}}`) when it is a known one, else IO_ERROR; no answer is IO_ERROR.
 */
import { ERROR_CODES, LightNodeError, type ErrorCode } from '@lightnode/protocols';

export class RestClient {
  constructor(
    readonly name: string,
    readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  async call<R = unknown>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<R> {
    let r: Response;
    try {
      r = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new LightNodeError(
        'IO_ERROR',
        `${this.name} ${this.baseUrl} does not answer (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
    const j = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string; field?: string } };
    if (!r.ok) {
      const code = (ERROR_CODES as readonly string[]).includes(j.error?.code ?? '')
        ? (j.error!.code as ErrorCode)
        : 'IO_ERROR';
      throw new LightNodeError(
        code,
        `${this.name} ${method} ${path}: HTTP ${r.status} ${j.error?.message ?? ''}`.trim(),
        { status: r.status, ...(j.error?.field ? { field: j.error.field } : {}) },
      );
    }
    return j as R;
  }
  get<R = unknown>(path: string): Promise<R> {
    return this.call<R>('GET', path);
  }
  post<R = unknown>(path: string, body: unknown): Promise<R> {
    return this.call<R>('POST', path, body);
  }
  put<R = unknown>(path: string, body: unknown): Promise<R> {
    return this.call<R>('PUT', path, body);
  }
}
