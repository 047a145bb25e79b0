/**
 * The SCD seen from the BAL over HTTP (`POST /ingest`, `POST /ingest/gaps`, `POST /ingest/messages`), with the BAL's
 * bearer token. A refusal is IO_ERROR (retried later), except SEQ_CONFLICT (409), which keeps its code and the field
 * naming the message, so that the BAL dead-letters that message instead of retrying it forever.
 */
import { LightNodeError, type ErrorCode } from '@lightnode/protocols';
import type {
  GapDelivery,
  IngestResult,
  MessageDelivery,
  MessageIngestResult,
  ScdSink,
  WindowDelivery,
} from '../delivery.js';

export class HttpScdSink implements ScdSink {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private async post<R = IngestResult>(path: string, body: unknown): Promise<R> {
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
    const j = (await r.json().catch(() => ({}))) as { error?: { code?: string; message?: string; field?: string } };
    if (!r.ok) {
      const kept: ErrorCode = j.error?.code === 'SEQ_CONFLICT' ? 'SEQ_CONFLICT' : 'IO_ERROR';
      throw new LightNodeError(
        kept,
        `SCD ${path}: HTTP ${r.status} ${j.error?.code ?? ''} ${j.error?.message ?? ''}`.trim(),
        { status: r.status, ...(j.error?.field ? { field: j.error.field } : {}) },
      );
    }
    return j as R;
  }

  ingestWindow(d: WindowDelivery): Promise<IngestResult> {
    return this.post('/ingest', d);
  }

  ingestGaps(d: GapDelivery): Promise<IngestResult> {
    return this.post('/ingest/gaps', d);
  }

  ingestMessages(d: MessageDelivery): Promise<MessageIngestResult> {
    return this.post<MessageIngestResult>('/ingest/messages', d);
  }
}
