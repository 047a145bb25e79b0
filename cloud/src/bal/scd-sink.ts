/** The SCD seen from the BAL over HTTP (`POST /ingest`, `POST /ingest/gaps`), with the BAL's bearer token. */
import { LightNodeError } from '@lightnode/protocols';
import type { GapDelivery, IngestResult, ScdSink, WindowDelivery } from '../delivery.js';

export class HttpScdSink implements ScdSink {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private async post(path: string, body: unknown): Promise<IngestResult> {
    let r: Response;
    try {
      r = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new LightNodeError(
        'IO_ERROR',
        `SCD ${this.baseUrl} does not answer (${(e as Error).message})`,
        {},
        { cause: e },
      );
    }
    const j = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (!r.ok)
      throw new LightNodeError(
        'IO_ERROR',
        `SCD ${path}: HTTP ${r.status} ${j.error?.code ?? ''} ${j.error?.message ?? ''}`.trim(),
        { status: r.status },
      );
    return j as IngestResult;
  }

  ingestWindow(d: WindowDelivery): Promise<IngestResult> {
    return this.post('/ingest', d);
  }

  ingestGaps(d: GapDelivery): Promise<IngestResult> {
    return this.post('/ingest/gaps', d);
  }
}
