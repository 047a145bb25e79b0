/**
 * REST EMS adapter: `PUT {url}/setpoint {essPowerW, validUntilMs}`, `DELETE {url}/setpoint`, `GET {url}/state` →
 * `{essPowerW, socPermille, productionPowerW?, mode}` (ems-json.ts), each with `Authorization: Bearer <token>`, the
 * token read (trimmed) from `tokenFile` at start. A request that takes longer than `timeoutMs` → ADAPTER_TIMEOUT;
 * no connection → IO_ERROR; a non-2xx answer → IO_ERROR naming the status and the start of the body.
 */
import { readFile } from 'node:fs/promises';
import { LightNodeError, type Clock } from '@lightnode/protocols';
import { emsCommand, parseEmsState } from './ems-json.js';
import type { EssAdapter, EssState } from './types.js';

export interface RestEssOptions {
  id: string;
  /** Base URL of the EMS API (without the trailing `/setpoint` or `/state`). */
  url: string;
  tokenFile: string;
  clock: Clock;
  /** Per-request timeout, ms (default 5000). */
  timeoutMs?: number;
  /** The abort signal of one request (default `AbortSignal.timeout(timeoutMs)`; tests inject their own). */
  signal?: () => AbortSignal;
}

export class RestEssAdapter implements EssAdapter {
  readonly kind = 'rest' as const;
  readonly id: string;
  private readonly base: string;
  private token?: string;

  constructor(private readonly o: RestEssOptions) {
    this.id = o.id;
    this.base = o.url.replace(/\/+$/, '');
  }

  async start(): Promise<void> {
    try {
      this.token = (await readFile(this.o.tokenFile, 'utf8')).trim();
    } catch (e) {
      throw new LightNodeError(
        'CONFIG_INVALID',
        `assets.${this.id}.adapter.rest.tokenFile: cannot read ${this.o.tokenFile} (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
        { asset: this.id, field: `assets.${this.id}.adapter.rest.tokenFile`, path: this.o.tokenFile },
      );
    }
    if (!this.token)
      throw new LightNodeError(
        'CONFIG_INVALID',
        `assets.${this.id}.adapter.rest.tokenFile: ${this.o.tokenFile} is empty (expected a bearer token)`,
        { asset: this.id, field: `assets.${this.id}.adapter.rest.tokenFile`, path: this.o.tokenFile },
      );
  }

  private async request(method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<string> {
    if (this.token === undefined)
      throw new LightNodeError('INTERNAL', `asset ${this.id}: the REST adapter is not started`, { asset: this.id });
    const url = `${this.base}${path}`;
    const what = `asset ${this.id}: ${method} ${url}`;
    const signal = this.o.signal?.() ?? AbortSignal.timeout(this.o.timeoutMs ?? 5000);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        signal,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await res.text();
    } catch (e) {
      if (signal.aborted)
        throw new LightNodeError(
          'ADAPTER_TIMEOUT',
          `${what}: no answer in time`,
          { asset: this.id, url },
          { cause: e },
        );
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
      throw new LightNodeError('IO_ERROR', `${what}: ${cause}`, { asset: this.id, url }, { cause: e });
    }
    if (!res.ok)
      throw new LightNodeError(
        'IO_ERROR',
        `${what}: HTTP ${res.status}${text ? ` ${JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text)}` : ''}`,
        { asset: this.id, url, status: res.status },
      );
    return text;
  }

  async read(): Promise<EssState> {
    const atMs = this.o.clock.now();
    return parseEmsState(await this.request('GET', '/state'), `asset ${this.id}: GET ${this.base}/state`, atMs);
  }

  async command(w: number, revertS: number): Promise<void> {
    await this.request('PUT', '/setpoint', emsCommand(w, revertS, this.o.clock.now()));
  }

  async release(): Promise<void> {
    await this.request('DELETE', '/setpoint');
  }

  async close(): Promise<void> {}
}
