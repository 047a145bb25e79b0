/**
 * The SCD seen from the BAL over HTTP (`POST /ingest`, `POST /ingest/gaps`, `POST /ingest/messages`), with the BAL's
 * bearer token. A refusal is IO_ERROR (retried later), except SEQ_CONFLICT (409), which keeps its code and the field
 * naming the message, so that the BAL dead-letters that message instead of retrying it forever.
 */
import { LightNodeError } from '@lightnode/protocols';
import { JsonClient } from '../http/client.js';
import type {
  GapDelivery,
  IngestResult,
  MessageDelivery,
  MessageIngestResult,
  ScdSink,
  WindowDelivery,
} from '../delivery.js';

export class HttpScdSink implements ScdSink {
  private readonly client: JsonClient;
  constructor(baseUrl: string, token: string, timeoutMs = 30_000) {
    this.client = new JsonClient(baseUrl, token, { name: 'SCD', timeoutMs });
  }

  private async post<R = IngestResult>(path: string, body: unknown): Promise<R> {
    try {
      return await this.client.request<R>('POST', path, body);
    } catch (e) {
      const err = e as LightNodeError;
      if (err.code === 'SEQ_CONFLICT' || err.code === 'IO_ERROR') throw err;
      // any other refusal is retried later
      throw new LightNodeError('IO_ERROR', err.message.slice(err.code.length + 2), { ...err.context }, { cause: e });
    }
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
