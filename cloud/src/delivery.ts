/**
 * What the BAL hands to the SCD for one anchored window (in process, or `POST /ingest` as JSON): the window, its
 * anchor transaction, and each batch (its compact wire bytes) with its anchor-window Merkle path. The SCD re-checks
 * every path against the root before storing, so a proof it serves was true when it stored it.
 */
import type { Ack, QosReport, SignedGap } from '@lightnode/protocols';

export interface WindowDelivery {
  v: 1;
  /** The BAL instance that anchored the window. */
  bal: string;
  window: { root: string; leafCount: number; startMs: number; endMs: number };
  anchor: {
    chainId: number;
    /** ChainProof address. */
    contract: string;
    /** LightNodeKeyRegister address (the EIP-712 verifying contract of the device signatures). */
    keyRegister: string;
    txHash: string;
    blockNumber: number;
    anchorer: string;
    anchoredAtS: number;
  };
  /** Base64 of `encodeBatchWire`, in leaf order. */
  batches: { wire: string; index: number; path: string[] }[];
}

export interface GapDelivery {
  v: 1;
  bal: string;
  gaps: { signed: SignedGap; receivedMs: number }[];
}

/** One verified device message (topic leaf `ack` / `qos`) as the BAL forwards it. */
export type DeliveredMessage = (
  { kind: 'ack'; message: Ack; signature: string } | { kind: 'qos'; message: QosReport; signature: string }
) & {
  /** The device of the topic it arrived on (= `message.deviceId`). */
  deviceId: string;
  receivedMs: number;
};

/** Signed acks and QoS reports (`POST /ingest/messages`), deduplicated by the SCD on (deviceId, seq). */
export interface MessageDelivery {
  v: 1;
  bal: string;
  messages: DeliveredMessage[];
}

export interface MessageIngestResult {
  stored: number;
  /** The same message again (same deviceId, seq and fields): accepted, not stored twice. */
  duplicates: number;
}

export interface IngestResult {
  batches: number;
  samplesStored: number;
  samplesDuplicate: number;
  gapsStored?: number;
}

/** Where the BAL forwards: the SCD in process, or its REST API. */
export interface ScdSink {
  ingestWindow(d: WindowDelivery): Promise<IngestResult>;
  ingestGaps(d: GapDelivery): Promise<IngestResult>;
  /** Throws SEQ_CONFLICT naming `messages.{i}` when a stored message has that (deviceId, seq) with other fields. */
  ingestMessages(d: MessageDelivery): Promise<MessageIngestResult>;
}
