/**
 * The demo (`npm start` → `lightnode demo`): a list of stages over a shared context, each printing what it does.
 * Later issues add stages (agent + broker, cloud BAL + chain + SCD) as modules registered in `DEMO_STAGES`.
 */
import { join } from 'node:path';
import {
  VECTOR_CHAIN_ID,
  VECTOR_VERIFYING_CONTRACT,
  decodeBatchWire,
  encodeBatchWire,
  isLightNodeError,
  lightNodeDomain,
  sampleProof,
  sealBatch,
  verifyBatch,
  verifySampleProof,
  type Eip712Domain,
  type Sample,
  type Signer,
  type SignedBatch,
} from '@lightnode/protocols';
import { signerFromKeyFile, writeNewKeyFile } from '@lightnode/edge';
import { meterDataset } from '../datasets/index.js';
import { fieldTestStage } from './field-test/stage.js';
import { prepareOutDir } from './out-dir.js';

export interface DemoContext {
  say(line: string): void;
  /** `--out`: report.* and work/ are replaced, nothing is deleted at the end. */
  outDir: string;
  /** `<outDir>/work`: keys, state dirs, the cloud's files. */
  workDir: string;
  speed: number;
  proofs: number;
  seed: number;
  /** Aborted on SIGINT: the field test stops, writes its report so far (complete: false). */
  signal: AbortSignal;
  domain: Eip712Domain;
  signer?: Signer;
  samples?: Sample[];
  batch?: SignedBatch;
  wire?: Uint8Array;
  summary: Record<string, unknown>;
}

export interface DemoStage {
  name: string;
  run(ctx: DemoContext): Promise<void>;
}

const keyStage: DemoStage = {
  name: 'device key',
  async run(ctx) {
    const path = join(ctx.workDir, 'device.key');
    const { address } = writeNewKeyFile(path);
    ctx.signer = signerFromKeyFile(path);
    ctx.say(`generated a throw-away device key (mode 0600): device id ${address}`);
    ctx.summary.deviceId = address;
  },
};

const sampleStage: DemoStage = {
  name: 'samples',
  async run(ctx) {
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    ctx.samples = [
      ...meterDataset({
        deviceId: ctx.signer!.address,
        podId: 'IT002E61899978',
        count: 60,
        startMs: start,
        seed: Date.now() % 1e6,
      }),
    ];
    const s = ctx.samples[59]!;
    ctx.say(
      `simulated 60 one-second readings of a 3-phase meter at PoD IT002E61899978 (last: ${s.quantities.activePowerW} W, ` +
        `${(s.quantities.voltageL1mV! / 1000).toFixed(1)} V on L1, ${s.quantities.energyImportWh} Wh imported)`,
    );
    ctx.summary.samples = ctx.samples.length;
  },
};

const sealStage: DemoStage = {
  name: 'seal and sign',
  async run(ctx) {
    const samples = ctx.samples!;
    const ws = samples[0]!.tsMs;
    ctx.batch = sealBatch(
      { deviceId: ctx.signer!.address, podId: 'IT002E61899978', samples, windowStartMs: ws, windowEndMs: ws + 60_000 },
      ctx.signer!,
      ctx.domain,
    );
    ctx.wire = encodeBatchWire(ctx.batch);
    ctx.say(
      `sealed them into one batch: Merkle root ${ctx.batch.header.root.slice(0, 18)}…, one EIP-712 signature (chainId ${ctx.domain.chainId})`,
    );
    ctx.say(`wire form: ${ctx.wire.length} bytes for 60 samples (${(ctx.wire.length / 60).toFixed(1)} B/sample)`);
    ctx.summary.root = ctx.batch.header.root;
    ctx.summary.wireBytes = ctx.wire.length;
  },
};

const verifyStage: DemoStage = {
  name: 'verify',
  async run(ctx) {
    const back = decodeBatchWire(ctx.wire!);
    const { signer } = verifyBatch(back, ctx.domain);
    ctx.say(
      `a receiver decoded the wire bytes, re-hashed all 60 leaves and recovered the signer: ${signer === ctx.signer!.address ? 'matches the device' : 'MISMATCH'}`,
    );
    const proof = sampleProof(back, 42);
    verifySampleProof(proof, ctx.domain);
    ctx.say(`sample seq ${proof.sample.seq} proves alone: leaf → ${proof.path.length}-step Merkle path → signed root`);
    const forged = {
      ...back,
      samples: back.samples.map((s, i) =>
        i === 7 ? { ...s, quantities: { ...s.quantities, energyImportWh: s.quantities.energyImportWh! - 100 } } : s,
      ),
    };
    try {
      verifyBatch(forged, ctx.domain);
      ctx.say('a tampered batch was ACCEPTED — this must never happen');
      ctx.summary.tamperRejected = false;
    } catch (e) {
      if (!isLightNodeError(e)) throw e;
      ctx.say(`taking 100 Wh off one sample is caught: ${e.code}`);
      ctx.summary.tamperRejected = true;
    }
    ctx.summary.verified = signer === ctx.signer!.address;
  },
};

const nextStage: DemoStage = {
  name: 'what comes next',
  async run(ctx) {
    ctx.say('`npx lightnode cloud up` runs this cloud tier on its own; `lightnode agent` runs a Light Node on a');
    ctx.say('real meter and battery; the report of this run is in report.json and report.html.');
  },
};

/** The stages `lightnode demo` runs, in order. */
export const DEMO_STAGES: DemoStage[] = [keyStage, sampleStage, sealStage, verifyStage, fieldTestStage, nextStage];

export interface DemoOptions {
  say: (line: string) => void;
  outDir: string;
  speed?: number;
  proofs?: number;
  seed?: number;
  signal?: AbortSignal;
  stages?: DemoStage[];
}

/** Runs the stages in order; a failing stage ends the run (its error in `summary.error`). */
export async function runDemo(opts: DemoOptions): Promise<Record<string, unknown>> {
  const ctx: DemoContext = {
    say: opts.say,
    outDir: opts.outDir,
    workDir: prepareOutDir(opts.outDir),
    speed: opts.speed ?? 60,
    proofs: opts.proofs ?? 6,
    seed: opts.seed ?? 1,
    signal: opts.signal ?? new AbortController().signal,
    domain: lightNodeDomain(VECTOR_CHAIN_ID, VECTOR_VERIFYING_CONTRACT),
    summary: {},
  };
  const stages = opts.stages ?? DEMO_STAGES;
  try {
    for (const [i, stage] of stages.entries()) {
      ctx.say(`== stage ${i + 1}/${stages.length}: ${stage.name}`);
      await stage.run(ctx);
    }
  } catch (e) {
    ctx.summary.error = (e as Error).message;
  }
  return ctx.summary;
}
