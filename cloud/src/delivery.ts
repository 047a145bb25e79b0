/**
 * What the BAL hands to the SCD for one anchored window (in process, or `POST /ingest` as JSON): the window, its
 * anchor transaction, and each batch (its compact wire bytes) with its anchor-window Merkle path. The SCD re-checks
 * every path against the root before storing, so a proof it serves was true when it stored it.
 */
import type { SignedGap } from '@lightnode/protocols';

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
}
